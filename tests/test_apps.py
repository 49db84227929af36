"""The commands on one trained toy model, end to end: evaluate, calibrate,
predict, select, export, and the exported model against predict."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bert_mtl_ner import io_utils
from bert_mtl_ner import progress
from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import tags as tags_lib
from conftest import assert_same_entities
from conftest import read_metrics
from conftest import run_app
from conftest import train_toy

# Under pytest-xdist (run_tests.sh) the tests that share the trained model run
# in one worker, so it is trained once.
pytestmark = pytest.mark.xdist_group("trained_toy_model")


@pytest.fixture(scope="module")
def trained(toy_corpus, tmp_path_factory):
  model_dir = tmp_path_factory.mktemp("run") / "model"
  train_toy(toy_corpus, model_dir, "--model=bert_bilstm_crf", "--epochs=4")
  return model_dir


def test_model_dir_holds_everything(trained):
  for name in ("flags.json", "model_config.json", "labels.json", "vocab.txt",
               "best.json", "metrics.jsonl", "checkpoints/checkpoint"):
    assert os.path.exists(os.path.join(trained, name)), name
  assert os.listdir(os.path.join(trained, "tensorboard"))
  metrics = read_metrics(trained)
  assert [m["epoch"] for m in metrics] == [1, 2, 3, 4]
  assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
  assert set(metrics[0]["dev"]) >= {"precision", "recall", "f1", "per_type"}
  with open(os.path.join(trained, "labels.json")) as stream:
    assert json.load(stream) == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG",
                                 "B-PER", "I-PER"]


def test_evaluate_json_and_conll(trained, toy_corpus, tmp_path):
  out = tmp_path / "pred.conll"
  result = run_app("evaluate", f"--model_dir={trained}",
                   f"--eval_file={toy_corpus}/dev.txt", "--format=json",
                   f"--predictions_file={out}")
  scores = json.loads(result.stdout)
  assert set(scores) >= {"precision", "recall", "f1", "macro_f1", "per_type"}
  assert set(scores["per_type"]) == {"LOC", "ORG", "PER"}
  assert set(scores["per_type"]["PER"]) == {"precision", "recall", "f1",
                                            "support"}
  rows = [l.split() for l in out.read_text(encoding="utf-8").splitlines() if l]
  assert all(len(r) == 3 for r in rows)
  with open(f"{toy_corpus}/dev.txt", encoding="utf-8") as stream:
    assert len(rows) == sum(1 for l in stream if l.strip())
  confidence = scores["calibration"]
  assert confidence["entities"] == sum(
      row["count"] for row in confidence["reliability"]) > 0
  assert 0 <= confidence["ece"] <= 1 and confidence["temperature"] == 1.0
  run_app("evaluate", f"--model_dir={trained}",
          f"--eval_file={toy_corpus}/dev.txt", f"--predictions_file={out}",
          "--score_column")
  rows = [l.split() for l in out.read_text(encoding="utf-8").splitlines() if l]
  assert all(len(r) == 4 for r in rows)
  assert all((r[3] == "-") == (r[2] == "O") for r in rows)
  assert all(0 < float(r[3]) <= 1 for r in rows if r[3] != "-")


def test_calibrate_writes_the_temperature_that_evaluate_uses(
    trained, toy_corpus, tmp_path):
  """``calibrate`` on a registered layout of the toy corpus: the fitted
  temperature lands in a copy of the model directory and evaluate reads it."""
  model_dir = tmp_path / "model"
  shutil.copytree(trained, model_dir)
  data = tmp_path / "data" / "peoples_daily"
  data.mkdir(parents=True)
  for split, name in (("example.train", "train.txt"), ("example.dev",
                                                       "dev.txt"),
                      ("example.test", "dev.txt")):
    shutil.copy(f"{toy_corpus}/{name}", data / split)
  out = tmp_path / "report"
  run_app("calibrate", f"--model_dir={model_dir}", "--dataset=peoples_daily",
          f"--data_dir={tmp_path / 'data'}", "--fit_split=dev",
          "--split=test", f"--output_dir={out}", "--progress=false")
  summary = json.loads((out / "summary.json").read_text())
  stored = json.loads((model_dir / "calibration.json").read_text())
  assert stored["temperature"] == summary["temperature"] > 0
  assert summary["fit_log_loss_after"] <= summary["fit_log_loss_before"]
  assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"
  assert "ECE" in (out / "REPORT.md").read_text()
  scores = json.loads(run_app(
      "evaluate", f"--model_dir={model_dir}",
      f"--eval_file={toy_corpus}/dev.txt", "--format=json",
      f"--predictions_file={tmp_path / 'p.conll'}").stdout)
  assert scores["calibration"]["temperature"] == stored["temperature"]


def test_predict_pre_annotations_read_back(trained, tmp_path):
  """predict -> doccano / Label Studio file -> reader: the same spans."""
  texts = ["张三在北京的人民银行工作。", "李四昨天去了上海。", "据新华社报道，王小明到达广州市。"]
  stdin = "\n".join(texts) + "\n"
  expected = [json.loads(l)["entities"] for l in run_app(
      "predict", f"--model_dir={trained}", stdin=stdin).stdout.splitlines()]
  assert any(expected)
  for fmt in ("doccano", "label_studio"):
    out = tmp_path / f"pre.{fmt}"
    run_app("predict", f"--model_dir={trained}", f"--output_format={fmt}",
            f"--output={out}", stdin=stdin)
    if fmt == "doccano":
      back = list(readers.read_file(str(out)))
    else:
      tasks = json.loads(out.read_text(encoding="utf-8"))
      assert all(0 < r["score"] <= 1 for t in tasks
                 for r in t["predictions"][0]["result"])
      back = list(annotation.read_label_studio(str(out),
                                               use_predictions=True))
    assert [s.text for s in back] == texts
    assert [[(x.start, x.end, x.type) for x in tags_lib.tags_to_spans(
        s.tags)] for s in back] == [[(e["start"], e["end"], e["type"])
                                     for e in row] for row in expected]


def test_select_writes_k_doccano_records(trained, toy_corpus, tmp_path):
  pool = tmp_path / "pool.txt"
  with open(f"{toy_corpus}/train.txt", encoding="utf-8") as stream:
    sentences = stream.read().split("\n\n")
  texts = ["".join(l.split(" ")[0] for l in s.splitlines() if l)
           for s in sentences]
  pool.write_text("\n".join(texts) + "\n", encoding="utf-8")
  out = tmp_path / "batch.jsonl"
  run_app("select", f"--model_dir={trained}", f"--input={pool}", "--k=5",
          "--strategy=confid", f"--output={out}", "--diversity=0.9")
  records = [json.loads(l) for l in out.read_text(
      encoding="utf-8").splitlines()]
  assert len(records) == 5
  back = list(readers.read_file(str(out), "doccano"))
  assert len(back) == 5 and all(r["text"] in texts for r in records)
  ranked = [json.loads(l) for l in run_app(
      "select", f"--model_dir={trained}", f"--input={pool}", "--k=5",
      "--strategy=min_entity_score", "--output_format=jsonl",
      "--diversity=0.9").stdout.splitlines()]
  certainties = [r["certainty"] for r in ranked]
  assert certainties == sorted(certainties)
  assert len({r["text"] for r in ranked}) == 5


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
  export_dir = tmp_path_factory.mktemp("export") / "model"
  run_app("export", f"--model_dir={trained}", f"--export_dir={export_dir}")
  return export_dir


def test_predict_export_agree(trained, exported):
  texts = ["张三在北京的人民银行工作。", "", "据新华社报道，" * 60 + "李四到达上海。",
           "😀 a\u200b李四\t去了 成都市"]
  stdin = "\n".join(texts) + "\n"
  from_dir = run_app("predict", f"--model_dir={trained}", stdin=stdin)
  from_export = run_app("predict", f"--saved_model={exported}", stdin=stdin)
  lines = [json.loads(l) for l in from_dir.stdout.splitlines()]
  assert [l["text"] for l in lines] == texts
  assert_same_entities(
      [json.loads(l)["entities"] for l in from_export.stdout.splitlines()],
      [l["entities"] for l in lines])
  assert lines[1]["entities"] == []
  for line in lines:
    for entity in line["entities"]:
      assert 0 <= entity["start"] < entity["end"] <= len(line["text"])
      assert line["text"][entity["start"]:entity["end"]] == entity["text"]
  assert any(e["end"] > 148 for e in lines[2]["entities"])  # past one window


def test_saved_model_cli(exported):
  cli = shutil.which("saved_model_cli", path=os.path.dirname(sys.executable))
  result = subprocess.run(
      [cli, "run", "--dir", str(exported), "--tag_set", "serve",
       "--signature_def", "serving_default", "--input_exprs",
       'text=["张三在北京大学工作。"]'], capture_output=True, text=True,
      timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  for key in ("tags", "entity_start", "entity_end", "entity_type",
              "entity_count"):
    assert key in result.stdout


def test_killed_export_leaves_the_previous_export(trained, exported):
  before = {p: (exported / p).read_bytes() for p in ("saved_model.pb",
                                                     "assets.extra/labels.txt")}
  process = subprocess.Popen(
      [sys.executable, "-m", "bert_mtl_ner.export", f"--model_dir={trained}",
       f"--export_dir={exported}"], stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  parent = exported.parent
  deadline = time.time() + 300
  while process.poll() is None and time.time() < deadline:
    if any(p.name.startswith(f".{exported.name}.partial-")
           for p in parent.iterdir()):
      time.sleep(0.5)  # the new SavedModel is being written
      process.send_signal(signal.SIGKILL)
      break
    time.sleep(0.01)
  process.wait()
  assert process.returncode == -signal.SIGKILL, "the export ended before the kill"
  assert {p: (exported / p).read_bytes() for p in before} == before
  result = run_app("predict", f"--saved_model={exported}",
                   stdin="张三在北京的人民银行工作。\n")
  assert json.loads(result.stdout)["text"] == "张三在北京的人民银行工作。"


def test_predict_names_the_line_of_invalid_utf8(exported):
  result = subprocess.run(
      [sys.executable, "-m", "bert_mtl_ner.predict",
       f"--saved_model={exported}"], input="张三\n".encode() + b"\xff\xfe\n",
      capture_output=True, timeout=300)
  assert result.returncode == 2
  assert b"error: -:2: invalid UTF-8" in result.stderr
  assert b"Traceback" not in result.stderr


def test_predict_streams_its_input(trained):
  # The first answer comes back while the input is still open: nothing waits
  # for the whole input (a 1 GB file is read batch by batch).
  process = subprocess.Popen(
      [sys.executable, "-m", "bert_mtl_ner.predict", f"--model_dir={trained}",
       "--batch_size=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL, text=True)
  try:
    process.stdin.write("张三在北京的人民银行工作。\n")
    process.stdin.flush()
    first = json.loads(process.stdout.readline())
    assert first["text"] == "张三在北京的人民银行工作。"
    assert process.poll() is None  # still reading
    process.stdin.write("\n")
    process.stdin.close()
    assert json.loads(process.stdout.readline()) == {"text": "",
                                                     "entities": []}
    assert process.wait(timeout=120) == 0
  finally:
    process.kill()


def test_commands_print_only_what_was_asked(trained):
  env = {k: v for k, v in os.environ.items()
         if k not in ("TF_CPP_MIN_LOG_LEVEL", "BERT_MTL_NER_VERBOSE")}
  command = [sys.executable, "-m", "bert_mtl_ner.predict"]
  shown = subprocess.run(command + ["--helpshort"], capture_output=True,
                         text=True, env=env, timeout=300)
  assert shown.stdout.splitlines()[0].startswith("Tags raw text")
  assert shown.stderr == ""
  tagged = subprocess.run(command + [f"--model_dir={trained}"],
                          input="张三在北京工作。\n\n", capture_output=True,
                          text=True, env=env, timeout=300)
  assert tagged.returncode == 0, tagged.stderr[-2000:]
  assert tagged.stderr == ""
  lines = tagged.stdout.splitlines()
  assert len(lines) == 2 and all(json.loads(l)["text"] is not None
                                 for l in lines)
  # --verbosity=1 brings the logs back.
  loud = subprocess.run(command + ["--helpshort", "--verbosity=1"],
                        capture_output=True, text=True, env=env, timeout=300)
  assert "TensorFlow Addons" in loud.stderr


def test_console_scripts_run_the_commands(trained):
  bin_dir = os.path.dirname(sys.executable)
  script = os.path.join(bin_dir, "bert-mtl-ner")
  if not os.path.exists(script):
    pytest.skip("the package is not installed with its console scripts")
  tagged = subprocess.run([script, "predict", f"--model_dir={trained}"],
                          input="张三在北京工作。\n", capture_output=True,
                          text=True, timeout=300)
  assert tagged.returncode == 0, tagged.stderr[-2000:]
  assert json.loads(tagged.stdout)["text"] == "张三在北京工作。"
  shown = subprocess.run([os.path.join(bin_dir, "bert-mtl-ner-evaluate"),
                          "--helpshort"], capture_output=True, text=True,
                         timeout=300)
  assert "--model_dir" in shown.stdout
  bulk = subprocess.run([os.path.join(bin_dir, "bert-mtl-ner-tag-corpus"),
                         "--helpshort"], capture_output=True, text=True,
                        timeout=300)
  assert "--saved_model" in bulk.stdout and "--text_field" in bulk.stdout
  unknown = subprocess.run([script, "tagg"], capture_output=True, text=True,
                           timeout=60)
  assert unknown.returncode == 2 and "unknown command 'tagg'" in unknown.stderr


def test_progress_only_on_a_terminal(monkeypatch):

  class Terminal(io.StringIO):
    def isatty(self):
      return True

  assert not progress.shown(True, io.StringIO())
  assert progress.shown(True, Terminal())
  assert not progress.shown(False, Terminal())
  terminal = Terminal()
  monkeypatch.setattr(sys, "stderr", terminal)
  with progress.bar(10, "tagging") as bar:
    bar.update(10)
    bar.refresh()
  assert "10/10" in terminal.getvalue()


def test_predict_counts_lines_for_its_progress(tmp_path):
  path = tmp_path / "docs.txt"
  path.write_bytes("一\n二\n\n三".encode("utf-8"))
  assert io_utils.count_lines(str(path)) == 4
  path.write_bytes(b"a\nb\n")
  assert io_utils.count_lines(str(path)) == 2
  path.write_bytes(b"")
  assert io_utils.count_lines(str(path)) == 0
