"""Multi-worker training with two worker processes on localhost (TF_CONFIG):
the same losses and weights as one process, the chief alone writes the model
directory, a killed worker resumes from the chief's checkpoint, bad setups
answer in one line."""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import read_metrics
from conftest import run_app
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.training import cluster
from bert_mtl_ner.training import watchdog

pytestmark = pytest.mark.xdist_group("multi_worker")

# Dropout 0: each replica draws its own dropout masks.
TOY = ["--model=bilstm_crf", "--train_limit=64", "--batch_size=16",
       "--dropout=0", "--embedding_dim=8", "--lstm_units=8",
       "--learning_rate=5e-3", "--patience=0", "--progress=false", "--seed=5",
       "--log_every=1"]
SMOKE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "configs", "smoke.cfg")
SETUP_FILES = ("flags.json", "model_config.json", "labels.json", "vocab.txt",
               "best.json", "metrics.jsonl")


def train_args(toy_corpus, model_dir, *extra):
  return ["-m", "bert_mtl_ner.train", f"--train_file={toy_corpus}/train.txt",
          f"--dev_file={toy_corpus}/dev.txt", f"--model_dir={model_dir}",
          *TOY, *extra]


def start_workers(args, tmp_path, ports=None, count=2):
  """``count`` workers of one cluster, each running ``python ARGS`` (a
  ``train`` command) as a multi-worker run; each has its own TMPDIR under
  tmp_path (returned) so that what it leaves there can be checked."""
  ports = ports or cluster.free_ports(count)
  workers, tmpdirs = [], []
  for index in range(count):
    tmpdir = tmp_path / f"tmp_worker{index}"
    tmpdir.mkdir(exist_ok=True)
    env = dict(os.environ, TF_CONFIG=cluster.local_tf_config(ports, index),
               TMPDIR=str(tmpdir))
    workers.append(subprocess.Popen(
        [sys.executable, *args,
         "--distribution_strategy=multi_worker_mirrored",
         "--worker_timeout=120"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    tmpdirs.append(tmpdir)
  return workers, tmpdirs


def finish(workers, timeout=300):
  results = []
  for worker in workers:
    try:
      out, err = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
      for w in workers:
        w.kill()
      raise
    results.append((worker.returncode, out, err))
  return results


def step_losses(model_dir):
  """train/loss of every step, from the TensorBoard events."""
  losses = {}
  for path in glob.glob(os.path.join(model_dir, "tensorboard", "events.*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == "train/loss":
          losses[event.step] = float(tf.make_ndarray(value.tensor))
  return [losses[k] for k in sorted(losses)]


def latest_weights(model_dir):
  reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if name.startswith("model/") and "OPTIMIZER_SLOT" not in name}


@pytest.fixture(scope="module")
def one_process(toy_corpus, tmp_path_factory):
  """The same run in one process: 3 epochs."""
  model_dir = tmp_path_factory.mktemp("one") / "model"
  run_app("train", *train_args(toy_corpus, model_dir, "--epochs=3")[2:])
  return model_dir


def test_two_workers_train_like_one_process_and_only_the_chief_writes(
    toy_corpus, tmp_path, one_process):
  model_dir = tmp_path / "model"
  workers, tmpdirs = start_workers(
      train_args(toy_corpus, model_dir, "--epochs=3"), tmp_path)
  results = finish(workers)
  for code, _, err in results:
    assert code == 0, err[-3000:]
  # The chief wrote a complete model directory, and no other worker did.
  for name in SETUP_FILES:
    assert (model_dir / name).is_file(), name
  assert sorted(os.listdir(model_dir / "checkpoints")) == sorted(
      os.listdir(one_process / "checkpoints"))
  events = glob.glob(str(model_dir / "tensorboard" / "events.*"))
  chief_pid = str(workers[0].pid)
  assert events and all(f".{chief_pid}." in e for e in events), events
  assert len(read_metrics(model_dir)) == 3
  # The other worker wrote into a temporary folder and removed it.
  assert not [f for f in os.listdir(tmpdirs[1]) if f.startswith("bert_mtl")]
  # The same mathematics: every step's loss, and the final weights.
  ours, theirs = step_losses(model_dir), step_losses(one_process)
  assert len(ours) == len(theirs) >= 12  # 64 sentences by 16, 3 epochs
  np.testing.assert_allclose(ours, theirs, rtol=1e-4)
  got, expected = latest_weights(model_dir), latest_weights(one_process)
  assert got.keys() == expected.keys() and len(got) >= 5
  for name, value in expected.items():
    np.testing.assert_allclose(got[name], value, rtol=1e-4, atol=1e-5,
                               err_msg=name)


@pytest.mark.parametrize("extra", [
    [],
    ["--model=mtl", "--aux_tasks=peoples_daily", "--task_hidden_units=16"],
], ids=["smoke", "multi_task_smoke"])
def test_two_workers_train_the_smoke_configs(data_dir, tmp_path, extra):
  model_dir = tmp_path / "smoke"
  workers, tmpdirs = start_workers(
      ["-m", "bert_mtl_ner.train", f"--flagfile={SMOKE}",
       f"--data_dir={data_dir}", "--train_limit=48", "--dev_limit=16",
       "--epochs=1", "--progress=false", f"--model_dir={model_dir}", *extra],
      tmp_path)
  for code, _, err in finish(workers):
    assert code == 0, err[-3000:]
  for name in SETUP_FILES:
    assert (model_dir / name).is_file(), name
  metrics = read_metrics(model_dir)
  assert len(metrics) == 1
  if extra:
    assert set(metrics[0]["task_batches"]) == {"msra", "peoples_daily"}
  assert not [f for f in os.listdir(tmpdirs[1]) if f.startswith("bert_mtl")]


def test_killed_worker_resumes_from_the_chiefs_checkpoint(toy_corpus,
                                                         tmp_path):
  model_dir = tmp_path / "model"
  # Small batches (16 steps an epoch) leave time to kill mid-epoch.
  slow = ["--epochs=2", "--batch_size=4"]
  workers, _ = start_workers(train_args(toy_corpus, model_dir, *slow),
                             tmp_path)
  saved = model_dir / "checkpoints" / "checkpoint"  # after epoch 1
  deadline = time.time() + 300
  while time.time() < deadline and not saved.exists() and all(
      w.poll() is None for w in workers):
    time.sleep(0.05)
  assert saved.exists(), finish(workers)[0][2][-3000:]
  workers[1].send_signal(signal.SIGKILL)  # during epoch 2
  # The chief notices the dead peer and says how to go on, in one line.
  code, _, err = finish(workers, timeout=120)[0]
  assert code == 2, err[-3000:]
  lines = [l for l in err.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and "start every worker again" in lines[0], err[-3000:]
  assert "ckpt-1" in lines[0]
  done = read_metrics(model_dir)
  assert len(done) == 1, "the kill came after the last epoch"
  for folder in tmp_path.glob("tmp_worker*"):  # what the killed ones left
    shutil.rmtree(folder)
  workers, tmpdirs = start_workers(train_args(toy_corpus, model_dir, *slow),
                                   tmp_path)
  results = finish(workers)
  for code, _, err in results:
    assert code == 0, err[-3000:]
    assert "resumed from" in err  # both, from the chief's checkpoint
  resumed = read_metrics(model_dir)
  assert [r["epoch"] for r in resumed] == [1, 2]
  assert resumed[:1] == done  # nothing before the checkpoint is lost
  assert not [f for f in os.listdir(tmpdirs[1]) if f.startswith("bert_mtl")]


def test_tf_config_errors():
  with pytest.raises(UsageError, match="not valid JSON"):
    cluster.read_tf_config({"TF_CONFIG": "{cluster:"})
  with pytest.raises(UsageError, match="names no task"):
    cluster.read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": {"worker": ["localhost:1", "localhost:2"]}})})
  with pytest.raises(UsageError, match="task worker 2 is not in the cluster"):
    cluster.read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": {"worker": ["localhost:1", "localhost:2"]},
         "task": {"type": "worker", "index": 2}})})
  with pytest.raises(UsageError, match="host:port"):
    cluster.read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": {"worker": ["localhost"]},
         "task": {"type": "worker", "index": 0}})})
  assert cluster.read_tf_config({}) is None
  role = cluster.read_tf_config({"TF_CONFIG": json.dumps(
      {"cluster": {"chief": ["a:1"], "worker": ["b:2"]},
       "task": {"type": "worker", "index": 0}})})
  assert not role.is_chief and role.peers == (("chief 0", "a:1"),)


def test_bad_setups_answer_in_one_line(toy_corpus, tmp_path):
  base = train_args(toy_corpus, tmp_path / "m", "--epochs=1",
                    "--distribution_strategy=multi_worker_mirrored")
  for config, expected in (("{not json", "not valid JSON"),
                           ('{"cluster": {"worker": ["localhost:1"]}}',
                            "names no task")):
    result = subprocess.run([sys.executable, *base], capture_output=True,
                            text=True, timeout=300,
                            env=dict(os.environ, TF_CONFIG=config))
    assert result.returncode == 2 and expected in result.stderr
    assert "Traceback" not in result.stderr
  env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
  result = subprocess.run([sys.executable, *base], capture_output=True,
                          text=True, timeout=300, env=env)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "runs as one worker" in result.stderr


@pytest.mark.parametrize("index", [0, 1])
def test_a_peer_that_never_comes_up_stops_the_run(toy_corpus, tmp_path, index):
  ports = cluster.free_ports(2)
  start = time.time()
  result = subprocess.run(
      [sys.executable, *train_args(
          toy_corpus, tmp_path / "m", "--epochs=1", "--worker_timeout=5",
          "--distribution_strategy=multi_worker_mirrored")],
      capture_output=True, text=True, timeout=300,
      env=dict(os.environ, TF_CONFIG=cluster.local_tf_config(ports, index)))
  assert result.returncode != 0
  assert time.time() - start < 120
  lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1, result.stderr[-3000:]
  assert f"localhost:{ports[1 - index]}" in lines[0]
  assert "--worker_timeout" in lines[0]


def test_watchdog_names_only_the_unreachable_peers():
  with socket.socket() as listening:
    listening.bind(("localhost", 0))
    listening.listen()
    up = f"localhost:{listening.getsockname()[1]}"
    down = f"localhost:{cluster.free_ports(1)[0]}"
    line = watchdog.message("worker 0", 5, [("worker 1", up),
                                            ("worker 2", down)])
  assert f"worker 2 at {down}" in line and up not in line

