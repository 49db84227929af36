"""Google's original TF1 BERT checkpoints -> a directory ``--bert_model`` loads.

Google's release (the one the paper fine-tunes: ``chinese_L-12_H-768_A-12``) is
``bert_model.ckpt.{index,data-*}`` + ``bert_config.json`` + ``vocab.txt``, with
variables named ``bert/embeddings/word_embeddings``,
``bert/encoder/layer_0/attention/self/query/kernel`` and so on.
``convert_tf1_checkpoint`` builds a ``TFBertModel`` of the same size, copies every
weight by name (checking shapes), and writes a Hugging Face directory
(``config.json``, ``tf_model.h5``, ``vocab.txt``). Variables the encoder does not
use (the pre-training heads ``cls/...``, optimizer slots) are skipped and counted.
"""

import json
import os
import re
import shutil
import tempfile
from typing import Dict

import numpy as np
import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import replace_dir

_HF_NAME = re.compile(r"(?:^|/)((?:embeddings|encoder|pooler)/.*?)(?::\d+)?$")
_EMBEDDINGS = {"word_embeddings/weight": "word_embeddings",
               "position_embeddings/embeddings": "position_embeddings",
               "token_type_embeddings/embeddings": "token_type_embeddings"}


def google_name(hf_name: str) -> str:
  """The name in Google's checkpoint of a ``TFBertModel`` weight.

  ``.../bert/encoder/layer_._3/attention/self/query/kernel:0`` ->
  ``bert/encoder/layer_3/attention/self/query/kernel``.
  """
  match = _HF_NAME.search(hf_name)
  if not match:
    raise ValueError(f"not a BERT encoder weight: {hf_name}")
  name = re.sub(r"layer_\._(\d+)", r"layer_\1", match.group(1))
  for hf, google in _EMBEDDINGS.items():
    name = name.replace(hf, google)
  return "bert/" + name


def _find(folder: str, names) -> str:
  for name in names:
    if os.path.exists(os.path.join(folder, name)):
      return os.path.join(folder, name)
  raise UsageError(f"{folder}: no {' or '.join(names)}; expected Google's BERT "
                   "release (bert_model.ckpt.*, bert_config.json, vocab.txt)")


def convert_tf1_checkpoint(source: str, output_dir: str) -> Dict[str, int]:
  """Converts Google's TF1 BERT release in ``source`` to ``output_dir``.

  Args:
    source: folder with ``bert_model.ckpt.index`` (or another single checkpoint
      prefix), ``bert_config.json`` and ``vocab.txt``.
    output_dir: where the Hugging Face directory goes (written atomically).

  Returns:
    ``{"copied": n, "skipped": n}`` variable counts.

  Raises:
    UsageError: a missing file, or a weight the checkpoint lacks or has with
      another shape.
  """
  from transformers import BertConfig, TFBertModel  # pylint: disable=g-import-not-at-top
  with open(_find(source, ["bert_config.json", "config.json"]),
            encoding="utf-8") as stream:
    config = BertConfig(**json.load(stream))
  vocab = _find(source, ["vocab.txt"])
  prefix = tf.train.latest_checkpoint(source) or _find(
      source, ["bert_model.ckpt.index"])[:-len(".index")]
  reader = tf.train.load_checkpoint(prefix)
  stored = reader.get_variable_to_shape_map()
  model = TFBertModel(config)
  model(model.dummy_inputs)
  used = set()
  for weight in model.weights:
    name = google_name(weight.name)
    if name not in stored:
      raise UsageError(f"{prefix}: no variable {name} (for {weight.name})")
    if list(stored[name]) != weight.shape.as_list():
      raise UsageError(f"{prefix}: {name} has shape {stored[name]}, the config "
                       f"needs {weight.shape.as_list()}")
    weight.assign(np.asarray(reader.get_tensor(name)))
    used.add(name)
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".bert-", dir=parent)
  try:
    model.save_pretrained(tmp)
    shutil.copyfile(vocab, os.path.join(tmp, "vocab.txt"))
    replace_dir(tmp, output_dir)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return {"copied": len(used), "skipped": len(set(stored) - used)}
