"""The shipped models: they tag plain text, their cards agree with what
``evaluate`` measures and with their summaries, their files are checked, and
``ship`` packs only a run that stopped early."""

import json
import os
import shutil

import pytest

from bert_mtl_ner import evaluation
from bert_mtl_ner import run_dir
from bert_mtl_ner import shipped
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import records
from bert_mtl_ner.shipped import card
from bert_mtl_ner.shipped import choice
from bert_mtl_ner.shipped import flagfile
from conftest import REPO, run_app

SHIPPED = tuple(shipped.names())

# Sentences of our own, in no corpus here, and types each must find.
PLAIN = {
    "msra": [
        ("张三在北京大学工作。", {("张三", "PER"), ("北京大学", "ORG")}),
        ("李明昨天从上海飞到了广州。",
         {("李明", "PER"), ("上海", "LOC"), ("广州", "LOC")}),
        ("联合国秘书长访问了日本。", {("联合国", "ORG"), ("日本", "LOC")}),
    ],
    "cluener": [
        ("王小明在腾讯公司担任产品经理。",
         {("王小明", "name"), ("腾讯公司", "company"), ("产品经理", "position")}),
        ("周末我们去故宫博物院看了展览。", {("故宫博物院", "scene")}),
    ],
}


def summary_of(name):
  with open(os.path.join(shipped.ROOT, name, card.SUMMARY),
            encoding="utf-8") as stream:
    return json.load(stream)


def test_the_models_are_shipped_and_their_files_check():
  assert {"msra", "cluener"} <= set(SHIPPED)
  assert set(SHIPPED) <= set(PLAIN)  # each is tried on sentences below
  for name in SHIPPED:
    path = shipped.path(name)
    sums = shipped.read_sums(path)
    assert set(sums) == set(os.listdir(path)) - {shipped.SUMS}
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    assert size <= 20e6, f"{name}: {size} bytes"


@pytest.mark.parametrize("name", SHIPPED)
def test_no_shipped_file_holds_a_path_of_the_machine_that_packed_it(name):
  folder = os.path.join(shipped.ROOT, name)
  for file in os.listdir(folder):
    if file == shipped.WEIGHTS:
      continue  # binary
    with open(os.path.join(folder, file), "rb") as stream:
      text = stream.read()
    assert b'"/' not in text and b"`/" not in text, file


@pytest.mark.parametrize("name", SHIPPED)
def test_each_card_is_its_summary_rendered(name):
  with open(os.path.join(shipped.ROOT, name, card.CARD),
            encoding="utf-8") as stream:
    assert stream.read() == card.render(summary_of(name))


@pytest.mark.parametrize("name", SHIPPED)
def test_each_cards_rows_are_those_of_the_report_it_names(name):
  # The full report is regenerated as the grid lands: a card must name the
  # report its "why this architecture" rows were read from, and its command
  # must give that report again.
  summary = summary_of(name)
  if summary["full_report"] is None:
    assert not summary["chosen_over"]
    return
  assert f" --full_report={summary['full_report']}" in summary["command"]
  assert choice.candidates(str(REPO / summary["full_report"]),
                           summary["dataset"]) == summary["chosen_over"]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_card_reports_a_run_stopped_early_and_float16_within_0_1(name):
  summary = summary_of(name)
  # An ensemble's runs are its members.
  for training in summary["training"].get("members") or [summary["training"]]:
    assert training["stopped_by"] == "early_stopping"
    assert training["epochs_run"] < training["cap"]
    assert (training["epochs_run"] - training["best_epoch"]
            >= training["patience"])
  weights = summary["weights"]
  assert abs(weights["f1_shipped"] - weights["f1_float32"]) <= 0.1
  assert summary["scores"]["f1"] == weights["f1_shipped"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_tag_plain_sentences(name):
  texts = [text for text, _ in PLAIN[name]]
  result = run_app("predict", f"--model={name}", stdin="\n".join(texts) + "\n")
  rows = [json.loads(line) for line in result.stdout.splitlines()]
  assert [row["text"] for row in rows] == texts
  for row, (_, expected) in zip(rows, PLAIN[name]):
    found = {(e["text"], e["type"]) for e in row["entities"]}
    assert expected <= found, (row["text"], found)


@pytest.mark.parametrize("name", SHIPPED)
def test_evaluate_on_a_sample_agrees_with_the_cards_counts(name, data_dir,
                                                           tmp_path):
  summary = summary_of(name)
  limit = 60
  result = run_app("evaluate", f"--model={name}",
                   f"--dataset={summary['dataset']}",
                   f"--split={summary['split']}", f"--data_dir={data_dir}",
                   f"--limit={limit}", "--format=json",
                   f"--unseen_against={summary['dataset']}:train",
                   f"--predictions_file={tmp_path}/p.conll")
  measured = json.loads(result.stdout)
  counts = records.unpack_counts(summary["scores"]["per_sentence"])
  expected = evaluation.scores_from_counts(counts[:limit], summary["types"])
  assert measured["sentences"] == limit
  for key in ("precision", "recall", "f1", "support"):
    assert measured[key] == pytest.approx(expected[key], abs=1e-9), key
  for kind, row in expected["per_type"].items():
    assert measured["per_type"][kind]["f1"] == pytest.approx(row["f1"])
  # Names seen in training and the rest share out the gold entities.
  novelty = measured["novelty"]
  assert sum(row["support"] for row in novelty.values()) == measured["support"]


def test_an_unknown_name_gets_one_line_with_the_shipped_names():
  result = run_app("predict", "--model=nope", stdin="张三\n", check=False)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1
  assert "nope" in lines[0] and ", ".join(SHIPPED) in lines[0]


def test_model_and_model_dir_together_are_refused():
  result = run_app("evaluate", "--model=msra", "--model_dir=x",
                   "--dataset=msra", check=False)
  assert result.returncode == 2
  assert "not both" in result.stderr


def test_a_file_that_fails_its_sha256_is_named(tmp_path):
  root = tmp_path / "root"
  shutil.copytree(os.path.join(shipped.ROOT, "msra"), root / "msra")
  assert shipped.path("msra", str(root))
  vocab = root / "msra" / "vocab.txt"
  vocab.write_bytes(vocab.read_bytes() + b"x\n")
  with pytest.raises(UsageError, match=r"vocab\.txt has sha256 .* not the "
                     "recorded"):
    shipped.path("msra", str(root))
  (root / "msra" / "labels.json").unlink()
  with pytest.raises(UsageError, match=r"labels\.json is missing"):
    shipped.verify(str(root / "msra"))


def test_calibrate_leaves_a_shipped_model_as_it_is(data_dir, tmp_path):
  before = shipped.read_sums(shipped.path("msra"))
  run_app("calibrate", "--model=msra", "--dataset=msra",
          f"--data_dir={data_dir}", "--split=dev", "--limit=300",
          f"--output_dir={tmp_path}/calibration")
  assert shipped.path("msra")  # every file still checks
  assert shipped.read_sums(shipped.path("msra")) == before
  with open(tmp_path / "calibration" / "summary.json", encoding="utf-8") as f:
    assert "--limit=300" in json.load(f)["command"]


def test_ship_packs_a_run_stopped_early_and_refuses_a_capped_one(
    data_dir, tmp_path):
  flagfile = tmp_path / "tiny.cfg"
  flagfile.write_text("--model=bilstm_crf\n--dataset=cluener\n"
                      "--patience=1\n", encoding="utf-8")
  common = [f"--data_dir={data_dir}", "--train_limit=200", "--dev_limit=100",
            "--lstm_units=16", "--embedding_dim=16", "--progress=false",
            "--learning_rate=1e-2", f"--flagfile={flagfile}"]
  capped = tmp_path / "capped"
  run_app("train", *common, "--epochs=1", f"--model_dir={capped}")
  ship = ["--name=tiny", "--dataset=cluener", "--split=dev",
          f"--data_dir={data_dir}", f"--root={tmp_path}/root"]
  result = run_app("ship", f"--model_dir={capped}",
                   f"--flagfile_used={flagfile}", *ship, check=False)
  assert result.returncode == 2 and "stopped at its cap" in result.stderr
  # A flagfile that disagrees with the run is refused, naming its line.
  wrong = tmp_path / "wrong.cfg"
  wrong.write_text("--model=bilstm_crf\n--patience=3\n", encoding="utf-8")
  result = run_app("ship", f"--model_dir={capped}",
                   f"--flagfile_used={wrong}", *ship, check=False)
  assert result.returncode == 2 and "wrong.cfg:2" in result.stderr
  early = tmp_path / "early"
  run_app("train", *common, "--epochs=30", f"--model_dir={early}")
  run_app("ship", f"--model_dir={early}", f"--flagfile_used={flagfile}", *ship,
          f"--alternatives={early}")  # itself: as good, so not refused
  path = shipped.path("tiny", f"{tmp_path}/root")
  with open(os.path.join(path, card.SUMMARY), encoding="utf-8") as stream:
    summary = json.load(stream)
  assert summary["training"]["stopped_by"] == "early_stopping"
  assert summary["weights"]["dtype"] in ("float16", "float32")
  counts = records.unpack_counts(summary["scores"]["per_sentence"])
  assert counts.shape[0] == summary["speed"]["sentences"] == 1343
  assert sum(row["support"] for row in summary["scores"]["novelty"].values()
             ) == summary["unseen"]["entities"]
  assert summary["scores"]["novelty"]["unseen"]["support"] == \
      summary["unseen"]["unseen"]
  (alternative,) = summary["alternatives"]["runs"]
  assert alternative["name"] == "early" and alternative["differs"] == []
  assert alternative["dev"] == summary["alternatives"]["this"]
  assert summary["command"].endswith(" --alternatives=runs/early")
  with open(os.path.join(path, card.CARD), encoding="utf-8") as stream:
    assert stream.read() == card.render(summary)
  assert sorted(os.listdir(tmp_path / "root")) == ["tiny"]  # no staging left
  # No path of the machine that trained it.
  for name in os.listdir(path):
    if name == shipped.WEIGHTS:
      continue  # binary
    with open(os.path.join(path, name), "rb") as stream:
      assert str(tmp_path).encode() not in stream.read(), name


def test_the_flagfile_check_reads_each_line_as_the_flag_parser_does(
    tmp_path):
  path = tmp_path / "run.cfg"
  path.write_text("# a comment\n--aux_tasks=msra,peoples_daily\n--epochs=40\n"
                  "--learning_rate=2e-3\n--use_attention=true\n",
                  encoding="utf-8")
  run = {"aux_tasks": ["msra", "peoples_daily"], "epochs": 40,
         "learning_rate": 0.002, "use_attention": True}
  assert len(flagfile.check(str(path), run)) == 4
  with pytest.raises(UsageError, match=r"run\.cfg:2: --aux_tasks="):
    flagfile.check(str(path), dict(run, aux_tasks=["msra"]))
  with pytest.raises(UsageError, match=r"run\.cfg:3: --epochs"):
    flagfile.check(str(path), dict(run, epochs=30))


def _fake_run(folder, epochs_run, best_epoch, **flags_dict):
  """A model directory with flags, a dev curve and a best pointer only."""
  folder.mkdir()
  run_flags = dict({"model": "bilstm_crf", "epochs": 40, "patience": 3,
                    "model_dir": str(folder), "learning_rate": 2e-3},
                   **flags_dict)
  (folder / "flags.json").write_text(json.dumps(run_flags), encoding="utf-8")
  (folder / "metrics.jsonl").write_text("".join(
      json.dumps({"epoch": e, "dev": {"f1": 50.0 + e}}) + "\n"
      for e in range(1, epochs_run + 1)), encoding="utf-8")
  (folder / "best.json").write_text(json.dumps(
      {"epoch": best_epoch, "dev_f1": 50.0 + best_epoch}), encoding="utf-8")
  return run_flags


def test_alternatives_are_listed_and_one_better_on_unseen_names_refuses(
    tmp_path):
  this = _fake_run(tmp_path / "this", 12, 8)
  # Made before --lr_schedule existed (no such key): it was linear.
  _fake_run(tmp_path / "bigrams", 15, 10, bigram_buckets=100003)
  this["lr_schedule"] = "linear"
  scores = {
      "this": {"f1": 90.0, "novelty": {"seen": {"f1": 94.0},
                                       "unseen": {"f1": 71.5}}},
      "bigrams": {"f1": 91.8, "novelty": {"seen": {"f1": 96.1},
                                          "unseen": {"f1": 70.9}}}}
  score = lambda path: scores[os.path.basename(path)]
  chosen = choice.alternatives(str(tmp_path / "this"), this,
                               [str(tmp_path / "bigrams")], score, "dev")
  (run,) = chosen["runs"]
  assert run["name"] == "bigrams" and run["stopped_by"] == "early_stopping"
  assert run["differs"] == ["bigram_buckets=100003"]  # model_dir left out
  summary = dict(summary_of(SHIPPED[0]), alternatives=chosen)
  text = card.render(summary)
  assert "| bigrams | bigram_buckets=100003 | early_stopping | 91.80 | 70.90 |" \
      in text and "**71.50**" in text
  # The better overall dev F1 does not choose; the unseen names do.
  scores["bigrams"]["novelty"]["unseen"]["f1"] = 72.0
  with pytest.raises(UsageError, match="bigrams does better on dev names"):
    choice.alternatives(str(tmp_path / "this"), this,
                      [str(tmp_path / "bigrams")], score, "dev")


def test_a_run_that_has_not_stopped_is_refused(tmp_path):
  def check(name, epochs_run, best_epoch):
    run_flags = _fake_run(tmp_path / name, epochs_run, best_epoch)
    history = run_dir.run_history(str(tmp_path / name), run_flags)
    choice.check_stopped_early(name, history, run_flags)
    return history
  with pytest.raises(UsageError, match="has not stopped"):
    check("running", 5, 4)  # patience 3, cap 40
  with pytest.raises(UsageError, match="stopped at its cap"):
    check("capped", 40, 39)
  assert check("stopped", 9, 6)["stopped_by"] == "early_stopping"


def test_an_ensembles_alternatives_differ_from_its_nearest_member(tmp_path):
  plain = _fake_run(tmp_path / "plain", 9, 6, seed=1)
  bigrams = _fake_run(tmp_path / "bigrams", 9, 6, seed=7,
                      bigram_buckets=50021)
  ensemble = tmp_path / "ensemble"
  ensemble.mkdir()
  run_flags = {"model": "ensemble", "members": ["plain", "bigrams"]}
  (ensemble / "flags.json").write_text(json.dumps(run_flags),
                                       encoding="utf-8")
  (ensemble / "members.json").write_text(json.dumps([
      {"name": name, "flags": flags_dict,
       "history": run_dir.run_history(str(tmp_path / name), flags_dict)}
      for name, flags_dict in (("plain", plain), ("bigrams", bigrams))]),
                                         encoding="utf-8")
  assert [r["name"] for r in choice.runs_of(str(ensemble), run_flags)] == [
      "plain", "bigrams"]
  _fake_run(tmp_path / "wide", 9, 6, seed=7, bigram_buckets=50021,
            lstm_units=512)
  scores = lambda path: {"f1": 90.0, "novelty": {"unseen": {
      "f1": 80.0 if path.endswith("ensemble") else 75.0}}}
  chosen = choice.alternatives(
      str(ensemble), run_flags,
      [str(tmp_path / "bigrams"), str(tmp_path / "wide")], scores, "dev")
  member, wide = chosen["runs"]
  assert member["member"] and member["differs"] == []
  assert not wide["member"] and wide["differs"] == ["lstm_units=512"]
  text = card.render(dict(summary_of(SHIPPED[0]), alternatives=chosen))
  assert "| bigrams | one of its members, alone |" in text
