"""``train`` end to end on a toy corpus: a killed run resumes to the same
metrics, multi-task training with auxiliary and unlabeled data, a deterministic
smoke config, TensorBoard logs, clear errors."""

import json
import os
import signal
import subprocess
import sys
import time

import dataclasses

from absl import flags
import pytest
import tensorflow as tf

from conftest import SMALL_BERT
from conftest import read_metrics
from conftest import run_app
from conftest import train_toy
from bert_mtl_ner import config_flags
from bert_mtl_ner.training.run_config import TrainRun

SMOKE_CONFIG = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "configs", "smoke.cfg")


def test_killed_run_resumes_to_the_same_metrics(toy_corpus, tmp_path):
  # BERT and BiLSTM: dropout inside BERT and on top, embeddings, Adam states.
  args = ["--model=bert_bilstm_crf", "--train_limit=96", "--seed=3",
          "--epochs=3"]
  train_toy(toy_corpus, tmp_path / "straight", *args)
  resumed = tmp_path / "resumed"
  command = [sys.executable, "-m", "bert_mtl_ner.train",
             f"--train_file={toy_corpus}/train.txt",
             f"--dev_file={toy_corpus}/dev.txt", f"--model_dir={resumed}",
             *SMALL_BERT, *args]
  process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  saved = resumed / "checkpoints" / "checkpoint"  # written after epoch 1
  deadline = time.time() + 300
  while process.poll() is None and time.time() < deadline:
    if saved.exists():
      process.send_signal(signal.SIGKILL)  # during epoch 2
      break
    time.sleep(0.01)
  process.wait()
  assert process.returncode == -signal.SIGKILL, "the run ended before the kill"
  assert len(read_metrics(resumed)) < 3, "the kill came after the last epoch"
  result = train_toy(toy_corpus, resumed, *args)  # the same command resumes
  assert "resumed from" in result.stderr  # from a checkpoint, not from scratch
  strip = lambda rows: [{k: v for k, v in r.items()
                         if k not in ("train_seconds", "epoch_seconds",
                                      "examples_per_second")}
                        for r in rows]
  assert strip(read_metrics(tmp_path / "straight")) == strip(read_metrics(resumed))


def test_clear_errors(toy_corpus, tmp_path):
  result = run_app("train", f"--train_file={toy_corpus}/train.txt",
                   f"--dev_file={toy_corpus}/dev.txt", "--dataset=msra",
                   f"--model_dir={tmp_path}/m", check=False)
  assert result.returncode != 0 and "not both" in result.stderr
  assert "Traceback" not in result.stderr
  result = run_app("evaluate", f"--model_dir={tmp_path}/none",
                   "--dataset=msra", check=False)
  assert result.returncode != 0 and "not found" in result.stderr
  assert "Traceback" not in result.stderr


def test_multitask_training_with_aux_and_unlabeled(toy_corpus, tmp_path):
  unlabeled = tmp_path / "unlabeled.txt"
  unlabeled.write_text("王小明在上海的新华社工作。\n\n赵敏昨天去了成都市。\n",
                       encoding="utf-8")
  model_dir = tmp_path / "mtl"
  train_toy(toy_corpus, model_dir, "--model=mtl", "--epochs=2",
         f"--aux_tasks={toy_corpus}/dev.txt", f"--unlabeled={unlabeled}",
         "--confidence_floor=0", "--task_hidden_units=16",
         "--task_schedule=round_robin")
  metrics = read_metrics(model_dir)
  assert len(metrics) == 2
  batches = metrics[0]["task_batches"]
  assert set(batches) == {"main", "dev", "unlabeled"}
  assert batches["main"] >= 8 and batches["dev"] >= 8  # round robin
  with open(os.path.join(model_dir, "model_config.json")) as stream:
    config = json.load(stream)
  assert config["model"] == "mtl" and set(config["aux_labels"]) == {"dev"}
  result = run_app("predict", f"--model_dir={model_dir}",
                   stdin="张三在北京的人民银行工作。\n")
  assert json.loads(result.stdout)["text"] == "张三在北京的人民银行工作。"


def test_smoke_config_is_deterministic(data_dir, tmp_path):
  runs = []
  for name in ("a", "b"):
    run_app("train", f"--flagfile={SMOKE_CONFIG}", f"--data_dir={data_dir}",
            "--train_limit=64", "--dev_limit=32", "--progress=false",
            f"--model_dir={tmp_path / name}")
    runs.append([{k: v for k, v in r.items()
                  if k not in ("train_seconds", "epoch_seconds",
                                      "examples_per_second")}
                 for r in read_metrics(tmp_path / name)])
  assert len(runs[0]) == 2 and runs[0] == runs[1]


def test_tensorboard_logs_steps_of_short_epochs_and_a_labelled_heatmap(
    toy_corpus, tmp_path):
  model_dir = tmp_path / "model"
  # 120 sentences in batches of 16: 8 steps an epoch, fewer than log_every.
  train_toy(toy_corpus, model_dir, "--model=bilstm_crf", "--epochs=3",
         "--log_every=10")
  steps, images = {}, []
  folder = model_dir / "tensorboard"
  for name in os.listdir(folder):
    for event in tf.compat.v1.train.summary_iterator(str(folder / name)):
      for value in event.summary.value:
        steps.setdefault(value.tag, []).append(event.step)
        if value.tag == "crf/transitions":
          images.append(tf.make_ndarray(value.tensor))
  assert sorted(steps["train/loss"]) == [1, 10, 20]
  assert "train/grad_norm" in steps and "train/learning_rate" in steps
  # A rendered figure (axes, names, colour bar), not a bare 7x7 matrix.
  width, height = (int(x) for x in images[-1][:2])
  assert width > 200 and height > 200
  png = tf.io.decode_png(images[-1][2], channels=4).numpy()
  assert len({tuple(p) for p in png.reshape(-1, 4)[::97]}) > 20


def test_a_run_given_as_flags_reads_back_as_the_same_run():
  """``config_flags.to_args`` is what a run trained in another process (the
  grid's ``--workers_per_run``) is told: ``train``'s flags read it back as
  the same ``TrainRun``, lists, booleans, floats and unset fields alike."""
  run = TrainRun(model="mtl", dataset="peoples_daily", model_dir="m",
                 aux_tasks=["msra", "cluener"], aux_exclude=["a:dev", "a:test"],
                 use_attention=False, learning_rate=2.5e-05, seed=7,
                 unlabeled="cluener:test", dropout=0.0)
  values = flags.FlagValues()
  config_flags.define_flags(TrainRun, values)
  values(["train", *config_flags.to_args(run)])
  assert config_flags.from_flags(TrainRun, values) == run
  with pytest.raises(ValueError, match="epochs is None"):
    config_flags.to_args(dataclasses.replace(run, epochs=None))

