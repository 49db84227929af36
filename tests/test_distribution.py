"""tf.distribute: MirroredStrategy over two logical CPU devices trains like one
device; batch slicing; mixed precision and XLA steps train."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.training import distribution
from bert_mtl_ner.training import precision
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun

_SCRIPT = """
import dataclasses, json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun
corpus, out = sys.argv[1], sys.argv[2]
base = TrainRun(model=sys.argv[3], train_file=corpus + "/train.txt",
                dev_file=corpus + "/dev.txt", train_limit=64, epochs=2,
                batch_size=16, dropout=0.0, embedding_dim=8, lstm_units=8,
                bert_model="tiny", bert_hidden_size=16, bert_num_layers=1,
                bert_num_heads=2, bert_intermediate_size=32,
                learning_rate=5e-3, bert_learning_rate=5e-3, patience=0,
                progress=False, seed=5)
losses = {}
for strategy in ("one_device", "mirrored"):
  run = dataclasses.replace(base, distribution_strategy=strategy,
                            model_dir=f"{out}/{strategy}")
  run_lib.train(run)
  with open(f"{out}/{strategy}/metrics.jsonl") as stream:
    losses[strategy] = [json.loads(l)["train_loss"] for l in stream]
from bert_mtl_ner.training import distribution
losses["replicas"] = distribution.make_strategy("mirrored").num_replicas_in_sync
print(json.dumps(losses))
"""


def test_mirrored_over_two_cpus_matches_one_device(toy_corpus, tmp_path):
  # No dropout: each replica draws its own masks (BERT's own dropout too).
  result = subprocess.run([sys.executable, "-c", _SCRIPT, str(toy_corpus),
                           str(tmp_path), "bilstm_crf"], capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  losses = json.loads(result.stdout.strip().splitlines()[-1])
  assert len(losses["mirrored"]) == 2
  assert losses["mirrored"] == pytest.approx(losses["one_device"], rel=1e-4)
  assert losses["replicas"] == 2


def test_shard_covers_the_batch_once():
  batch = {"input_ids": tf.reshape(tf.range(10), [5, 2])}
  pieces = [distribution.shard(batch, i, 2)["input_ids"] for i in range(2)]
  assert [p.shape[0] for p in pieces] == [2, 3]
  assert tf.concat(pieces, 0).numpy().tolist() == batch["input_ids"].numpy(
      ).tolist()


def test_unknown_strategy():
  with pytest.raises(UsageError, match="unknown --distribution_strategy"):
    distribution.make_strategy("horovod")


def test_loss_scale_skips_overflow_and_adapts():
  scale = precision.DynamicLossScale(initial=8.0, period=2)
  assert float(scale.scale_loss(tf.constant(1.5))) == 12.0
  grads = scale.unscale([tf.constant([8.0, 16.0]), None])
  assert grads[0].numpy().tolist() == [1.0, 2.0] and grads[1] is None
  assert not bool(scale.update([tf.constant([float("inf")])]))
  assert float(scale.scale) == 4.0
  assert bool(scale.update([tf.constant([1.0])]))
  assert bool(scale.update([tf.constant([1.0])]))
  assert float(scale.scale) == 8.0  # doubled after `period` good steps


@pytest.mark.parametrize("model, flags", [
    ("bert_crf", {"mixed_precision": "mixed_float16"}),
    ("bilstm_crf", {"mixed_precision": "mixed_bfloat16"}),
    ("bilstm_crf", {"jit_compile": True})])
def test_mixed_precision_and_xla_steps_train(toy_corpus, tmp_path, model,
                                             flags):
  run = TrainRun(model=model, train_file=f"{toy_corpus}/train.txt",
                 dev_file=f"{toy_corpus}/dev.txt", train_limit=32, dev_limit=8,
                 epochs=2, batch_size=16, lstm_units=8, embedding_dim=8,
                 bert_hidden_size=16,
                 bert_num_layers=1, bert_num_heads=2, bert_intermediate_size=32,
                 learning_rate=5e-3, bert_learning_rate=5e-3, patience=0,
                 progress=False, model_dir=str(tmp_path / "m"), **flags)
  try:
    run_lib.train(run)
  finally:
    precision.set_policy("none")
  with open(os.path.join(run.model_dir, "metrics.jsonl")) as stream:
    losses = [json.loads(line)["train_loss"] for line in stream]
  assert len(losses) == 2 and all(l == l and l < 1e6 for l in losses)
  assert losses[1] < losses[0]
