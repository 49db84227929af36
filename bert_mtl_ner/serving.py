"""The raw-text SavedModel: tokenization, windowing, decoding and spans in the graph.

``ServingModule.serve_text`` takes a batch of raw UTF-8 strings (``text``, shape
[None]) and returns dense tensors (TF Serving and ``saved_model_cli`` need no
Python code of ours):

* ``tags`` string [batch, chars]: one BIO tag per character (``""`` past the end);
* ``tag_ids`` int32 [batch, chars] (-1 past the end);
* ``entity_start``, ``entity_end`` (exclusive) int32 [batch, max_entities] (-1
  padding), in characters (code points) of the input;
* ``entity_type`` string [batch, max_entities] (``""`` padding);
* ``entity_score`` float32 [batch, max_entities] (-1 padding): each entity's
  marginal probability under the CRF, as ``inference.Tagger`` computes it (in
  the window that decided its first character, at the model directory's
  ``calibration`` temperature);
* ``entity_count`` int32 [batch].

It does in TF what the Python path does (``tokenization``, ``inference``): the
character -> id table is built by running the Python tokenizer over every Unicode
code point, windows of ``max_seq_len - 2`` characters overlap with the same stride,
each character takes the window where it is farthest from an edge (ties: the
earlier window), and the merged tags are BIO-repaired. ``serve_ids`` is the second
signature: ``input_ids`` and ``attention_mask`` in, ``tags`` and ``emissions`` out.
"""

import os
import shutil
import sys
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from bert_mtl_ner import calibration
from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.inference import round_score
from bert_mtl_ner.io_utils import atomic_write_text, replace_dir, staging_dir
from bert_mtl_ner.keras import keras

_SURROGATES = range(0xD800, 0xE000)


def char_table(tokenizer: tokenization.CharTokenizer):
  """(code points, ids) of every character the tokenizer maps to a non-UNK id."""
  keys, values = [], []
  for code in range(sys.maxunicode + 1):
    if code in _SURROGATES:
      continue
    token = tokenizer.token_for_char(chr(code))
    if token != tokenization.UNK:
      keys.append(code)
      values.append(tokenizer.vocab[token])
  return np.asarray(keys, np.int64), np.asarray(values, np.int64)


def check_label_order(labels: Sequence[str]) -> None:
  """The graph's BIO repair needs ``O, B-T1, I-T1, B-T2, I-T2, ...``."""
  for i, label in enumerate(labels):
    expected = "O" if i == 0 else ("B-" if i % 2 else "I-")
    if not label.startswith(expected) or (
        i % 2 == 0 and i and label[2:] != labels[i - 1][2:]):
      raise UsageError(f"labels {list(labels)} are not in the order O, B-T, I-T, "
                       "...; cannot export")


class ServingModule(tf.Module):
  """The exported module (see the module docstring).

  Args:
    model: a trained model of ``bert_mtl_ner.models``.
    tokenizer: its tokenizer.
    labels: its label names in id order.
    max_seq_len: tokens per window, specials included.
    stride: characters between window starts; default 3/4 of a window.
    temperature: divides the CRF's scores for ``entity_score``.
  """

  def __init__(self, model: keras.Model, tokenizer: tokenization.CharTokenizer,
               labels: Sequence[str], max_seq_len: int,
               stride: Optional[int] = None, temperature: float = 1.0):
    super().__init__(name="ner")
    check_label_order(labels)
    self.model = model
    self.crf = model.get_layer("crf")
    self.temperature = tf.constant(temperature, tf.float32)
    keys, values = char_table(tokenizer)
    self.table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values),
        default_value=tokenizer.unk_id)
    self.window = tokenization.max_chars(max_seq_len)
    self.stride = stride or max(1, (self.window * 3) // 4)
    self.num_labels = len(labels)
    self.labels = list(labels)
    self.label_names = tf.constant(list(labels))
    self.type_names = tf.constant([""] + [l[2:] for l in labels[1:]])
    self.cls_id, self.sep_id, self.pad_id = (tokenizer.cls_id, tokenizer.sep_id,
                                             tokenizer.pad_id)

  @tf.function(input_signature=[
      tf.TensorSpec([None, None], tf.int32, name="input_ids"),
      tf.TensorSpec([None, None], tf.int32, name="attention_mask")],
      autograph=False)
  def serve_ids(self, input_ids, attention_mask):
    outputs = self.model({"input_ids": input_ids,
                          "attention_mask": attention_mask}, training=False)
    return {"tags": outputs["tags"], "emissions": outputs["emissions"]}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")],
               autograph=False)
  def serve_text(self, text):
    codes = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
    ids = tf.ragged.map_flat_values(
        lambda c: tf.cast(self.table.lookup(tf.cast(c, tf.int64)), tf.int32),
        codes)
    n = tf.cast(ids.row_lengths(), tf.int32)            # [B]
    row_start = tf.cast(ids.row_starts(), tf.int32)     # [B]
    total = tf.size(ids.flat_values)
    window, stride = self.window, self.stride

    # Windows: starts 0, stride, 2 stride, ... and a last one ending at n.
    count = tf.where(n <= window, 1, (n - window + stride - 1) // stride + 1)
    text_of = tf.repeat(tf.range(tf.size(n)), count)    # [W]
    j = tf.ragged.range(count).flat_values               # window index in text
    n_w, count_w = tf.gather(n, text_of), tf.gather(count, text_of)
    start = tf.where((j == count_w - 1) & (n_w > window), n_w - window,
                     j * stride)
    length = tf.minimum(n_w, window)
    width = tf.reduce_max(tf.concat([length, [0]], 0))
    offsets = tf.range(width)
    valid = offsets[None, :] < length[:, None]           # [W, width]
    flat_pos = tf.gather(row_start, text_of)[:, None] + start[:, None] + offsets
    flat = tf.concat([ids.flat_values, [self.pad_id]], 0)
    window_ids = tf.where(valid, tf.gather(flat, tf.where(valid, flat_pos,
                                                          total)), self.pad_id)
    rows = tf.shape(window_ids)[0]
    input_ids = tf.concat([tf.fill([rows, 1], self.cls_id), window_ids,
                           tf.fill([rows, 1], self.pad_id)], 1)
    input_ids = tf.tensor_scatter_nd_update(
        input_ids, tf.stack([tf.range(rows), length + 1], 1),
        tf.fill([rows], self.sep_id))
    mask = tf.cast(tf.range(width + 2)[None, :] < length[:, None] + 2, tf.int32)
    outputs = self.model({"input_ids": input_ids, "attention_mask": mask},
                         training=False)
    window_tags = outputs["tags"][:, 1:width + 1]

    # Merge: per character, the window with the widest margin (then the first).
    margin = tf.minimum(offsets[None, :], length[:, None] - 1 - offsets[None, :])
    max_count = tf.cast(tf.reduce_max(tf.concat([count, [1]], 0)), tf.int64)
    labels = tf.cast(self.num_labels, tf.int64)
    key = (tf.cast(margin, tf.int64) * max_count * labels +
           (max_count - 1 - tf.cast(j, tf.int64))[:, None] * labels +
           tf.cast(window_tags, tf.int64))
    merged = tf.math.unsorted_segment_max(
        tf.boolean_mask(key, valid), tf.boolean_mask(flat_pos, valid), total)
    tag = tf.cast(merged % labels, tf.int32)             # [total]
    # The window that decided each character: the first of its text plus j.
    decided_by = (tf.gather(tf.cumsum(count, exclusive=True),
                            tf.cast(ids.value_rowids(), tf.int32)) +
                  tf.cast(max_count - 1 - (merged // labels) % max_count,
                          tf.int32))

    # BIO repair: an I-X that does not continue an X entity becomes B-X.
    is_first = tf.scatter_nd(row_start[n > 0][:, None],
                             tf.ones_like(row_start[n > 0], tf.bool), [total])
    prev = tf.where(is_first, 0, tf.concat([[0], tag[:-1]], 0))
    kind = (tag + 1) // 2                                # entity type index
    inside = (tag > 0) & (tag % 2 == 0)
    continues = (prev > 0) & ((prev + 1) // 2 == kind)
    tag = tf.where(inside & ~continues, tag - 1, tag)

    tags = tf.RaggedTensor.from_row_starts(tag, row_start, validate=False)
    # Entities: each starts at a B- tag and runs over the I- tags after it.
    is_begin = (tag > 0) & (tag % 2 == 1)
    entity = tf.cumsum(tf.cast(is_begin, tf.int32)) - 1
    num_entities = tf.reduce_sum(tf.cast(is_begin, tf.int32))
    in_entity = tag > 0
    sizes = tf.math.unsorted_segment_sum(
        tf.ones_like(tag)[in_entity], entity[in_entity], num_entities)
    begin_pos = tf.cast(tf.where(is_begin)[:, 0], tf.int32)
    begin_text = tf.cast(tags.value_rowids(), tf.int32)
    owner = tf.gather(begin_text, begin_pos)
    starts = begin_pos - tf.gather(row_start, owner)
    nrows = tf.size(n)
    as_dense = lambda values, pad: tf.RaggedTensor.from_value_rowids(
        values, owner, nrows=nrows, validate=False).to_tensor(pad)
    # Scores: each entity's tokens in the window that decided its start.
    decider = tf.gather(decided_by, begin_pos)
    window_start = tf.gather(start, decider)
    first_token = starts - window_start + 1
    end_token = tf.minimum(starts + sizes,
                           window_start + tf.gather(length, decider)) - \
        window_start + 1
    scores = self.crf.span_probabilities(
        outputs["emissions"], mask, decider, first_token, end_token,
        tf.gather(tag, begin_pos), self.temperature)
    return {
        "tags": tf.gather(self.label_names, tags).to_tensor(""),
        "tag_ids": tags.to_tensor(-1),
        "entity_start": as_dense(starts, -1),
        "entity_end": as_dense(starts + sizes, -1),
        "entity_type": as_dense(tf.gather(self.type_names,
                                          tf.gather(tag, begin_pos)), ""),
        "entity_score": as_dense(scores, -1.0),
        "entity_count": tf.math.bincount(owner, minlength=nrows,
                                         maxlength=nrows, dtype=tf.int32),
    }


def module_from_model_dir(model_dir: str,
                          stride: Optional[int] = None) -> ServingModule:
  """The serving module of a trained model directory: best weights and the
  temperature of its ``calibration.json``, if any."""
  model, tokenizer, labels, config = run_dir.load(model_dir)
  return ServingModule(model, tokenizer, labels, config.max_seq_len,
                       stride=stride,
                       temperature=calibration.read_temperature(model_dir))


def export(module: ServingModule, export_dir: str,
           labels: Sequence[str]) -> None:
  """Saves the module as a SavedModel at ``export_dir``, atomically.

  The model is written to a staging folder beside ``export_dir`` and moved
  into place (``io_utils.replace_dir``); an existing export is replaced only
  once the new one is complete, and a staging folder left by a killed export
  is removed by the next one (``io_utils.staging_dir``).
  """
  tmp = staging_dir(export_dir)
  try:
    tf.saved_model.save(module, tmp, signatures={
        "serving_default": module.serve_text,
        "serve_ids": module.serve_ids})
    os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
    atomic_write_text(os.path.join(tmp, "assets.extra", "labels.txt"),
                      "".join(l + "\n" for l in labels))
    replace_dir(tmp, export_dir)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise


def to_utf8(text: str) -> bytes:
  """UTF-8 bytes of ``text``, one code point per character: a lone surrogate
  (which UTF-8 cannot hold) becomes U+FFFD, so offsets stay aligned."""
  return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c
                 for c in text).encode("utf-8")


OUTPUTS = ("tags", "tag_ids", "entity_start", "entity_end", "entity_type",
           "entity_score", "entity_count")


def trim_outputs(text: str, outputs: Dict[str, np.ndarray], row: int) -> Dict:
  """One text's outputs of a ``serve_text`` batch, without the batch's
  padding: tags to the text's length, entities to its count, strings
  decoded."""
  count = int(outputs["entity_count"][row])
  tags = outputs["tags"][row][:len(text)]
  return {"tags": [t.decode() for t in tags],
          "tag_ids": [int(i) for i in outputs["tag_ids"][row][:len(text)]],
          "entity_start": [int(x) for x in outputs["entity_start"][row][:count]],
          "entity_end": [int(x) for x in outputs["entity_end"][row][:count]],
          "entity_type": [t.decode() for t in
                          outputs["entity_type"][row][:count]],
          **({"entity_score": [float(x) for x in
                               outputs["entity_score"][row][:count]]}
             if "entity_score" in outputs else {}),
          "entity_count": count}


def entities_of(text: str, outputs: Dict) -> List[Dict]:
  """``predict``'s entities from one text's ``trim_outputs`` (with
  ``score`` when the export has ``entity_score``; older exports have none)."""
  entities = [{"start": s, "end": e, "type": t, "text": text[s:e]}
              for s, e, t in zip(outputs["entity_start"],
                                 outputs["entity_end"], outputs["entity_type"])]
  for entity, score in zip(entities, outputs.get("entity_score", ())):
    entity["score"] = round_score(score)
  return entities


class SignatureTagger:
  """Predicts with a serving signature (``ServingModule.serve_text``, in
  memory or loaded from a SavedModel), like ``inference.Tagger``.

  Args:
    serve: takes ``text`` (a string tensor of UTF-8 texts) and returns the
      outputs of ``ServingModule.serve_text``.
    labels: the label names in id order (for ``types``).
  """

  def __init__(self, serve: Callable[..., Dict[str, tf.Tensor]],
               labels: Sequence[str]):
    self.serve = serve
    self.labels = list(labels)

  @property
  def types(self) -> List[str]:
    """The entity types of the export's labels, in label order."""
    return list(dict.fromkeys(l[2:] for l in self.labels if l != "O"))

  def _run(self, texts: Sequence[str]) -> Dict[str, np.ndarray]:
    outputs = self.serve(text=tf.constant([to_utf8(t) for t in texts],
                                          tf.string))
    return {k: v.numpy() for k, v in outputs.items()}

  def outputs(self, texts: Sequence[str]) -> List[Dict]:
    """Each text's outputs (``trim_outputs``)."""
    out = self._run(texts)
    return [trim_outputs(text, out, i) for i, text in enumerate(texts)]

  def predict_tags(self, texts: Sequence[str]) -> List[List[str]]:
    return [o["tags"] for o in self.outputs(texts)]

  def entities(self, texts: Sequence[str]) -> List[List[Dict]]:
    return [entities_of(text, o) for text, o in zip(texts,
                                                    self.outputs(texts))]


class SavedModelTagger(SignatureTagger):
  """Predicts with an exported SavedModel (see ``SignatureTagger``).

  Args:
    export_dir: a SavedModel written by ``export``.
  """

  def __init__(self, export_dir: str):
    if not os.path.isdir(export_dir):
      raise UsageError(f"--saved_model={export_dir}: no such directory")
    labels = os.path.join(export_dir, "assets.extra", "labels.txt")
    names = []
    if os.path.exists(labels):
      with open(labels, encoding="utf-8") as stream:
        names = [line.strip() for line in stream if line.strip()]
    super().__init__(
        tf.saved_model.load(export_dir).signatures["serving_default"], names)


class ModuleTagger(SignatureTagger):
  """Predicts with a ``ServingModule`` in memory: the graph that ``export``
  would save, without the seconds that saving and loading it take.

  Args:
    module: the serving module (kept here: its bound ``serve_text`` holds it
      only weakly).
  """

  def __init__(self, module: ServingModule):
    self.module = module
    super().__init__(module.serve_text, module.labels)
