"""Ensembles (``models.ensemble``, ``ensembling``, the ``ensemble`` app): the
mean of the members' CRF scores decides the tags, members that do not fit
together are refused, and an assembled ensemble is scored, served and shipped
like any model directory."""

import itertools
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner import ensembling
from bert_mtl_ner import run_dir
from bert_mtl_ner import shipped
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.layers import crf as crf_lib
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.shipped import card
from conftest import run_app

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
CHARS = "张三李四在北京上海工作。"
RUN_FLAGS = {"model": "bilstm_crf", "epochs": 20, "patience": 2,
             "do_lower_case": True, "max_seq_len": 150, "dataset": "cluener",
             "dev_split": "dev", "lstm_units": 8}


def _vocab(write, extra=""):
  return write(f"vocab{extra}.txt", "\n".join(
      ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + list(CHARS + extra)) + "\n")


def _member(folder, vocab, seed, labels=LABELS, flags_dict=None, o_bias=0.0,
            **changes):
  """A model directory with random weights (its CRF transitions too; the
  emissions of ``O`` raised by ``o_bias``) and a dev curve that early
  stopping ended (best epoch 3 of 5, patience 2)."""
  tf.keras.utils.set_random_seed(seed)
  with open(vocab, encoding="utf-8") as stream:
    size = len(stream.read().split())
  config = ModelConfig(**dict(dict(
      model="bilstm_crf", labels=list(labels), vocab_size=size,
      vocab_file=vocab, embedding_dim=8, lstm_units=8), **changes))
  model = build_model(config)
  crf = model.get_layer("crf")
  crf.transitions.assign(tf.random.normal(crf.transitions.shape))
  model.get_layer("emissions").bias[0].assign(o_bias)
  run_flags = dict(RUN_FLAGS, seed=seed, **(flags_dict or {}))
  run_dir.save_setup(str(folder), run_flags, config, vocab)
  run_dir.save_best(str(folder), model, {"epoch": 3, "dev_f1": 40.0 + seed})
  (folder / "metrics.jsonl").write_text("".join(
      json.dumps({"epoch": e, "dev": {"f1": 30.0 + e}}) + "\n"
      for e in range(1, 6)), encoding="utf-8")
  return str(folder)


def _best_path(emissions, transitions, labels):
  """The best BIO path by trying every one (short sequences only)."""
  allowed, starts = (crf_lib.bio_allowed_transitions(labels),
                     crf_lib.bio_allowed_starts(labels))
  best, best_score = None, -np.inf
  for path in itertools.product(range(len(labels)), repeat=len(emissions)):
    if not starts[path[0]] or not all(
        allowed[a, b] for a, b in zip(path, path[1:])):
      continue
    score = sum(emissions[t, tag] for t, tag in enumerate(path)) + sum(
        transitions[a, b] for a, b in zip(path, path[1:]))
    if score > best_score:
      best, best_score = list(path), score
  return best


def test_the_mean_of_the_members_crf_scores_decides(tmp_path, write):
  vocab = _vocab(write)
  folders = [_member(tmp_path / "plain", vocab, 1),
             _member(tmp_path / "bigrams", vocab, 2, bigram_buckets=31,
                     bigram_dim=4, char_dropout=0.2),
             _member(tmp_path / "wide", vocab, 3, lstm_units=12)]
  members = [ensembling.read_member(f) for f in folders]
  model, config = ensembling.assemble(members)
  assert config.model == "ensemble" and len(config.members) == 3
  ids = np.array([[2, 4, 5, 9, 3], [2, 6, 7, 3, 0]], np.int32)
  mask = (ids > 0).astype(np.int32)
  inputs = {"input_ids": ids, "attention_mask": mask}
  outputs = model(inputs, training=False)
  emissions, transitions = [], []
  for folder in folders:
    trained, _, _, _ = run_dir.load(folder)
    emissions.append(trained(inputs, training=False)["emissions"].numpy())
    transitions.append(trained.get_layer("crf").transitions.numpy())
  mean_emissions = np.mean(emissions, axis=0)
  np.testing.assert_allclose(outputs["emissions"].numpy(), mean_emissions,
                             rtol=1e-5, atol=1e-5)
  mean_transitions = np.mean(transitions, axis=0)
  for row in range(len(ids)):
    length = int(mask[row].sum())
    expected = _best_path(mean_emissions[row, :length], mean_transitions,
                          LABELS)
    assert outputs["tags"].numpy()[row, :length].tolist() == expected
  # No member alone decides: each member's own path differs somewhere.
  alone = [[_best_path(e[row, :int(mask[row].sum())], t, LABELS)
            for row in range(len(ids))] for e, t in zip(emissions, transitions)]
  ensemble_paths = [outputs["tags"].numpy()[row, :int(mask[row].sum())]
                    .tolist() for row in range(len(ids))]
  assert any(paths != ensemble_paths for paths in alone)


def test_members_that_do_not_fit_together_are_refused(tmp_path, write):
  vocab = _vocab(write)
  first = _member(tmp_path / "first", vocab, 1)
  read = lambda *folders: [ensembling.read_member(f) for f in folders]
  with pytest.raises(UsageError, match="at least 2 runs"):
    ensembling.check_members(read(first))
  other_labels = _member(tmp_path / "labels", vocab, 2,
                         labels=["O", "B-ORG", "I-ORG"])
  with pytest.raises(UsageError, match=r"labels.*differ from .*first"):
    ensembling.check_members(read(first, other_labels))
  other_vocab = _member(tmp_path / "vocab", _vocab(write, "国"), 3)
  with pytest.raises(UsageError, match="vocab.txt differs"):
    ensembling.check_members(read(first, other_vocab))
  longer = _member(tmp_path / "longer", vocab, 4,
                   flags_dict={"max_seq_len": 256})
  with pytest.raises(UsageError, match="--max_seq_len=256"):
    ensembling.check_members(read(first, longer))
  with pytest.raises(UsageError, match="no model_config.json"):
    ensembling.read_member(str(tmp_path))
  os.remove(os.path.join(first, "flags.json"))
  with pytest.raises(UsageError, match="first: not a trained run.*flags.json"):
    ensembling.read_member(first)


def test_an_assembled_ensemble_is_scored_served_and_shipped(
    data_dir, tmp_path, write):
  types = sorted({t.split("-", 1)[1] for s in registry.read_split(
      "cluener", "dev", data_dir) for t in s.tags if t != "O"})
  labels = ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
  chars = sorted({c for s in registry.read_split("cluener", "dev", data_dir)
                  for c in s.chars})[:3000]
  vocab = write("cluener_vocab.txt", "\n".join(
      ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + chars) + "\n")
  flagfile = write("configs/tiny.cfg", "--model=bilstm_crf\n--patience=2\n")
  # Few entities, as from trained models: calibration and scoring stay quick.
  members = [_member(tmp_path / f"m{i}", vocab, i, labels=labels, o_bias=3.0)
             for i in (1, 2)]
  out = tmp_path / "ens"
  result = run_app("ensemble", f"--members={','.join(members)}",
                   f"--model_dir={out}", f"--data_dir={data_dir}")
  best = run_dir.read_json(str(out / "best.json"))
  assert f"ensemble {out}: dev F1 {best['dev_f1']:.2f}" in result.stdout
  # An existing directory is never overwritten.
  before = sorted(os.listdir(out))
  with pytest.raises(UsageError, match="exists; give a new --model_dir"):
    ensembling.write(str(out), [ensembling.read_member(m) for m in members],
                     data_dir)
  assert sorted(os.listdir(out)) == before
  # Shipped: one flagfile per member; each member's training on the card.
  ship = ["ship", f"--model_dir={out}", "--name=ens", "--dataset=cluener",
          "--split=dev", f"--data_dir={data_dir}", f"--root={tmp_path}/root"]
  result = run_app(*ship, f"--flagfile_used={flagfile}", check=False)
  assert result.returncode == 2 and "1 flagfile(s) for 2 run(s)" in \
      result.stderr
  run_app(*ship, f"--flagfile_used={flagfile},{flagfile}")
  path = shipped.path("ens", f"{tmp_path}/root")
  with open(os.path.join(path, card.SUMMARY), encoding="utf-8") as stream:
    summary = json.load(stream)
  training = summary["training"]
  # The dev F1 the ensemble recorded is what ship measures on dev.
  assert abs(summary["weights"]["f1_float32"] - best["dev_f1"]) < 1e-6
  assert training["dev_f1"] == best["dev_f1"]
  assert [m["folder"] for m in training["members"]] == [
      "runs/ship_ens_1", "runs/ship_ens_2"]
  assert training["commands"][-1] == (
      "python -m bert_mtl_ner.ensemble --members=runs/ship_ens_1,"
      "runs/ship_ens_2 --model_dir=runs/ship_ens")
  assert all(m["stopped_by"] == "early_stopping"
             for m in training["members"])
  with open(os.path.join(path, card.CARD), encoding="utf-8") as stream:
    text = stream.read()
  assert text == card.render(summary) and "an ensemble of 2 runs" in text
  for name in os.listdir(path):
    if name != shipped.WEIGHTS:
      with open(os.path.join(path, name), "rb") as stream:
        assert str(tmp_path).encode() not in stream.read(), name
  scores = json.loads(run_app(
      "evaluate", f"--model_dir={path}", "--dataset=cluener", "--split=dev",
      f"--data_dir={data_dir}", "--format=json").stdout)
  assert abs(scores["f1"] - summary["scores"]["f1"]) < 1e-6
