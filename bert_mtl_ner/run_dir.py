"""The model directory: everything a trained model needs later, and its loading.

Layout of ``--model_dir``::

  flags.json          the resolved flags of the training run
  model_config.json   the ModelConfig (builder name, labels, sizes, BERT config)
  labels.json         label names in id order
  vocab.txt           the vocabulary the model was trained with
  checkpoints/        one checkpoint per epoch (model, optimizers, loop state)
  best/               weights of the best epoch on dev; best.json points at them
                      (a shipped model's point at weights.npz instead:
                      ``save_arrays``)
  metrics.jsonl       one JSON line per epoch
  tensorboard/        TensorBoard event files

Every file is written atomically; a crash leaves the previous version in place.
"""

import json
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from bert_mtl_ner import tokenization
from bert_mtl_ner.errors import DataError, UsageError
from bert_mtl_ner.io_utils import write_json
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models import ModelConfig, build_model

BEST_POINTER = "best.json"
# An ensemble's members: their flags and how each run ended (``ensembling``).
MEMBERS = "members.json"


def read_json(path: str) -> Any:
  try:
    with open(path, encoding="utf-8") as stream:
      return json.load(stream)
  except FileNotFoundError:
    raise UsageError(f"{path} not found: is {os.path.dirname(path)} a model "
                     "directory written by bert_mtl_ner.train?") from None


def save_setup(model_dir: str, flags_dict: Dict[str, Any], config: ModelConfig,
               vocab_file: str) -> None:
  """Writes the files that describe the run, before training starts."""
  os.makedirs(model_dir, exist_ok=True)
  write_json(os.path.join(model_dir, "flags.json"), flags_dict)
  saved = config.to_dict()
  saved["bert_weights"] = None  # weights come from our checkpoints from now on
  saved["embeddings_file"] = None
  saved["vocab_file"] = "vocab.txt"
  write_json(os.path.join(model_dir, "model_config.json"), saved)
  write_json(os.path.join(model_dir, "labels.json"), config.labels)
  target = os.path.join(model_dir, "vocab.txt")
  if os.path.abspath(vocab_file) != os.path.abspath(target):
    tmp = target + ".tmp"
    shutil.copyfile(vocab_file, tmp)
    os.replace(tmp, target)


# Where the weights come from, not what they are: a resumed run may differ here.
_NOT_ARCHITECTURE = ("bert_weights", "bert_from_pt", "embeddings_file",
                     "vocab_file", "bert_config")
_BERT_ARCHITECTURE = ("vocab_size", "hidden_size", "num_hidden_layers",
                      "num_attention_heads", "intermediate_size",
                      "max_position_embeddings", "type_vocab_size")


def architecture_differences(saved: Dict[str, Any], config: ModelConfig
                             ) -> List[str]:
  """``name: saved != new`` for each architecture setting that differs."""
  new = config.to_dict()
  differences = [f"{key}: {saved.get(key)!r} != {value!r}"
                 for key, value in new.items()
                 if key not in _NOT_ARCHITECTURE and key in saved
                 and saved[key] != value]
  old_bert, new_bert = saved.get("bert_config") or {}, new["bert_config"] or {}
  if bool(old_bert) != bool(new_bert):
    differences.append("bert_config: the saved model "
                       f"{'has' if old_bert else 'has no'} BERT encoder")
  elif new_bert:
    differences += [f"bert {key}: {old_bert.get(key)!r} != {new_bert.get(key)!r}"
                    for key in _BERT_ARCHITECTURE
                    if old_bert.get(key) != new_bert.get(key)]
  return differences


def check_compatible(model_dir: str, config: ModelConfig,
                     vocab_file: str) -> None:
  """Refuses to resume a run whose labels, vocabulary or architecture differ.

  Raises:
    UsageError: naming what differs and the fix.
  """
  path = os.path.join(model_dir, "model_config.json")
  if not os.path.exists(path):
    return
  saved = read_json(path)
  if saved["labels"] != config.labels:
    raise UsageError(f"{model_dir} holds a model with labels {saved['labels']}, "
                     f"but the data gives {config.labels}; use a new "
                     "--model_dir")
  if saved["model"] != config.model:
    raise UsageError(f"{model_dir} holds a {saved['model']} model, not "
                     f"{config.model}; use a new --model_dir")
  with open(os.path.join(model_dir, "vocab.txt"), "rb") as a, \
      open(vocab_file, "rb") as b:
    if a.read() != b.read():
      raise UsageError(f"{model_dir} was trained with another vocabulary than "
                       f"{vocab_file}; use a new --model_dir")
  differences = architecture_differences(saved, config)
  if differences:
    raise UsageError(f"{model_dir} holds a model built with other settings "
                     f"(saved != flags: {'; '.join(differences)}); give the "
                     "flags it was trained with (its flags.json) or use a new "
                     "--model_dir")


def best_weights(model_dir: str) -> Optional[str]:
  """Checkpoint prefix of the best weights, or None before the first epoch."""
  path = os.path.join(model_dir, BEST_POINTER)
  if not os.path.exists(path):
    return None
  return os.path.join(model_dir, read_json(path)["weights"])


def save_best(model_dir: str, model: keras.Model, record: Dict[str, Any]
              ) -> None:
  """Writes the model's weights as the new best, then moves the pointer."""
  name = f"best/epoch-{record['epoch']}"
  tf.train.Checkpoint(model=model).write(os.path.join(model_dir, name))
  previous = best_weights(model_dir)
  write_json(os.path.join(model_dir, BEST_POINTER), {**record, "weights": name})
  if previous and os.path.basename(previous) != os.path.basename(name):
    for suffix in (".index", ".data-00000-of-00001"):
      if os.path.exists(previous + suffix):
        os.remove(previous + suffix)


def save_arrays(model: keras.Model, path: str, dtype=np.float16) -> None:
  """Writes ``model.weights`` in order as ``dtype`` arrays to ``path`` (.npz),
  atomically: a shipped model's weights (float16 halves the size)."""
  arrays = {f"w{i:04d}": np.asarray(v.numpy()).astype(
      dtype if v.dtype.is_floating else v.dtype.as_numpy_dtype)
            for i, v in enumerate(model.weights)}
  tmp = path + ".tmp.npz"
  np.savez(tmp, **arrays)
  os.replace(tmp, path)


def load_arrays(model: keras.Model, path: str) -> None:
  """Sets ``model.weights`` from ``save_arrays``' file, cast to each
  variable's dtype.

  Raises:
    DataError: the file does not hold one array of the right shape per
      weight.
  """
  with np.load(path) as stored:
    arrays = [stored[f"w{i:04d}"] for i in range(len(stored.files))]
  shapes = [tuple(v.shape) for v in model.weights]
  if [a.shape for a in arrays] != shapes:
    raise DataError(path, None, f"holds {len(arrays)} arrays that do not fit "
                    f"the model's {len(shapes)} weights")
  model.set_weights([a.astype(v.dtype.as_numpy_dtype)
                     for a, v in zip(arrays, model.weights)])


def load(model_dir: str) -> Tuple[keras.Model, tokenization.CharTokenizer,
                                  List[str], ModelConfig]:
  """Rebuilds a trained model with its best weights.

  Returns:
    (model, tokenizer, labels, model config).

  Raises:
    UsageError: not a model directory, or no epoch finished yet.
  """
  config = ModelConfig.from_dict(read_json(os.path.join(model_dir,
                                                        "model_config.json")))
  config.vocab_file = os.path.join(model_dir, "vocab.txt")
  weights = best_weights(model_dir)
  if weights is None:
    raise UsageError(f"{model_dir} has no trained weights yet (no epoch "
                     "finished); train first")
  flags_dict = read_json(os.path.join(model_dir, "flags.json"))
  tokenizer = tokenization.CharTokenizer.from_vocab_file(
      config.vocab_file, do_lower_case=flags_dict.get("do_lower_case", True))
  model = build_model(config)
  if weights.endswith(".npz"):
    load_arrays(model, weights)
  else:
    tf.train.Checkpoint(model=model).read(weights).expect_partial()
  return model, tokenizer, config.labels, config


def run_history(model_dir: str, run_flags: Dict) -> Dict:
  """How a run went: epochs run, cap, patience, best epoch and its dev F1,
  the dev curve, and what stopped it (``stopped_by``: ``early_stopping``,
  ``cap``, or ``unfinished`` for a run still training or killed).

  Args:
    model_dir: the run's directory (``metrics.jsonl``, ``best.json``).
    run_flags: its flags (``epochs``, ``patience``).
  """
  history = [json.loads(line) for line in open(
      os.path.join(model_dir, "metrics.jsonl"), encoding="utf-8")
             if line.strip()]
  best = read_json(os.path.join(model_dir, BEST_POINTER))
  result = {"epochs_run": len(history), "cap": run_flags["epochs"],
            "patience": run_flags["patience"], "best_epoch": best["epoch"],
            "dev_f1": best["dev_f1"],
            "dev_curve": [round(r["dev"]["f1"], 2) for r in history]}
  # The trainer's rule: early stopping once dev F1 has not improved for
  # `patience` epochs. A run that did neither that nor reach its cap is still
  # training, or was killed.
  patience, ran = run_flags["patience"], len(history)
  if patience and ran - best["epoch"] >= patience:
    result["stopped_by"] = "early_stopping"
  elif ran >= run_flags["epochs"]:
    result["stopped_by"] = "cap"
  else:
    result["stopped_by"] = "unfinished"
  return result
