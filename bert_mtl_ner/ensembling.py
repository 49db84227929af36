"""Assembling trained runs into one ensemble model directory
(``models.ensemble``); the app is ``bert_mtl_ner.ensemble``.

No absl flags here: the app and tests call ``write``.
"""

import os
import shutil
import tempfile
from typing import Dict, List

import numpy as np

from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.models import ensemble as ensemble_lib

# Settings every member must share: they fix what the inputs and outputs mean.
SHARED_FLAGS = ("do_lower_case", "max_seq_len", "dataset", "dev_split")


def read_member(model_dir: str) -> Dict:
  """A member's files: config, labels, vocabulary text, flags, history."""
  read = lambda name: run_dir.read_json(os.path.join(model_dir, name))
  for name in ("model_config.json", "labels.json", "vocab.txt", "flags.json"):
    if not os.path.exists(os.path.join(model_dir, name)):
      raise UsageError(f"{model_dir}: not a trained run's directory (no "
                       f"{name})")
  with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as stream:
    vocab = stream.read()
  run_flags = read("flags.json")
  return {"dir": model_dir, "config": read("model_config.json"),
          "labels": read("labels.json"), "vocab": vocab, "flags": run_flags,
          "history": run_dir.run_history(model_dir, run_flags)}


def check_members(members: List[Dict]) -> None:
  """Raises UsageError, naming the member and what differs, unless all
  share labels, vocabulary and ``SHARED_FLAGS``, and none is an ensemble."""
  if len(members) < 2:
    raise UsageError(f"--members: an ensemble needs at least 2 runs, got "
                     f"{len(members)}")
  first = members[0]
  for member in members:
    if member["config"]["model"] == "ensemble":
      raise UsageError(f"{member['dir']} is an ensemble; give its members")
    if member is first:
      continue
    if member["labels"] != first["labels"]:
      raise UsageError(f"{member['dir']}: labels {member['labels']} differ "
                       f"from {first['dir']}'s {first['labels']}")
    if member["vocab"] != first["vocab"]:
      raise UsageError(f"{member['dir']}: vocab.txt differs from "
                       f"{first['dir']}'s")
    for name in SHARED_FLAGS:
      if member["flags"].get(name) != first["flags"].get(name):
        raise UsageError(
            f"{member['dir']}: --{name}={member['flags'].get(name)}, but "
            f"{first['dir']} has {first['flags'].get(name)}")


def assemble(members: List[Dict]):
  """The ensemble model with its members' trained weights, and its config.

  Each member's emission scorer takes that member's weights; the CRF takes
  the mean of the members' transitions.
  """
  first = members[0]
  config = ModelConfig(
      model="ensemble", labels=first["labels"],
      vocab_size=first["config"]["vocab_size"],
      max_seq_len=first["config"]["max_seq_len"],
      members=[dict(m["config"], embeddings_file=None, bert_weights=None,
                    vocab_file="vocab.txt") for m in members])
  config.vocab_file = os.path.join(first["dir"], "vocab.txt")
  model = build_model(config)
  transitions = []
  for i, member in enumerate(members):
    trained, _, _, _ = run_dir.load(member["dir"])
    scorer = ensemble_lib.emission_scorer(trained, f"trained_{i}")
    model.get_layer(f"member_{i}").set_weights(scorer.get_weights())
    transitions.append(trained.get_layer("crf").transitions.numpy())
  model.get_layer("crf").transitions.assign(np.mean(transitions, axis=0))
  config.vocab_file = "vocab.txt"
  return model, config


def dev_f1(model, config: ModelConfig, vocab_file: str, run_flags: Dict,
           data_dir) -> float:
  """The assembled model's entity F1 on the members' dev split."""
  if not run_flags.get("dataset"):
    raise UsageError("the members were trained on --train_file/--dev_file; "
                     "an ensemble is scored on a registered --dataset's dev")
  sentences = list(registry.read_split(run_flags["dataset"],
                                       run_flags.get("dev_split") or "dev",
                                       data_dir))
  tokenizer = tokenization.CharTokenizer.from_vocab_file(
      vocab_file, do_lower_case=run_flags.get("do_lower_case", True))
  tagger = inference.Tagger(model, tokenizer, config.labels,
                            config.max_seq_len)
  predictions, _ = evaluation.tag_sentences(tagger, sentences)
  return evaluation.score([s.tags for s in sentences], predictions)["f1"]


def write(model_dir: str, members: List[Dict], data_dir) -> float:
  """Writes the ensemble's directory whole (staged beside it, then renamed).

  Returns:
    Its dev F1.

  Raises:
    UsageError: ``model_dir`` exists.
  """
  if os.path.exists(model_dir):
    raise UsageError(f"{model_dir} exists; give a new --model_dir")
  model, config = assemble(members)
  first = members[0]
  names = [os.path.basename(os.path.normpath(m["dir"])) for m in members]
  run_flags = {"model": "ensemble", "members": names,
               **{name: first["flags"].get(name) for name in SHARED_FLAGS}}
  f1 = dev_f1(model, config, os.path.join(first["dir"], "vocab.txt"),
              run_flags, data_dir)
  parent = os.path.dirname(os.path.abspath(model_dir))
  os.makedirs(parent, exist_ok=True)
  stage = tempfile.mkdtemp(prefix=".ensemble-", dir=parent)
  try:
    run_dir.write_json(os.path.join(stage, "model_config.json"),
                       config.to_dict())
    run_dir.write_json(os.path.join(stage, "labels.json"), first["labels"])
    shutil.copyfile(os.path.join(first["dir"], "vocab.txt"),
                    os.path.join(stage, "vocab.txt"))
    run_dir.write_json(os.path.join(stage, "flags.json"), run_flags)
    run_dir.write_json(os.path.join(stage, run_dir.MEMBERS), [
        {"name": name, "flags": m["flags"], "history": m["history"]}
        for name, m in zip(names, members)])
    run_dir.save_arrays(model, os.path.join(stage, "weights.npz"), np.float32)
    run_dir.write_json(os.path.join(stage, run_dir.BEST_POINTER),
                       {"epoch": None, "dev_f1": f1, "weights": "weights.npz"})
    os.chmod(stage, 0o755)
    os.replace(stage, model_dir)
  finally:
    if os.path.exists(stage):
      shutil.rmtree(stage)
  return f1
