"""Windowed prediction with a trained model: every character of every text.

Texts longer than a window (``max_seq_len - 2`` characters) are cut into
overlapping windows (``tokenization.windows``); all windows of a batch of texts are
sorted by length, batched, decoded by the model's CRF, and merged back per text
(``tokenization.merge_windows``). A merge can join two windows' paths into an
invalid BIO sequence; it is repaired as the readers repair input (``I-X`` after
anything but ``X`` becomes ``B-X``), so the result is always valid BIO. Each
entity is then scored by the CRF's marginal probability (``Tagger``).
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from bert_mtl_ner import calibration
from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import crf as crf_lib


def round_score(score: float) -> float:
  """An entity score as written to JSON: four significant digits (a small
  probability stays above 0)."""
  return float(f"{float(score):.4g}")


def entities_of(text: str, tags: Sequence[str],
                scores: Optional[Sequence[float]] = None) -> List[Dict]:
  """JSON-ready entities ``{start, end, type, text[, score]}`` of BIO tags
  over ``text``; ``scores`` (one per entity, in order) adds ``score``."""
  entities = [{"start": s.start, "end": s.end, "type": s.type,
               "text": text[s.start:s.end]}
              for s in tags_lib.tags_to_spans(tags)]
  if scores is not None:
    for entity, value in zip(entities, scores):
      entity["score"] = round_score(value)
  return entities


@dataclasses.dataclass
class Decoded:
  """Texts decoded window by window (``Tagger.decode``).

  Attributes:
    tags: valid BIO tags per text, one per character.
    spans: the entities of ``tags`` per text (``tags_lib.tags_to_spans``).
    window_emissions: the CRF emissions [tokens, labels] of each window.
    span_windows: per text, for each entity, ``(window, first token, end
      token, B- label id)``: the window that decided the entity's first
      character in the merge, and the entity's tokens in it (clipped at the
      window's end).
    window_text: the text of each window.
  """
  tags: List[List[str]]
  spans: List[List[tags_lib.Span]]
  window_emissions: List[np.ndarray]
  span_windows: List[List[Tuple[int, int, int, int]]]
  window_text: List[int]


class _EagerFirst:
  """A ``tf.function`` that runs its Python function eagerly on its first
  call and its traced graph from the second on. Tracing (with autograph's
  conversion of the model's code) takes seconds that one batch, a sentence
  given at the command line, never pays back; a second batch does.

  Attributes:
    eager: whether the next call runs eagerly.
  """

  def __init__(self, function):
    self._function = function
    self.eager = True

  def __call__(self, *args):
    if self.eager:
      self.eager = False
      return self._function.python_function(
          *(tf.convert_to_tensor(a) for a in args))
    return self._function(*args)


class Tagger:
  """Predicts BIO tags, and entity scores, for character sequences of any
  length.

  The first model call runs eagerly and later ones through a traced graph
  (``_EagerFirst``): one sentence is tagged in the time TensorFlow takes to
  start; ``warm_up`` traces at once, for timing.

  An entity's score is its marginal probability under the CRF of the window
  that decided its first character (``layers.crf.CRF.span_probabilities``):
  exact for a text of one window; for an entity that runs past that window's
  end, the probability of its part inside the window.

  Args:
    model: a model of ``bert_mtl_ner.models`` (outputs ``tags`` and
      ``emissions``; its decoding CRF layer is named ``crf``).
    tokenizer: the tokenizer of its vocabulary.
    labels: label names in id order.
    max_seq_len: tokens per window, specials included.
    stride: characters between window starts; default 3/4 of a window.
    batch_size: windows per model call.
    temperature: divides the CRF's scores for entity scores
      (``calibration``); 1 leaves them as trained.
  """

  def __init__(self, model: keras.Model, tokenizer: tokenization.CharTokenizer,
               labels: Sequence[str], max_seq_len: int,
               stride: Optional[int] = None, batch_size: int = 64,
               temperature: float = 1.0):
    self.model = model
    self.tokenizer = tokenizer
    self.labels = list(labels)
    self.window = tokenization.max_chars(max_seq_len)
    self.stride = stride
    self.batch_size = batch_size
    self.temperature = temperature
    spec = tf.TensorSpec([None, None], tf.int32)
    crf = model.get_layer("crf")

    @tf.function(input_signature=[spec, spec], autograph=False)
    def decode(input_ids, attention_mask):
      outputs = model({"input_ids": input_ids,
                       "attention_mask": attention_mask}, training=False)
      return outputs["tags"], outputs["emissions"]

    ints = tf.TensorSpec([None], tf.int32)

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, len(self.labels)], tf.float32), spec,
        ints, ints, ints, ints, tf.TensorSpec([], tf.float32)],
        autograph=False)
    def span_probabilities(emissions, mask, rows, starts, ends, begin,
                           temperature):
      return crf.span_probabilities(emissions, mask, rows, starts, ends, begin,
                                    temperature)

    @tf.function(input_signature=[
        tf.TensorSpec([None, None, len(self.labels)], tf.float32), spec],
        autograph=False)
    def path_certainty(emissions, mask):
      emissions, transitions = crf.decoding_parameters(emissions)
      lengths = crf_lib.lengths_from_mask(mask)
      best, second = crf_lib.crf_top2_scores(emissions, transitions, lengths)
      _, _, log_z = crf_lib.crf_forward_backward(emissions, transitions,
                                                 lengths)
      return (crf_lib.path_confidence(best, second),
              tf.exp(tf.minimum(best - log_z, 0.0)))

    self._functions = [_EagerFirst(f) for f in (decode, span_probabilities,
                                                 path_certainty)]
    self._decode, self._span_probabilities, self._path_certainty = (
        self._functions)

  def warm_up(self, texts: Sequence[str]) -> None:
    """Tags ``texts`` through the traced graphs (tracing them), so that later
    calls time the model alone."""
    for function in self._functions:
      function.eager = False
    self.entities(texts)

  @classmethod
  def from_model_dir(cls, model_dir: str, batch_size: int = 64) -> "Tagger":
    """The tagger of a trained model directory (best weights, and the
    temperature ``calibrate`` fitted, if any)."""
    model, tokenizer, labels, config = run_dir.load(model_dir)
    return cls(model, tokenizer, labels, config.max_seq_len,
               batch_size=batch_size,
               temperature=calibration.read_temperature(model_dir))

  def decode(self, sequences: Sequence[Sequence[str]]) -> Decoded:
    """Tags every character of each sequence (see ``Decoded``)."""
    rows = []  # (sequence index, window)
    for index, chars in enumerate(sequences):
      for span in tokenization.windows(len(chars), self.window, self.stride):
        rows.append((index, span))
    order = sorted(range(len(rows)),
                   key=lambda r: rows[r][1].end - rows[r][1].start)
    window_tags: List[Optional[np.ndarray]] = [None] * len(rows)
    emissions: List[Optional[np.ndarray]] = [None] * len(rows)
    for begin in range(0, len(order), self.batch_size):
      chunk = order[begin:begin + self.batch_size]
      encoded = [self.tokenizer.encode(
          sequences[rows[r][0]][rows[r][1].start:rows[r][1].end]) for r in chunk]
      ids, mask = _pad([np.asarray(e, np.int32) for e in encoded])
      tags, batch_emissions = (x.numpy() for x in self._decode(ids, mask))
      for i, r in enumerate(chunk):
        span = rows[r][1]
        window_tags[r] = tags[i, 1:1 + span.end - span.start]
        emissions[r] = batch_emissions[i, :len(encoded[i])]
    decoded = Decoded([], [], emissions, [], [text for text, _ in rows])
    cursor = 0
    for chars in sequences:
      first = cursor
      while cursor < len(rows) and rows[cursor][0] == len(decoded.tags):
        cursor += 1
      spans = [rows[r][1] for r in range(first, cursor)]
      merged = tokenization.merge_windows(
          len(chars), spans,
          [[(int(tag), r) for tag in window_tags[r]]
           for r in range(first, cursor)])
      tags = tags_lib.to_bio([self.labels[tag] for tag, _ in merged])[0]
      entities = tags_lib.tags_to_spans(tags)
      decoded.tags.append(tags)
      decoded.spans.append(entities)
      placed = []
      for e in entities:
        window = merged[e.start][1]   # decided the entity's first character
        span = rows[window][1]
        # Tokens of the window: [CLS] first, so character c is token c + 1.
        placed.append((window, e.start - span.start + 1,
                       min(e.end, span.end) - span.start + 1,
                       self.labels.index("B-" + e.type)))
      decoded.span_windows.append(placed)
    return decoded

  def entity_scores(self, decoded: Decoded,
                    temperature: Optional[float] = None) -> List[List[float]]:
    """Each entity's score (see the class docstring), per text.

    Args:
      decoded: ``decode``'s result.
      temperature: overrides the tagger's (``calibration`` tries several on
        one ``decode``).
    """
    temperature = self.temperature if temperature is None else temperature
    wanted = [item for spans in decoded.span_windows for item in spans]
    windows = sorted({w for w, _, _, _ in wanted})
    probabilities: Dict[Tuple[int, int, int, int], float] = {}
    for begin in range(0, len(windows), self.batch_size):
      chunk = windows[begin:begin + self.batch_size]
      local = {w: i for i, w in enumerate(chunk)}
      items = [item for item in wanted if item[0] in local]
      emissions, mask = _pad([decoded.window_emissions[w] for w in chunk])
      columns = np.array([(local[w], s, e, b) for w, s, e, b in items],
                         np.int32).reshape(-1, 4)
      values = self._span_probabilities(
          emissions, mask, *(columns[:, i] for i in range(4)),
          np.float32(temperature)).numpy()
      probabilities.update(zip(items, values.tolist()))
    return [[probabilities[item] for item in spans]
            for spans in decoded.span_windows]

  def path_certainties(self, decoded: Decoded
                       ) -> Tuple[List[float], List[float]]:
    """Per text, from the two best constrained CRF paths of each window:

    * the paper's ``confid(x) = (p1 - p2) / p1``
      (``layers.crf.path_confidence``), near 0 when the runner-up path is
      almost as likely as the best;
    * ``p1``, the probability of the best path.

    A text of several windows takes its least certain window's values.

    Returns:
      (confid per text, best-path probability per text).
    """
    confid = [1.0] * len(decoded.tags)
    best = [1.0] * len(decoded.tags)
    for begin in range(0, len(decoded.window_emissions), self.batch_size):
      chunk = decoded.window_emissions[begin:begin + self.batch_size]
      values, probabilities = self._path_certainty(*_pad(chunk))
      for offset, (value, probability) in enumerate(zip(
          values.numpy().tolist(), probabilities.numpy().tolist())):
        text = decoded.window_text[begin + offset]
        confid[text] = min(confid[text], value)
        best[text] = min(best[text], probability)
    return confid, best

  def predict_tags(self, sequences: Sequence[Sequence[str]]) -> List[List[str]]:
    """BIO tags, one per character, for each character sequence."""
    return self.decode(sequences).tags

  def entities(self, texts: Sequence[str]) -> List[List[Dict]]:
    """Entities with character offsets into each raw text, and scores."""
    decoded = self.decode(texts)
    return [entities_of(text, tags, scores) for text, tags, scores in zip(
        texts, decoded.tags, self.entity_scores(decoded))]


def _pad(arrays: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
  """Stacks arrays of different first sizes, zero-padded, with their 0/1
  mask [len(arrays), longest]."""
  width = max(len(a) for a in arrays)
  out = np.zeros((len(arrays), width) + arrays[0].shape[1:], arrays[0].dtype)
  mask = np.zeros((len(arrays), width), np.int32)
  for i, a in enumerate(arrays):
    out[i, :len(a)] = a
    mask[i, :len(a)] = 1
  return out, mask
