"""The experiment grid: cells, report assembly, and a small real run."""

import dataclasses
import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

from bert_mtl_ner import evaluation
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import grid as grid_lib
from bert_mtl_ner.experiments import headline
from bert_mtl_ner.experiments import plan as plan_lib
from bert_mtl_ner.experiments import presets as presets_lib
from bert_mtl_ner.experiments import pretrained
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import report as report_lib
from bert_mtl_ner.experiments import runner
from bert_mtl_ner.experiments import significance
from bert_mtl_ner.experiments import unseen
from bert_mtl_ner.experiments import workers
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun
from conftest import run_app


def test_grid_has_every_row_of_the_paper_tables():
  names = [c.name for c in grid_lib.build_grid()]
  for dataset in ("msra", "peoples_daily", "cluener"):
    for variant in ("bilstm_crf", "bert_crf", "bert_bilstm_crf", "mtl",
                    "bert_bilstm_crf_random"):
      assert f"{dataset}/{variant}" in names
  assert not [c for c in grid_lib.build_grid(random_init_rows=False)
              if c.variant == "bert_bilstm_crf_random"]
  for ablation in ("mtl_no_attention", "mtl_no_weights", "mtl_no_unlabeled"):
    assert f"cluener/{ablation}" in names
  assert len(names) == len(set(names))
  pd = [s.key for s in grid_lib.SCORINGS["peoples_daily"]]
  assert pd == ["peoples_daily_test", "peoples_daily_test_dedup"]


def test_mean_std():
  assert report_lib.mean_std([1.0, 2.0, 3.0]) == "2.00 ± 1.00"
  assert report_lib.mean_std([5.0]) == "5.00"  # one seed: no spread to show
  assert report_lib.mean_std([]) == "—"


def _fake_result(cell, seed, f1):
  scores = {s.key: {"precision": f1, "recall": f1, "f1": f1,
                    "macro_precision": f1, "macro_recall": f1,
                    "macro_f1": f1 - 1, "support": 1,
                    "per_type": {"name": {"precision": f1, "recall": f1,
                                          "f1": f1, "support": 1}}}
            for s in cell.scorings}
  return {"cell": cell.name, "dataset": cell.dataset, "variant": cell.variant,
          "label": cell.label, "seed": seed, "preset": "smoke",
          "best": {"epoch": 1, "dev_f1": f1, "epochs_run": 1},
          "scores": scores, "wall_seconds": 60.0,
          "model": {"bert": None, "bert_model": None}, "run": {"epochs": 1}}


def test_report_aggregates_seeds_and_compares_with_the_paper():
  cells = {c.name: c for c in grid_lib.build_grid()}
  results = [_fake_result(cells["msra/mtl"], s, f1)
             for s, f1 in ((1, 90.0), (2, 92.0), (3, 94.0))]
  results.append(_fake_result(cells["cluener/mtl_no_attention"], 1, 60.0))
  results.append(_fake_result(cells["cluener/mtl"], 1, 62.0))
  report = report_lib.build_report(results, {
      "preset": "smoke", "description": "d", "command": "c", "hardware": "h",
      "started": "s", "wall_seconds": 60})
  row = next(l for l in report.splitlines() if l.startswith("| MTL (+PD)"))
  assert "| 3 | 92.00 ± 2.00 |" in row and "95.86" in row
  assert "-3.86" in row
  ablation = [l for l in report.splitlines()
              if l.startswith("| MTL w/o attention (hard sharing) | ")]
  assert ablation[-1].endswith("| 59.00 | -2.00 |")
  for title in ("Table 4", "Figures 10–11", "Table 5", "Table 6", "Ablations"):
    assert title in report
  assert "[smoke preset]" in report.splitlines()[0]
  assert "- Epochs: every run took 1 epoch\n" in report
  # One epoch of a cap of one, no patience: every run hit its cap.
  assert "- Stopped by: **5 of 5 runs stopped at their epoch cap**" in report
  assert "| `msra/mtl` | 2 | 1 | 1 | 1 | **cap** | — |" in report
  results[1]["best"] = dict(results[1]["best"], stopped_by="early_stopping",
                            dev_curve=[88.0, 92.0])
  assert "| `msra/mtl` | 2 | 1 | 1 | 1 | early stopping | 88.0 92.0 |" in \
      report_lib.build_report(results, {
          "preset": "smoke", "description": "d", "command": "c",
          "hardware": "h", "started": "s", "wall_seconds": 60})
  results[0]["best"] = dict(results[0]["best"], epochs_run=4)
  assert "- Epochs: runs took 1–4 epochs" in report_lib.build_report(
      results, {"preset": "smoke", "description": "d", "command": "c",
                "hardware": "h", "started": "s", "wall_seconds": 60})


def _counted_result(cell, seed, counts, types):
  """A fake result whose scores come from per-sentence counts."""
  totals = counts.sum(axis=0)
  key = cell.scorings[0].key
  per_type = {}
  for i, t in enumerate(types):
    f1 = significance.f1_scores(totals[i:i + 1], macro=True)
    per_type[t] = {"precision": 0.0, "recall": 0.0, "f1": float(f1),
                   "support": int(totals[i, 2])}
  micro = float(significance.f1_scores(totals, macro=False))
  macro = float(significance.f1_scores(totals, macro=True))
  result = _fake_result(cell, seed, micro)
  result["scores"] = {key: {"precision": 0.0, "recall": 0.0, "f1": micro,
                            "macro_precision": 0.0, "macro_recall": 0.0,
                            "macro_f1": macro, "support": 1,
                            "sentences": len(counts), "per_type": per_type}}
  result["sentence_counts"] = {key: dict(records.pack_counts(counts),
                                         types=types)}
  return result


def test_significance_has_no_row_for_a_scoring_no_run_has():
  cells = {c.name: c for c in grid_lib.build_grid()}
  results = [_fake_result(cells[f"peoples_daily/{variant}"], 1, f1)
             for variant, f1 in (("mtl", 90.0), ("bert_crf", 80.0),
                                 ("bert_bilstm_crf", 85.0))]
  data = report_lib.report_data(results, {}, resamples=10)
  pairs = [(r["a"], r["b"], r["scoring"]) for r in data["significance"]]
  # MTL against the best single-task BERT row first (by dev F1), then the
  # other one; no row for the unseen sentences, which no run has scored.
  assert pairs == [(a, b, s) for a, b in (
      ("peoples_daily/mtl", "peoples_daily/bert_bilstm_crf"),
      ("peoples_daily/mtl", "peoples_daily/bert_crf"))
                   for s in ("peoples_daily_test", "peoples_daily_test_dedup")]


def test_full_report_pairs_seeds_bootstraps_and_matches_its_summary():
  rng = np.random.default_rng(0)
  cells = report_lib.all_cells()
  types = ["address", "name"]
  gold = rng.integers(0, 3, size=(200, 2))

  def counts(skill):  # a model finding each gold entity with prob. skill
    tp = rng.binomial(gold, skill)
    return np.stack([tp, tp + rng.integers(0, 2, size=gold.shape), gold], -1)

  results = []
  for seed in (1, 2, 3):
    results.append(_counted_result(cells["cluener/mtl"], seed, counts(0.9),
                                   types))
    results.append(_counted_result(cells["cluener/mtl_no_weights"], seed,
                                   counts(0.5), types))
  meta = {"preset": "full", "description": "d", "command": "c",
          "hardware": "h", "started": "s", "wall_seconds": 60}
  missing = [("cluener/bert_crf", 1), ("cluener/mtl_no_attention", 3)]
  data = report_lib.report_data(results, meta, missing, resamples=300)
  report = report_lib.build_report(results, meta, missing, data)
  row = next(r for r in data["significance"]
             if r["a"] == "cluener/mtl_no_weights")
  assert row["per_seed"]["seeds"] == [1, 2, 3]
  boot = row["bootstrap"]
  assert boot["delta"] < 0 and boot["high"] < 0 and boot["p"] < 0.05
  assert abs(boot["delta"] - row["per_seed"]["mean"]) < 1e-9
  # Every number of the ablation table is the summary's.
  mean = data["cells"]["cluener/mtl_no_weights"]["scores"]["cluener_dev"][
      "macro_f1"]["mean"]
  assert f"| MTL w/o sample weights | 3 | {mean:.2f} ± " in report
  assert f"{boot['delta']:+.2f} [{boot['low']:+.2f}, {boot['high']:+.2f}]" \
      in report
  # Missing cells are marked, and the paper's Table 6 fills every type.
  assert "| BERT-CRF | 0 of 1 | missing |" in report
  assert "**Incomplete**: 2 planned runs have" in report
  assert "**Incomplete**: 1 planned run has" in report_lib.build_report(
      results, meta, missing[:1], data)
  assert "| paper: MTL | 51.48 | 74.68 |" in report
  assert "(200 sentences)" in report
  json.dumps(data)  # summary.json


def test_a_small_grid_pretrains_once_and_runs_in_two_workers(
    data_dir, bert_vocab_path, tmp_path):
  stale = tmp_path / "runs" / "peoples_daily" / "bert_crf" / "seed2"
  stale.mkdir(parents=True)
  (stale / workers.CLAIM).touch()  # left by a killed grid
  flagfile = tmp_path / "pretrain.cfg"
  flagfile.write_text("\n".join([
      "# a few steps of a tiny encoder", f"--vocab_file={bert_vocab_path}",
      "--sources=cluener:test", "--max_sentences=100", "--max_seq_len=64",
      "--bert_hidden_size=32", "--bert_num_layers=1", "--bert_num_heads=2",
      "--bert_intermediate_size=64", "--batch_size=8", "--train_steps=2"]))
  args = ["--preset=smoke", f"--results_dir={tmp_path}",
          f"--data_dir={data_dir}", "--seeds=1,2", f"--pretrain={flagfile}",
          "--cells=^peoples_daily/bert_(crf|bilstm_crf_random)$",
          "--train_limit=24", "--jobs=2"]
  result = run_app("experiments", *args, timeout=900)
  assert result.stdout.count("pretraining the grid's encoder") == 1
  encoder = pretrained.cache_path(str(tmp_path / "pretrained"), str(flagfile))
  report = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
  assert "| BERT-CRF | 2 |" in report
  assert "| BERT-BiLSTM-CRF (random init) | 2 |" in report
  assert "## What pretraining adds" in report
  assert "2 steps of 8 rows" in report and "pretrained by this invocation" \
      in report
  assert "2 worker process(es) sharing the grid" in report
  # Each run records the two workers that shared the machine.
  assert re.search(r"- Trained on: .+ CPU cores, \d+ GPU\(s\); .+, 2 worker "
                   r"process\(es\) of \d+ thread\(s\) \(4 runs\)\n", report)
  # each run was trained once, by one of the two workers
  assert sorted(re.findall(r"peoples_daily/bert_crf seed \d", result.stdout)) \
      == ["peoples_daily/bert_crf seed 1", "peoples_daily/bert_crf seed 2"]
  run = tmp_path / "runs" / "peoples_daily" / "bert_crf" / "seed1"
  with open(run / "result.json", encoding="utf-8") as stream:
    saved = json.load(stream)
  assert set(saved["scores"]) == {"peoples_daily_test",
                                  "peoples_daily_test_dedup"}
  assert saved["scores"]["peoples_daily_test"]["sentences"] == 48
  assert saved["scores"]["peoples_daily_test_dedup"][
      "removed_as_duplicates"] == 2958
  assert saved["run"]["train_limit"] == 24  # the flag overrode the preset
  assert saved["run"]["bert_model"] == encoder  # the pretrained encoder
  assert saved["model"]["bert"]["hidden_size"] == 32
  assert os.path.exists(run / "peoples_daily_test_dedup.conll")
  random_init = (tmp_path / "runs" / "peoples_daily" /
                 "bert_bilstm_crf_random" / "seed1" / "result.json")
  with open(random_init, encoding="utf-8") as stream:
    assert json.load(stream)["run"]["bert_random_init"] is True

  # Again: the encoder comes from the cache and every run is kept.
  again = run_app("experiments", *args, timeout=900)
  assert "pretraining the grid's encoder" not in again.stdout
  assert "seed 1" not in again.stdout
  assert "nothing to train" in again.stdout  # and no worker started
  again_report = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
  assert "reused from the cache" in again_report
  assert "without the cached encoder (no `../shared`), about" in again_report
  assert "without the cached encoder" not in report  # it pretrained


def test_cells_must_be_a_regular_expression_that_matches_a_cell():
  names = ["msra/mtl", "cluener/mtl"]
  grid_lib.check_selection("", names)
  grid_lib.check_selection("^cluener/", names)
  with pytest.raises(UsageError, match="matches no cell.*msra/mtl, cluener"):
    grid_lib.check_selection("^weibo/", names)
  with pytest.raises(UsageError, match="not a regular expression"):
    grid_lib.check_selection("msra/(mtl", names)


def test_the_encoder_cache_is_keyed_by_the_flags_not_the_comments(tmp_path):
  first, second = tmp_path / "a" / "p.cfg", tmp_path / "b" / "p.cfg"
  for path, text in ((first, "# one\n--train_steps=5\n"),
                     (second, "# two\n\n--train_steps=5\n")):
    path.parent.mkdir()
    path.write_text(text)
  key = lambda path: os.path.basename(pretrained.cache_path("c", str(path)))
  assert key(first) == key(second) and key(first).startswith("p-")
  second.write_text("--train_steps=6\n")
  assert key(first) != key(second)
  assert not pretrained.is_complete(str(tmp_path))


def test_a_run_is_claimed_by_one_process_only(tmp_path):
  folder = str(tmp_path / "runs" / "msra" / "mtl" / "seed1")
  assert workers.claim(folder)
  assert not workers.claim(folder)
  assert workers.clear_claims(str(tmp_path)) == 1
  assert workers.claim(folder)


def test_workers_split_the_cores():
  env = workers.worker_env(jobs=2, cores=2)
  assert env["TF_NUM_INTRAOP_THREADS"] == "1"
  assert workers.worker_env(jobs=2, cores=8)["TF_NUM_INTRAOP_THREADS"] == "4"
  assert workers.worker_env(jobs=4, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1"


def test_models_page_diagram_is_the_commands_output():
  result = run_app("models")
  readme = os.path.join(os.path.dirname(__file__), "..", "docs", "models.md")
  with open(readme, encoding="utf-8") as stream:
    text = stream.read()
  block = text.split("<!-- diagram:begin -->\n```\n")[1].split("```")[0]
  assert block == result.stdout


def test_docs_run_tables_match_the_records():
  root = os.path.join(os.path.dirname(__file__), "..")
  sys.path.insert(0, os.path.join(root, "scripts"))
  import record_run  # pylint: disable=g-import-not-at-top
  folder = os.path.join(root, "docs", "runs")
  for page, begin, end, render, found in (
      (record_run.RUNS_PAGE, record_run.BEGIN, record_run.END,
       record_run.render, record_run.records_in(folder)),
      (record_run.PRETRAINING_PAGE, record_run.PRETRAINING_BEGIN,
       record_run.PRETRAINING_END, record_run.render_pretraining,
       record_run.records_in(os.path.join(folder, "pretraining")))):
    with open(os.path.join(root, page), encoding="utf-8") as stream:
      text = stream.read()
    assert found, begin
    block = text.split(begin + "\n")[1].split(end)[0]
    assert block.strip() == render(found).strip()


def test_performance_page_is_the_benchmarks_output():
  root = os.path.join(os.path.dirname(__file__), "..")
  sys.path.insert(0, os.path.join(root, "scripts"))
  import render_performance  # pylint: disable=g-import-not-at-top
  with open(os.path.join(root, render_performance.PAGE),
            encoding="utf-8") as stream:
    readme = stream.read()
  body = render_performance.section(os.path.join(root, "docs", "bench"))
  assert render_performance.render(readme, body) == readme


def test_committed_records_persist_runs_and_refuse_stale_ones(data_dir,
                                                              tmp_path):
  records_dir = tmp_path / "records"
  args = ["--preset=smoke", f"--results_dir={tmp_path / 'results'}",
          f"--record_dir={records_dir}", f"--data_dir={data_dir}",
          "--seeds=1", "--pretrain=", "--cells=^msra/bilstm_crf$",
          "--train_limit=24", "--jobs=1"]
  first = run_app("experiments", *args)
  assert "msra/bilstm_crf seed 1" in first.stdout
  path = records_dir / "runs" / "msra" / "bilstm_crf" / "seed1.json"
  text = path.read_text(encoding="utf-8")
  assert str(tmp_path) not in text and data_dir not in text  # no local paths
  record = json.loads(text)
  assert record["identity"]["train_limit"] == 24
  assert record["identity"]["encoder_sha256"] is None  # no BERT in this model
  assert record["code_version"]
  counts = records.unpack_counts(record["sentence_counts"]["msra_test"])
  assert counts.shape == (48, 3, 3)
  # The counts give the recorded scores.
  tp, predicted, gold = counts.sum(axis=(0, 1))
  f1 = 200 * tp / (predicted + gold) if predicted + gold else 0.0
  assert abs(f1 - record["scores"]["msra_test"]["f1"]) < 1e-6
  for name in ("REPORT.md", "summary.json"):
    written = (records_dir / name).read_text(encoding="utf-8")
    assert not re.search(r'[\s=`"(]/[a-z]', written), name  # no absolute path
  # --cells chose what to train; the report is still of the whole grid.
  assert "| MTL (+PD) | 0 of 1 | missing |" in (
      records_dir / "REPORT.md").read_text(encoding="utf-8")

  # A fresh machine (no results folder) with the record: nothing is trained.
  fresh = [f"--results_dir={tmp_path / 'elsewhere'}" if a.startswith(
      "--results_dir=") else a for a in args]
  again = run_app("experiments", *fresh)
  assert "seed 1" not in again.stdout
  assert not (tmp_path / "elsewhere" / "runs").exists()
  plan = run_app("experiments", *fresh, "--plan")
  assert re.search(r"msra/bilstm_crf\s+1 recorded", plan.stdout)
  (records_dir / "REPORT.md").unlink()
  # The report alone imports no TensorFlow; the machine that trained each
  # run is the one its record names.
  alone = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORFLOW, *fresh,
                          "--report"], capture_output=True, text=True,
                         timeout=300)
  assert alone.returncode == 0, alone.stderr[-3000:]
  assert alone.stdout.strip().endswith("loaded: []"), alone.stdout[-300:]
  written = (records_dir / "REPORT.md").read_text(encoding="utf-8")
  assert "| BiLSTM-CRF | 1 |" in written
  assert record["machine"]["workers"] == 1
  assert (f"- Trained on: {record['machine']['hardware']}, 1 worker "
          f"process(es) of {record['machine']['threads']} thread(s) (1 run)\n"
          ) in written
  assert "GPU(s)" in record["machine"]["hardware"]
  assert "(`--report`, nothing trained) on " in written

  # Other flags make the record stale: refused with the difference named...
  changed = fresh + ["--lstm_units=8"]
  refused = run_app("experiments", *changed, check=False)
  assert refused.returncode != 0
  assert "lstm_units: 16 -> 8" in refused.stderr
  assert "--rerun_stale" in refused.stderr
  assert json.loads(path.read_text(encoding="utf-8")) == record
  # ... or trained again with --rerun_stale.
  run_app("experiments", *changed, "--rerun_stale")
  assert json.loads(path.read_text(encoding="utf-8"))["identity"][
      "lstm_units"] == 8


def test_code_version_is_dirty_for_code_not_for_records(tmp_path):
  """The grid writes records under docs/ while it runs: that is no change of
  the code a run was made with; an edited source file is."""
  git = lambda *args: subprocess.run(
      ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
      cwd=tmp_path, check=True, capture_output=True)
  (tmp_path / "docs").mkdir()
  (tmp_path / "docs" / "seed1.json").write_text("{}", encoding="utf-8")
  (tmp_path / "model.py").write_text("A = 1\n", encoding="utf-8")
  git("init", "-q")
  git("add", ".")
  git("commit", "-qm", "start")
  clean = records.code_version(str(tmp_path))
  assert re.fullmatch(r"[0-9a-f]{12}", clean)
  (tmp_path / "docs" / "seed1.json").write_text('{"f1": 1}', encoding="utf-8")
  (tmp_path / "docs" / "seed2.json").write_text("{}", encoding="utf-8")
  assert records.code_version(str(tmp_path)) == clean
  (tmp_path / "model.py").write_text("A = 2\n", encoding="utf-8")
  assert records.code_version(str(tmp_path)) == clean + "-dirty"
  assert records.code_version(str(tmp_path / "absent")) == "unknown"


def test_plan_total_says_when_runs_have_no_estimate():
  cell = grid_lib.build_grid()[0]

  def planned(estimate):
    return plan_lib.PlannedRun(cell, 1, types.SimpleNamespace(epochs=3),
                               "todo", estimate_seconds=estimate)

  def left(*estimates):
    text = plan_lib.format_plan([planned(e) for e in estimates], "how", 2)
    return [l for l in text.splitlines() if l.startswith("left:")][0]

  assert left(3600.0, 3600.0) == ("left: 2.00 h of one worker, about 1.00 h "
                                  "with 2 workers")
  assert left(3600.0, None) == ("left: at least 1.00 h of one worker, at "
                                "least 0.50 h with 2 workers (1 run without "
                                "an estimate)")
  assert left(None, None) == "left: 2 runs, none with an estimate"


_WITHOUT_TENSORFLOW = """
import atexit, runpy, sys
atexit.register(lambda: print("loaded:", sorted(
    m for m in ("tensorflow", "sklearn") if m in sys.modules)))
sys.argv = ["experiments", *sys.argv[1:]]
runpy.run_module("bert_mtl_ner.experiments", run_name="__main__")
"""


def test_the_plan_starts_without_tensorflow(tmp_path):
  """``--plan`` reads records and flags only: neither TensorFlow nor
  scikit-learn (through seqeval) is imported: it starts without their
  import time."""
  result = subprocess.run(
      [sys.executable, "-c", _WITHOUT_TENSORFLOW, "--preset=smoke", "--plan",
       "--pretrain=", f"--results_dir={tmp_path}"],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "left:" in result.stdout
  assert result.stdout.strip().endswith("loaded: []"), result.stdout[-300:]


def test_the_chosen_best_row_gets_its_extra_seeds_planned(data_dir, tmp_path):
  """Once the first seeds decide a corpus's best single-task BERT row (the
  cpu preset gives extra seeds to it only), its extra seeds are runs to do,
  not waiting ones (waiting runs never start); an undecided corpus waits."""
  for dataset in ("msra", "peoples_daily"):  # CLUENER2020 stays undecided
    for variant, dev_f1 in (("bert_crf", 50.0), ("bert_bilstm_crf", 60.0)):
      folder = tmp_path / "runs" / dataset / variant / "seed1"
      folder.mkdir(parents=True)
      (folder / "result.json").write_text(json.dumps({
          "cell": f"{dataset}/{variant}", "seed": 1, "scores": {},
          "best": {"dev_f1": dev_f1, "epoch": 2, "epochs_run": 5},
          "wall_seconds": 60.0}), encoding="utf-8")
  plan = run_app("experiments", "--preset=cpu", "--plan",
                 f"--data_dir={data_dir}", f"--results_dir={tmp_path}")
  rows = [line.split() for line in plan.stdout.splitlines()
          if re.match(r"\S+/\S+\s+\d+\s", line)]
  extra = {(r[0], int(r[1])): r[2] for r in rows
           if r[0].split("/")[1] in ("bert_crf", "bert_bilstm_crf")
           and r[1] != "1"}
  for dataset in ("msra", "peoples_daily"):
    for seed in (2, 3):
      assert extra.pop((f"{dataset}/bert_bilstm_crf", seed)) == "todo"
  assert set(extra.values()) == {"waiting"}
  assert {cell.split("/")[0] for cell, _ in extra} == {"cluener"}
  assert len(extra) == 4


def test_a_plan_of_other_seeds_is_estimated_from_every_seeds_runs(
    data_dir, tmp_path):
  """``--seeds=2`` plans seed 2 only, but its estimate (and so what
  ``--budget_minutes`` lets start) comes from seed 1's run of the cell, not
  from the epoch cap."""
  folder = tmp_path / "runs" / "cluener" / "bilstm_crf" / "seed1"
  folder.mkdir(parents=True)
  (folder / "result.json").write_text(json.dumps({
      "cell": "cluener/bilstm_crf", "seed": 1, "scores": {},
      "best": {"dev_f1": 50.0, "epoch": 5, "epochs_run": 9,
               "stopped_by": "early_stopping"},
      "wall_seconds": 900.0}), encoding="utf-8")  # 100 s an epoch, 9 epochs
  plan = run_app("experiments", "--preset=cpu", "--plan", "--seeds=2",
                 "--cells=cluener/bilstm_crf$", f"--data_dir={data_dir}",
                 f"--results_dir={tmp_path}")
  rows = [line.split() for line in plan.stdout.splitlines()
          if re.match(r"\S+/\S+\s+\d+\s", line)]
  assert [r[:2] + r[4:6] for r in rows] == [
      ["cluener/bilstm_crf", "2", "0.25", "h"]], plan.stdout


def _planned(name, seed, state, result=None, former=None, model="mtl"):
  """A planned run of the full grid's cell ``name`` (cap 40, patience 3)."""
  cell = {c.name: c for c in grid_lib.build_grid()}[name]
  return plan_lib.PlannedRun(
      cell, seed, types.SimpleNamespace(epochs=40, patience=3, model=model),
      state, result, former=former)


def _record(epochs_run, epoch, wall, cap=40):
  """A record's fields the estimates read (patience 3)."""
  return {"best": {"epochs_run": epochs_run, "epoch": epoch},
          "identity": {"epochs": cap, "patience": 3}, "wall_seconds": wall}


def test_estimates_use_stale_records_and_the_epochs_early_stopping_took():
  """A run is estimated from the seconds per epoch of its cell's finished
  runs, else of its stale record, times the median epochs of the runs that
  stopped early (the cap while none has): its model's own median once it has
  three such runs, else every model's."""
  planned, record = _planned, _record
  former = record(10, 6, 1000.0)  # 100 s per epoch, stopped early
  plan = [planned("msra/mtl", 1, "stale", former=former)]
  how = plan_lib.add_estimates(plan, None)
  assert plan[0].estimate_seconds == 100.0 * 40 and "upper bound" in how
  plan = [planned("msra/mtl", 1, "stale", former=former),
          planned("cluener/mtl", 1, "recorded", record(8, 5, 800.0)),
          planned("cluener/mtl", 2, "recorded", record(12, 9, 800.0)),
          # A capped run says nothing of when early stopping ends a run.
          planned("cluener/mtl", 3, "recorded", record(40, 40, 800.0))]
  how = plan_lib.add_estimates(plan, None)
  assert plan[0].estimate_seconds == 100.0 * 10 and "mtl 10" in how
  # One long run of another model moves the median of two MTL runs; the
  # next seed of a finished cell costs its seconds per epoch, not its time.
  plan = [planned("msra/mtl", 1, "stale", former=former),
          planned("cluener/mtl", 1, "recorded", record(8, 5, 800.0)),
          planned("cluener/mtl", 2, "recorded", record(12, 9, 1200.0)),
          planned("cluener/mtl", 3, "todo"),
          planned("msra/bert_crf", 1, "recorded", record(30, 27, 3000.0),
                  model="bert_crf")]
  how = plan_lib.add_estimates(plan, None)
  assert [r.estimate_seconds for r in plan] == [1200.0, 800.0, 1200.0,
                                                1200.0, 3000.0]
  assert "mtl 12 (2 runs)" in how and "bert_crf 12 (1 run)" in how
  # A third MTL run gives the model its own median.
  plan[3] = planned("cluener/mtl", 3, "recorded", record(9, 6, 900.0))
  plan.append(planned("peoples_daily/mtl", 1, "todo"))
  plan_lib.add_estimates(plan, None)
  assert plan[0].estimate_seconds == 100.0 * 9
  assert plan[-1].estimate_seconds is None  # no rate at all for its cell


def test_stale_rates_are_scaled_by_how_far_finished_runs_drifted_from_them():
  """A cell known only from stale records is estimated at their seconds per
  epoch times the median, over the cells that have both, of finished over
  stale seconds per epoch (stale records were timed under other code and
  loads); a cell with finished runs keeps its own rate."""
  stale = lambda wall: _record(10, 6, wall)  # stopped early after 10 epochs
  plan = [
      _planned("msra/mtl", 1, "recorded", _record(10, 6, 2000.0)),
      _planned("msra/mtl", 2, "stale", former=stale(1000.0)),  # 2x
      _planned("cluener/mtl", 1, "recorded", _record(10, 6, 3000.0)),
      _planned("cluener/mtl", 2, "stale", former=stale(1000.0)),  # 3x
      _planned("cluener/bert_crf", 1, "recorded", _record(10, 6, 4000.0),
               model="bert_crf"),
      _planned("cluener/bert_crf", 2, "stale", former=stale(1000.0)),  # 4x
      _planned("peoples_daily/mtl", 1, "stale", former=stale(500.0))]
  how = plan_lib.add_estimates(plan, None)
  assert plan[-1].estimate_seconds == 50.0 * 3 * 10  # median drift 3
  assert plan[1].estimate_seconds == 200.0 * 10  # its own finished run's rate
  assert "times 3.00 (median over the 3 cells" in how


def test_a_cell_without_runs_borrows_its_models_rate_scaled_by_epoch_cost():
  """A cell with no finished run takes the seconds per epoch of the finished
  cells of its model, on its corpus when there are any, scaled by how much
  more an epoch of it costs at the measured rates (the auxiliary sentences an
  uncapped run trains on): before its stale records, timed under other code
  and machines."""
  throughput = {"command": "bench", "rates": {
      f"{d}/{m}": {"train": 100.0, "predict": 1000.0}
      for d in ("msra", "peoples_daily", "cluener")
      for m in ("mtl", "bilstm_crf")}, "sizes": {
          "cluener:train": 1000, "cluener:dev": 100, "cluener:test": 100,
          "msra:train": 4000, "msra:dev": 300, "msra:test": 300,
          "peoples_daily:train": 2000, "peoples_daily:dev": 200,
          "peoples_daily:test": 200}}

  def planned(name, state, result=None, former=None, model="mtl",
              aux_ratio=1.0):
    cell = {c.name: c for c in grid_lib.build_grid(
        extra=("mtl_uncapped",))}[name]
    aux = {"cluener": ["msra", "peoples_daily"], "msra": ["peoples_daily"],
           "peoples_daily": ["msra"]}[cell.dataset] if model == "mtl" else []
    run = types.SimpleNamespace(
        epochs=40, patience=3, model=model, aux_tasks=aux,
        aux_ratio=aux_ratio, unlabeled="cluener:test"
        if model == "mtl" and cell.dataset == "cluener" else None)
    return plan_lib.PlannedRun(cell, 1, run, state, result, former=former)

  plan = [planned("cluener/mtl", "recorded", _record(10, 7, 4000.0)),
          planned("peoples_daily/mtl", "recorded", _record(10, 7, 9000.0)),
          planned("msra/bilstm_crf", "recorded", _record(10, 7, 1000.0),
                  model="bilstm_crf"),
          # Its stale record (50 s an epoch) is not used: cluener/mtl is.
          planned("cluener/mtl_no_attention", "stale",
                  former=_record(10, 6, 500.0)),
          planned("cluener/mtl_uncapped", "todo", aux_ratio=0.0),
          planned("peoples_daily/bilstm_crf", "todo", model="bilstm_crf")]
  how = plan_lib.add_estimates(plan, throughput)
  # An epoch of cluener/mtl trains 1000 + 1000 sentences (the auxiliary cap)
  # and tags 100 + 6000 + 2 * 100; uncapped, it trains 1000 + 6100.
  capped, uncapped = 2000 / 100 + 6300 / 1000, 7100 / 100 + 6300 / 1000
  epochs = 10  # the median of the runs that stopped early
  no_attention, no_cap, bilstm = (r.estimate_seconds for r in plan[3:])
  assert no_attention == pytest.approx(400.0 * epochs)
  assert no_cap == pytest.approx(400.0 * uncapped / capped * epochs)
  # No BiLSTM-CRF cell on People's Daily: MSRA's, at their costs' ratio.
  assert bilstm == pytest.approx(100.0 * (20 + 0.2) / (40 + 0.3) * epochs)
  assert "(3 cells)" in how
  # Without measured rates no cost compares two cells: the stale record.
  plan_lib.add_estimates(plan, None)
  assert plan[3].estimate_seconds == 50.0 * epochs
  assert plan[4].estimate_seconds is None


def test_a_capped_stale_record_raises_the_epochs_its_cell_is_expected_to_take():
  """A cell whose stale record its cap stopped while still improving needs at
  least that record's best epoch plus patience, whatever the median says."""
  finished = [_planned("cluener/mtl", seed, "recorded", _record(*ran))
              for seed, ran in enumerate([(8, 5, 800.0), (10, 7, 1000.0),
                                          (9, 6, 900.0)], 1)]  # median 9
  improving = _record(10, 10, 1000.0, cap=10)  # 100 s per epoch
  plan = [_planned("peoples_daily/mtl", 1, "stale", former=improving)]
  how = plan_lib.add_estimates(plan + finished, None)
  assert plan[0].estimate_seconds == 100.0 * (10 + 3)
  assert "stale records that their cap stopped (1 cell)" in how
  # Its best epoch well before the cap: early stopping ended it, no floor.
  plan = [_planned("peoples_daily/mtl", 1, "stale",
                   former=_record(10, 4, 1000.0, cap=10))]
  how = plan_lib.add_estimates(plan + finished, None)
  assert plan[0].estimate_seconds == 100.0 * 9
  assert "cap stopped" not in how
  # Once early stopping has ended a run of the cell itself, that run says how
  # long the cell trains: the capped record's floor goes.
  plan = [_planned("peoples_daily/mtl", 1, "recorded", _record(9, 6, 900.0)),
          _planned("peoples_daily/mtl", 2, "stale", former=improving)]
  how = plan_lib.add_estimates(plan + finished, None)
  assert plan[1].estimate_seconds == 100.0 * 9
  assert "cap stopped" not in how


def test_the_plan_puts_claim_rows_first_then_ablations_then_the_rest(
    data_dir, tmp_path):
  plan = run_app("experiments", "--preset=full", "--plan",
                 f"--data_dir={data_dir}", f"--record_dir={tmp_path}")
  cells = [line.split()[0] for line in plan.stdout.splitlines()[1:]
           if re.match(r"\S+/\S+\s+\d+\s", line)]
  full = presets_lib.get_preset("full")
  ranks = [plan_lib.priority(grid_lib.Cell(*c.split("/"), label=""), full)
           for c in cells]
  assert ranks == sorted(ranks) and set(ranks) == {0, 1, 2}
  assert cells[0] == "msra/bert_crf" and "cluener/mtl_no_weights" in cells
  assert plan_lib.priority(grid_lib.Cell("msra", "mtl_clean", ""), full) == 0
  assert plan_lib.priority(grid_lib.Cell("msra", "bilstm_crf", ""), full) == 2


def test_unseen_scores_come_from_the_full_tests_counts():
  rng = np.random.default_rng(0)
  gold = rng.integers(0, 4, size=(10, 2))
  counts = np.stack([rng.binomial(gold, 0.5), gold, gold], -1)
  packed = dict(records.pack_counts(counts), types=["LOC", "PER"])
  run = {"cell": "peoples_daily/mtl", "seed": 1, "scores": {
      "peoples_daily_test": {"f1": 0.0}}, "sentence_counts": {
          "peoples_daily_test": packed}}
  mask = [i % 3 == 0 for i in range(10)]
  [derived, untouched] = unseen.with_unseen_scores(
      [run, {**run, "sentence_counts": {"peoples_daily_test": dict(
          packed, shape=[9, 2, 3])}}], mask)
  assert unseen.KEY not in run["scores"]  # the input is not changed
  expected = evaluation.scores_from_counts(counts[np.array(mask)],
                                           ["LOC", "PER"])
  assert derived["scores"][unseen.KEY]["f1"] == expected["f1"]
  assert derived["scores"][unseen.KEY]["sentences"] == 4
  assert records.unpack_counts(derived["sentence_counts"][unseen.KEY]).shape \
      == (4, 2, 3)
  assert unseen.KEY not in untouched["scores"]  # counts of another test


def test_claims_say_better_only_when_interval_and_seeds_agree():
  cell = lambda variant, label, stops: {
      "label": label, "variant": variant, "seeds": [1, 2, 3],
      "missing_seeds": 0, "stopped_by": stops}
  early = ["early_stopping"] * 3
  def summary(deltas, low, high, stops=early):
    return {"meta": {}, "best_single_task": {"msra": "msra/bert_crf"},
            "cells": {
        "msra/mtl": cell("mtl", "MTL", stops),
        "msra/bert_crf": cell("bert_crf", "BERT-CRF", early)},
            "significance": [{
                "a": "msra/mtl", "b": "msra/bert_crf", "scoring": "msra_test",
                "metric": "f1", "per_seed": {"deltas": deltas,
                                             "mean": float(np.mean(deltas))},
                "bootstrap": {"delta": float(np.mean(deltas)), "low": low,
                              "high": high, "p": 0.01}}]}
  assert "3 and 3 seeds; 0 of 6 runs stopped at the epoch cap): better;" in \
      headline.claims(summary([0.5, 0.7, 0.2], 0.1, 0.9))
  # The same numbers with a run cut short by the cap: no verdict.
  capped = headline.claims(summary([0.5, 0.7, 0.2], 0.1, 0.9,
                                   ["early_stopping", "cap", "early_stopping"]))
  assert "1 of 6 runs stopped at the epoch cap): not called" in capped
  assert "better" not in capped
  assert "no difference shown" in headline.claims(
      summary([0.5, -0.1, 0.2], 0.1, 0.9))  # one seed disagrees
  assert "no difference shown" in headline.claims(
      summary([0.5, 0.7, 0.2], -0.1, 0.9))  # the interval holds 0
  assert "epoch cap): worse;" in headline.claims(summary([-1.0, -2.0, -0.5],
                                                        -2.5, -0.2))
  assert "CLUENER2020**: MTL against the best single-task BERT row: not run " \
      "yet" in headline.claims(summary([1.0], 0.1, 0.9))


def _verdict_summary(delta, stops, missing_seeds=0):
  """A report's summary with one claim (MSRA: MTL against BERT-CRF), two
  seeds a side whose differences are all ``delta``."""
  cell = lambda variant: {"label": variant, "variant": variant,
                          "seeds": [1, 2], "missing_seeds": missing_seeds}
  return {"meta": {}, "best_single_task": {"msra": "msra/bert_crf"},
          "cells": {"msra/mtl": cell("mtl"), "msra/bert_crf": cell(
              "bert_crf")},
          "runs": [{"cell": c, "seed": s, "stopped_by": stops}
                   for c in ("msra/mtl", "msra/bert_crf") for s in (1, 2)],
          "significance": [{
              "a": "msra/mtl", "b": "msra/bert_crf", "scoring": "msra_test",
              "metric": "f1", "per_seed": {"deltas": [delta, delta],
                                           "mean": delta},
              "bootstrap": {"delta": delta, "low": delta - 0.5,
                            "high": delta + 0.5, "p": 0.01}}]}


def test_the_readme_says_where_the_cpu_presets_verdicts_differ():
  summary = _verdict_summary
  better, worse = summary(2.0, "early_stopping"), summary(-2.0,
                                                          "early_stopping")
  assert headline.verdicts(better)[
      "MSRA: MTL − the best single-task BERT row"] == "better"
  line = headline.verdict_line(better, worse)
  # The two claims neither report measured compare nothing.
  assert "on the 3 claims above: **a different verdict on 1** (" in line
  assert "no comparison yet on 2" in line and "same verdict" not in line
  assert "MSRA: MTL − the best single-task BERT row: cpu preset better, " \
      "full preset worse" in line
  same = headline.verdict_line(better, summary(1.5, "early_stopping"))
  assert "the same verdict on 1 (1 better)" in same
  # A capped run takes the verdict away, on either side.
  capped = headline.verdict_line(summary(2.0, "cap"), better)
  assert "no comparison yet on 3, where one preset calls nothing" in capped
  assert "cpu preset not called, full preset better" in capped
  assert "different verdict" not in capped
  # So does a verdict of one seed pair: its training noise is not measured.
  one = summary(-2.0, "early_stopping")
  one["significance"][0]["per_seed"]["deltas"] = [-2.0]
  assert headline.verdicts(one)[
      "MSRA: MTL − the best single-task BERT row"] == "worse (one seed pair)"
  single = headline.verdict_line(better, one)
  assert "cpu preset better, full preset worse (one seed pair)" in single
  assert "no comparison yet on 3" in single and "different" not in single
  assert "no comparison yet on 3" in headline.verdict_line(one, one)
  # And one of a pair with seeds still to run: they may change it.
  partial = headline.verdict_line(better, summary(1.5, "early_stopping", 1))
  assert "cpu preset better, full preset better (seeds missing)" in partial
  assert "no comparison yet on 3" in partial and "same verdict" not in partial
  assert headline.verdict_line(None, better) == ""


def test_the_readme_says_which_former_verdicts_survived_convergence():
  claim = "MSRA: MTL − the best single-task BERT row"
  # The former grid's verdicts stand as it called them, capped runs and all.
  former = _verdict_summary(-2.0, "cap")
  assert headline.verdicts(former)[claim] == "not called"
  assert headline.verdicts(former, heed_cap=False)[claim] == "worse"
  survived = headline.convergence_line(
      former, _verdict_summary(-1.0, "early_stopping"))
  assert "on the 3 claims above: the same verdict on 1 (1 worse)" in survived
  assert "different verdict" not in survived
  changed = headline.convergence_line(
      former, _verdict_summary(1.0, "early_stopping"))
  assert f"**a different verdict on 1** ({claim}: then worse, now better)" \
      in changed
  # A converged pair with seeds still to run settles nothing yet.
  partial = headline.convergence_line(
      former, _verdict_summary(-1.0, "early_stopping", missing_seeds=1))
  assert headline.verdicts(_verdict_summary(
      0.0, "early_stopping", missing_seeds=1))[claim] == \
      "no difference shown" + headline.SEEDS_MISSING
  assert "not settled yet on 3" in partial and "same verdict" not in partial
  assert f"{claim}: then worse, now worse (seeds missing)" in partial
  assert headline.convergence_line(None, former) == ""


def test_claims_report_the_cap_on_auxiliary_batches_once_it_ran():
  cells = {"peoples_daily/mtl": {"label": "MTL", "variant": "mtl",
                                 "seeds": [1, 2, 3], "missing_seeds": 0},
           "peoples_daily/mtl_uncapped": {
               "label": "MTL, no cap", "variant": "mtl_uncapped",
               "seeds": [1], "missing_seeds": 0}}

  def pair(scoring, delta):
    return {"a": "peoples_daily/mtl_uncapped", "b": "peoples_daily/mtl",
            "scoring": scoring, "metric": "f1",
            "per_seed": {"deltas": [delta], "mean": delta},
            "bootstrap": {"delta": delta, "low": delta - 0.5,
                          "high": delta + 0.5, "p": 0.01}}

  text = headline.claims({"meta": {}, "cells": cells, "significance": [
      pair("peoples_daily_test", 2.0), pair(headline.UNSEEN, -3.0)]})
  cap = [l for l in text.splitlines() if "cap on auxiliary" in l]
  assert len(cap) == 1
  assert "without the cap − with it: People's Daily: +2.00 F1 on the full " \
      "test" in cap[0] and "CLUENER2020" not in cap[0]
  assert "1 and 3 seeds; 0 of 0 runs stopped at the epoch cap): better (one " \
      "seed pair" in cap[0]
  assert "unseen in MSRA train: -3.00 F1 on them" in cap[0]
  assert "cap on auxiliary" not in headline.claims(
      {"meta": {}, "cells": cells, "significance": []})
  # CLUENER2020's pair, once it ran, joins the same bullet.
  cells.update({c.replace("peoples_daily", "cluener"): dict(
      v, label=v["label"]) for c, v in cells.items()})
  cluener = dict(pair("cluener_dev", 1.0), a="cluener/mtl_uncapped",
                 b="cluener/mtl", metric="macro_f1")
  text = headline.claims({"meta": {}, "cells": cells, "significance": [
      pair("peoples_daily_test", 2.0), cluener]})
  cap = [l for l in text.splitlines() if "cap on auxiliary" in l]
  assert len(cap) == 1 and "; CLUENER2020: +1.00 macro F1 on dev" in cap[0]


def test_readme_headline_is_the_committed_reports():
  root = os.path.join(os.path.dirname(__file__), "..")
  sys.path.insert(0, os.path.join(root, "scripts"))
  import render_readme  # pylint: disable=g-import-not-at-top
  with open(os.path.join(root, "README.md"), encoding="utf-8") as stream:
    readme = stream.read()
  assert render_readme.render(readme) == readme
  assert "| MSRA test F1 | MTL | 95.86 |" in readme


def test_the_readme_gpu_guide_command_starts_and_writes_a_report(
    data_dir, bert_vocab_path, tmp_path):
  """The guide's own command, on CPU, with a random encoder of
  bert-base-chinese's published sizes and tiny limits."""
  root = os.path.join(os.path.dirname(__file__), "..")
  with open(os.path.join(root, "README.md"), encoding="utf-8") as stream:
    block = stream.read().split("<!-- gpu-command:begin -->")[1].split(
        "<!-- gpu-command:end -->")[0]
  command = next(l for l in block.splitlines()
                 if l.startswith("./run_experiments.sh")).split()
  encoder = tmp_path / "bert-base-chinese"
  encoder.mkdir()
  (encoder / "config.json").write_text(json.dumps({
      "model_type": "bert", "vocab_size": 21128, "hidden_size": 768,
      "num_hidden_layers": 12, "num_attention_heads": 12,
      "intermediate_size": 3072, "max_position_embeddings": 512,
      "type_vocab_size": 2, "hidden_act": "gelu"}))
  (encoder / "vocab.txt").write_text(
      open(bert_vocab_path, encoding="utf-8").read(), encoding="utf-8")
  args = [a.replace("models/bert-base-chinese", str(encoder))
          for a in command[1:]]
  assert "--preset=paper" in args
  tiny = ["--bert_random_init", "--cells=^msra/bert_crf$", "--seeds=1",
          "--train_limit=4", "--dev_limit=2", "--eval_limit=2", "--epochs=1",
          "--batch_size=2", "--max_seq_len=24", f"--data_dir={data_dir}",
          f"--results_dir={tmp_path / 'results'}", "--jobs=1"]
  run_app("experiments", *args, *tiny, timeout=900)
  report = (tmp_path / "results" / "REPORT.md").read_text(encoding="utf-8")
  assert "[paper preset]" in report and "| BERT-CRF | 1 |" in report
  saved = json.loads((tmp_path / "results" / "runs" / "msra" / "bert_crf" /
                      "seed1" / "result.json").read_text(encoding="utf-8"))
  assert saved["model"]["bert"]["num_hidden_layers"] == 12
  assert saved["model"]["bert"]["hidden_size"] == 768


def test_shards_together_train_the_whole_grid_once(data_dir, tmp_path):
  args = ["--preset=smoke", f"--data_dir={data_dir}", "--seeds=1,2,3",
          "--pretrain=", "--cells=^msra/bilstm_crf$",
          "--train_limit=24", "--jobs=1", "--progress=false"]
  trained = []
  for part in ("0/2", "1/2"):
    plan = run_app("experiments", *args, f"--shard={part}", "--plan",
                   f"--results_dir={tmp_path / part[0]}",
                   f"--record_dir={tmp_path / 'sharded'}")
    assert f"shard {part}:" in plan.stdout
    result = run_app("experiments", *args, f"--shard={part}",
                     f"--results_dir={tmp_path / part[0]}",
                     f"--record_dir={tmp_path / 'sharded'}")
    runs = re.findall(r"\] (\S+ seed \d)", result.stdout)
    planned = re.findall(r"^(\S+/\S+)\s+(\d)\s+todo", plan.stdout, re.M)
    assert sorted(runs) == sorted(f"{c} seed {s}" for c, s in planned)
    trained.append(set(runs))
  assert trained[0] and trained[1] and not trained[0] & trained[1]
  whole = run_app("experiments", *args, f"--results_dir={tmp_path / 'w'}",
                  f"--record_dir={tmp_path / 'whole'}")
  assert trained[0] | trained[1] == set(
      re.findall(r"\] (\S+ seed \d)", whole.stdout))

  def records_of(folder):
    found = {}
    for path in sorted((folder / "runs").rglob("*.json")):
      found[str(path.relative_to(folder))] = json.loads(
          path.read_text(encoding="utf-8"))["scores"]
    return found

  assert len(records_of(tmp_path / "whole")) == 3
  assert records_of(tmp_path / "sharded") == records_of(tmp_path / "whole")
  run_app("experiments", *args, "--report", f"--results_dir={tmp_path / 'x'}",
          f"--record_dir={tmp_path / 'sharded'}")
  report = (tmp_path / "sharded" / "REPORT.md").read_text(encoding="utf-8")
  assert "| BiLSTM-CRF | 3 |" in report


def test_shard_is_stable_and_checked():
  assert grid_lib.parse_shard("") is None
  assert grid_lib.parse_shard("1/4") == (1, 4)
  for bad in ("4/4", "a/2", "1"):
    with pytest.raises(UsageError, match="--shard"):
      grid_lib.parse_shard(bad)
  names = [(f"c{i}", s) for i in range(30) for s in (1, 2, 3)]
  parts = [grid_lib.shard_of(n, s, 3) for n, s in names]
  assert parts == [grid_lib.shard_of(n, s, 3) for n, s in reversed(names)][::-1]
  assert set(parts) == {0, 1, 2}


def test_what_stopped_a_run():
  record = lambda ran, best, cap=10, patience=3, said=None: {
      "best": dict({"epochs_run": ran, "epoch": best},
                   **({"stopped_by": said} if said else {})),
      "identity": {"epochs": cap, "patience": patience}}
  assert records.stopped_by(record(6, 3)) == "early_stopping"  # before the cap
  assert records.stopped_by(record(10, 7)) == "early_stopping"  # 3 flat epochs
  assert records.stopped_by(record(10, 8)) == "cap"  # still within patience
  assert records.stopped_by(record(10, 10)) == "cap"
  assert records.stopped_by(record(10, 2, patience=0)) == "cap"
  assert records.stopped_by(record(10, 10, said="early_stopping")) == \
      "early_stopping"  # what the run itself recorded
  assert records.stopped_by({"best": None, "identity": {}}) is None
  summary = {"meta": {"preset": "full"}, "runs": [
      {"cell": "msra/mtl", "seed": s, "stopped_by": stop,
       "scores": {"msra_test": {"f1": 90.0}}}
      for s, stop in ((1, "cap"), (2, "early_stopping"))]}
  assert headline._mean(summary, "msra/mtl", "msra_test", "f1") == \
      "90.00 (2 seeds, **1 capped**)"
  summary["cells"] = {"msra/mtl": {"missing_seeds": 1}}
  assert headline._mean(summary, "msra/mtl", "msra_test", "f1") == \
      "90.00 (2 of 3 seeds, **1 capped**)"
  # A report from before runs said: judged by its preset's cap (smoke: 1
  # epoch, no patience), while the preset is the one it describes.
  smoke = presets_lib.get_preset("smoke")
  old = {"meta": {"preset": "smoke", "description": smoke.description},
         "runs": [{"cell": "msra/mtl", "seed": 1,
                   "best": {"epoch": 1, "epochs_run": 1},
                   "scores": {"msra_test": {"f1": 50.0}}}]}
  assert headline._mean(old, "msra/mtl", "msra_test", "f1") == \
      "50.00 (1 seed, **all capped**)"
  old["meta"]["description"] = "smoke preset as it was once"
  assert headline._mean(old, "msra/mtl", "msra_test", "f1") == \
      "50.00 (1 seed, **not known if capped**)"


def test_the_clean_multi_task_cells_exclude_their_evaluation_text():
  cells = {c.name: c for c in grid_lib.build_grid(extra=("mtl_clean",))}
  for dataset in ("msra", "peoples_daily"):
    clean = dict(cells[f"{dataset}/mtl_clean"].overrides)
    assert clean["aux_exclude"] == (f"{dataset}:dev", f"{dataset}:test")
    mtl = dict(cells[f"{dataset}/mtl"].overrides)
    assert {k: v for k, v in clean.items() if k != "aux_exclude"} == mtl
  assert "cluener/mtl_clean" not in cells
  assert "msra/mtl_clean" not in {c.name for c in grid_lib.build_grid()}
  full = presets_lib.get_preset("full")
  assert presets_lib.seeds_of(full, "msra/mtl_clean", full.seeds) == (1, 2, 3)
  assert "mtl_clean" in full.extra_cells
  # A record made before the flag existed still matches a plan without it.
  assert records.differences({"epochs": 3}, {"epochs": 3,
                                             "aux_exclude": []}) == []
  assert records.differences({"epochs": 3}, {"epochs": 3, "aux_exclude": [
      "msra:dev"]}) == ["aux_exclude: [] -> ['msra:dev']"]


def test_the_cpu_column_gives_the_wall_time_with_and_without_the_cache():
  """A grid that reused the cached encoder also says how long it would have
  taken pretraining it first: its whole pretraining, scaled up when the
  recorded invocation resumed part-way."""
  meta = {"wall_seconds": 600.0, "pretraining": {
      "reused": True, "wall_seconds": 1800.0, "steps": 100, "resumed_at": 25}}
  assert report_lib.without_cache_seconds(meta) == 600.0 + 2400.0
  assert headline.took({"meta": meta}) == \
      "10 min, about 50 min without `../shared`; "
  pretrained_here = dict(meta, pretraining=dict(meta["pretraining"],
                                                reused=False))
  assert report_lib.without_cache_seconds(pretrained_here) is None
  assert headline.took({"meta": pretrained_here}) == "10 min; "
  assert headline.took({"meta": dict(meta, report_only=True)}) == ""
  assert headline.took(None) == ""


def test_a_record_gives_what_aux_exclude_removed_and_the_earlier_epochs_time(
    data_dir, tmp_path, monkeypatch):
  """The record takes the training's ``aux_removed`` as it is (not a scoring's
  count of duplicates) and counts the epochs a process before a resume ran."""
  smoke = dataclasses.replace(presets_lib.get_preset("smoke"),
                              record_dir=None)
  base = TrainRun(**dict(smoke.overrides, data_dir=data_dir, train_limit=24))
  cell = {c.name: c for c in grid_lib.build_grid()}["msra/bilstm_crf"]
  trained = run_lib.train

  def resumed_with_exclusions(run):
    best = trained(run)
    best.update(aux_removed={"peoples_daily": 7, "unlabeled": 2},
                earlier_seconds=5000.0)
    return best

  monkeypatch.setattr(runner.run_lib, "train", resumed_with_exclusions)
  result = runner.run_cell(base, cell, 1, smoke, str(tmp_path))
  assert result["aux_removed"] == {"peoples_daily": 7, "unlabeled": 2}
  assert 5000 < result["train_seconds"] <= result["wall_seconds"] < 5000 + 600
  assert "earlier_seconds" not in result["best"]


def test_the_report_says_what_the_clean_multi_task_runs_left_out():
  cells = {c.name: c for c in grid_lib.build_grid(extra=("mtl_clean",))}
  meta = {"preset": "smoke", "description": "d", "command": "c",
          "hardware": "h", "started": "s", "wall_seconds": 60}
  results = [_fake_result(cells["msra/mtl"], 1, 90.0)]
  assert "sentences removed" not in report_lib.build_report(results, meta)
  for seed, removed in ((2, 1230), (1, 1227)):
    results.append(dict(_fake_result(cells["msra/mtl_clean"], seed, 88.0),
                        aux_removed={"peoples_daily": removed,
                                     "unlabeled": 3}))
  report = report_lib.build_report(results, meta)
  assert ("sentences removed: seed 1: 1227 from peoples_daily, 3 from "
          "unlabeled; seed 2: 1230 from peoples_daily, 3 from unlabeled."
          ) in report
  assert "a sentence of MSRA dev or test" in report
  assert "a sentence of People's Daily dev or test" not in report


def test_the_report_gives_the_hours_its_missing_runs_still_need():
  cells = {c.name: c for c in grid_lib.build_grid(extra=("mtl_uncapped",))}
  plan = [plan_lib.PlannedRun(cells[name], seed,
                              types.SimpleNamespace(epochs=3), state,
                              estimate_seconds=estimate)
          for name, seed, state, estimate in (
              ("msra/mtl", 1, "recorded", 9000.0),
              ("msra/mtl", 2, "todo", 7200.0),
              ("msra/mtl", 3, "stale", 3600.0),
              ("cluener/mtl_uncapped", 1, "todo", None))]
  left = plan_lib.work_left(plan)
  assert left["cells"] == {"msra/mtl": {"seeds": [2, 3], "seconds": 10800.0},
                           "cluener/mtl_uncapped": {"seeds": [1],
                                                    "seconds": None}}
  meta = {"preset": "smoke", "description": "d", "command": "c",
          "hardware": "h", "started": "s", "wall_seconds": 60, "jobs": 2,
          "left": left}
  missing = [("msra/mtl", 2), ("msra/mtl", 3), ("cluener/mtl_uncapped", 1)]
  report = report_lib.build_report(
      [_fake_result(cells["msra/mtl"], 1, 90.0)], meta, missing)
  assert "| `msra/mtl` | 2, 3 | 3.00 |" in report
  assert "| `cluener/mtl_uncapped` | 1 | ? |" in report
  assert ("at least 3.00 h of one worker, at least 1.50 h with 2 workers "
          "(1 run without an estimate)") in report


def test_report_refuses_without_the_encoder_its_records_name(tmp_path):
  refused = run_app("experiments", "--preset=smoke", "--report",
                    f"--results_dir={tmp_path}",
                    f"--pretrain_cache={tmp_path / 'none'}", check=False)
  assert refused.returncode != 0
  assert "no encoder pretrained by" in refused.stderr
  assert not (tmp_path / "REPORT.md").exists()


def test_the_claims_say_how_far_the_grid_is(tmp_path):
  summary = {"meta": {"preset": "full", "jobs": 2, "left": {
      "runs": 2, "estimated": 2, "seconds": 7200.0,
      "cells": {"msra/mtl": {"seeds": [2, 3], "seconds": 7200.0}}}},
             "cells": {}, "significance": [], "runs": [
                 {"cell": "msra/mtl", "seed": 1, "stopped_by": "cap",
                  "scores": {}}]}
  assert ("- **The full grid so far**: 1 of 3 runs recorded, 1 of them "
          "stopped at their epoch cap; 2.00 h of one worker, about 1.00 h "
          "with 2 workers left") in headline.claims(summary)
  summary["meta"]["left"]["runs"] = 0
  assert "so far" not in headline.claims(summary)
  # The former full grid has a column while its report is kept.
  assert len(headline.readme_columns(str(tmp_path))) == 2
  former = tmp_path / "docs" / "results" / headline.FORMER_FULL
  former.mkdir(parents=True)
  (former / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
  names = [name for name, _ in headline.readme_columns(str(tmp_path))]
  assert len(names) == 3 and "former full grid" in names[1]
  # ... and the full grid misses runs: once it has them all, it goes.
  full = tmp_path / "docs" / "results" / "full"
  full.mkdir(parents=True)
  for missing in ([{"cell": "msra/mtl", "seed": 2}], []):
    (full / "summary.json").write_text(json.dumps(dict(
        summary, missing=missing)), encoding="utf-8")
    names = [name for name, _ in headline.readme_columns(str(tmp_path))]
    assert len(names) == (3 if missing else 2), missing


def test_a_claim_whose_multi_task_runs_have_not_run_names_its_pair():
  cells = {name: {"label": label, "variant": name.split("/")[1],
                  "seeds": seeds, "missing_seeds": 3 - len(seeds)}
           for name, label, seeds in (
               ("peoples_daily/mtl", "MTL (+MSRA)", []),
               ("peoples_daily/bert_bilstm_crf", "BERT-BiLSTM-CRF", [1]))}
  rows = [{"a": "peoples_daily/mtl", "b": "peoples_daily/bert_bilstm_crf",
           "scoring": scoring, "metric": "f1",
           "per_seed": {"deltas": [], "mean": None}, "bootstrap": None}
          for scoring in ("peoples_daily_test", headline.UNSEEN)]
  text = headline.claims({
      "meta": {"peoples_daily_overlap": {"contained": 985, "sentences": 1000,
                                         "unseen": 15,
                                         "unseen_5gram_cover": 0.8}},
      "cells": cells, "significance": rows,
      "best_single_task": {"peoples_daily": "peoples_daily/bert_bilstm_crf"}})
  line = [l for l in text.splitlines() if "**People's Daily**" in l][0]
  assert line == ("- **People's Daily**, MTL (+MSRA) − BERT-BiLSTM-CRF (the "
                  "best single-task BERT row so far): not run yet.")
  assert "**People's Daily, clean**" in text and "them: not run" not in text


def test_the_report_counts_the_runs_of_each_machine_its_records_name():
  gpu = {"hardware": "x86_64 8 CPU cores, 1 GPU(s); Python 3.11.7, "
                     "TensorFlow 2.15.1", "workers": 1, "threads": 8}
  cpu = {"hardware": "x86_64 2 CPU cores, 0 GPU(s); Python 3.11.7, "
                     "TensorFlow 2.15.1", "workers": 2, "threads": 1}
  runs = [{"machine": gpu}, {"machine": cpu}, {"machine": gpu}, {}]
  assert records.machines(runs) == (
      f"{gpu['hardware']}, 1 worker process(es) of 8 thread(s) (2 runs); "
      f"{cpu['hardware']}, 2 worker process(es) of 1 thread(s) (1 run); "
      "the records of 1 run do not say (made before records carried it)")
  assert records.machines([]) == "no runs"
