"""``REPORT.md`` and ``summary.json`` assembled from run results, never typed.

``report_data`` computes every number once: each cell's mean ± standard
deviation over its seeds (per scoring, metric and entity type), the paper's
numbers beside them (``paper``), the differences MTL minus each single-task
row, the significance of the pairs the paper's claims rest on
(``significance``), and what capping auxiliary batches does. ``summary.json``
is that data; ``REPORT.md`` renders it, so the two agree cell by cell. Cells
planned but without a result are marked missing.
"""

import collections
import glob
import json
import os
import statistics
from typing import Dict, List, Optional, Sequence

from bert_mtl_ner.experiments import grid as grid_lib
from bert_mtl_ner.experiments import paper
from bert_mtl_ner.experiments import plan as plan_lib
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import significance

DASH = "—"
MISSING = "missing"
METRICS = ("precision", "recall", "f1", "macro_precision", "macro_recall",
           "macro_f1")
# The score each dataset's tables show: (scoring keys, metric, what it is).
MAIN_SCORE = {"msra": (("msra_test",), "f1", "test F1"),
              "peoples_daily": (("peoples_daily_test",
                                 "peoples_daily_test_dedup",
                                 "peoples_daily_test_unseen"), "f1",
                                "test F1"),
              "cluener": (("cluener_dev",), "macro_f1", "dev macro F1")}
SINGLE_TASK = ("bilstm_crf", "bert_crf", "bert_bilstm_crf")


def load_results(results_dir: str) -> List[Dict]:
  """Every ``result.json`` under ``results_dir/runs``."""
  results = []
  pattern = os.path.join(results_dir, "runs", "*", "*", "seed*", "result.json")
  for path in sorted(glob.glob(pattern)):
    with open(path, encoding="utf-8") as stream:
      results.append(json.load(stream))
  return results


def stats(values: Sequence[float]) -> Optional[Dict]:
  """Mean, sample standard deviation (0 for one value) and the values."""
  if not values:
    return None
  return {"mean": statistics.mean(values),
          "std": statistics.stdev(values) if len(values) > 1 else 0.0,
          "values": list(values)}


def fmt(value: Optional[Dict]) -> str:
  """``mean ± std`` of a ``stats`` dict; one value alone has no spread to
  show, so it prints bare (the seeds column says it is one run)."""
  if value is None:
    return MISSING
  if len(value["values"]) == 1:
    return f"{value['mean']:.2f}"
  return f"{value['mean']:.2f} ± {value['std']:.2f}"


def mean_std(values: Sequence[float]) -> str:
  """``mean ± std`` (sample standard deviation; the value alone for one)."""
  return DASH if not values else fmt(stats(values))


def num(value: Optional[float], signed: bool = False) -> str:
  if value is None:
    return DASH
  return f"{value:+.2f}" if signed else f"{value:.2f}"


def all_cells() -> Dict[str, grid_lib.Cell]:
  return {c.name: c for c in grid_lib.build_grid(
      extra=tuple(grid_lib.EXTRA_CELLS))}


def _cell_data(name: str, runs: Sequence[Dict], missing: int) -> Dict:
  cell = all_cells()[name]
  keys = sorted({k for r in runs for k in r["scores"]})
  scores, per_type = {}, {}
  for key in keys:
    present = [r["scores"][key] for r in runs if key in r["scores"]]
    scores[key] = {m: stats([s[m] for s in present]) for m in METRICS}
    types = sorted({t for s in present for t in s["per_type"]})
    per_type[key] = {t: {m: stats([s["per_type"][t][m] for s in present
                                   if t in s["per_type"]])
                         for m in ("precision", "recall", "f1")}
                     for t in types}
  return {"label": cell.label, "dataset": cell.dataset,
          "variant": cell.variant, "seeds": sorted(r["seed"] for r in runs),
          "missing_seeds": missing, "scores": scores, "per_type": per_type,
          "dev_f1": stats([r["best"]["dev_f1"] for r in runs
                           if r.get("best")]),
          "epochs_run": [r["best"]["epochs_run"] for r in runs
                         if r.get("best")],
          "stopped_by": [records.stopped_by(r) for r in runs],
          # --aux_exclude: {corpus: sentences removed} of each seed.
          "aux_removed": {str(r["seed"]): r["aux_removed"] for r in sorted(
              runs, key=lambda r: r["seed"]) if "aux_removed" in r},
          "wall_seconds": stats([r["wall_seconds"] for r in runs])}


def _paper_cells(cells: Dict[str, Dict]) -> Dict[str, Dict]:
  """The paper's number for each of our cells where it has one."""
  refs = {}
  for name, cell in cells.items():
    dataset, variant = cell["dataset"], cell["variant"]
    if dataset == "msra":
      row = {m: paper.msra(variant, m) for m in ("precision", "recall", "f1")}
      if any(v is not None for v in row.values()):
        refs[name] = {"msra_test": row}
    elif dataset == "cluener":
      types = {t: paper.cluener_type_f1(variant, t) for t in paper.tables()[
          "table6_cluener_f1_per_type"]["rows"] if t != "macro"}
      macro = paper.cluener_macro(variant)
      if macro is not None:
        refs[name] = {"cluener_dev": {"macro_f1": macro, "per_type_f1": types}}
  return refs


def _differences(cells: Dict[str, Dict]) -> Dict[str, Dict]:
  """MTL minus each single-task row, ours (per scoring) and the paper's;
  ``ours_clean`` for the clean multi-task row (None without it)."""

  def minus(mtl, other, dataset):
    return {key: {m: (mtl["scores"][key][m]["mean"] -
                      other["scores"][key][m]["mean"])
                  if mtl and other and key in mtl["scores"] and key in
                  other["scores"] else None
                  for m in ("precision", "recall", "f1")}
            for key in MAIN_SCORE[dataset][0]}

  result = {}
  for dataset in ("msra", "peoples_daily"):
    mtl, clean = cells.get(f"{dataset}/mtl"), cells.get(f"{dataset}/mtl_clean")
    rows = {}
    for variant in SINGLE_TASK:
      other = cells.get(f"{dataset}/{variant}")
      rows[variant] = {"ours": minus(mtl, other, dataset),
                       "ours_clean": minus(clean, other, dataset)
                       if clean else None,
                       "paper": {m: paper.mtl_minus(dataset, variant, m)
                                 for m in ("precision", "recall", "f1")}}
    result[dataset] = rows
  return result


def best_single_task(cells: Dict[str, Dict], first_seed: int
                     ) -> Dict[str, Optional[str]]:
  """Per corpus, the single-task BERT row with the best dev F1 of its first
  seed (the rule of the full preset's extra seeds)."""
  best = {}
  for dataset in MAIN_SCORE:
    dev = {}
    for variant in ("bert_crf", "bert_bilstm_crf"):
      cell = cells.get(f"{dataset}/{variant}")
      if cell and cell["dev_f1"] and first_seed in cell["seeds"]:
        dev[f"{dataset}/{variant}"] = cell["dev_f1"]["values"][
            cell["seeds"].index(first_seed)]
    best[dataset] = max(dev, key=dev.get) if len(dev) == 2 else None
  return best


def _pairs(cells: Dict[str, Dict], best: Dict[str, Optional[str]]):
  """(A, B) pairs of the significance table: each multi-task row (the
  paper's setting and the clean one) against the best single-task BERT row
  first, then against every other single-task row; the ablations and the
  uncapped row against the full multi-task model."""
  pairs = []
  for dataset, winner in best.items():
    others = [f"{dataset}/{v}" for v in SINGLE_TASK + (grid_lib.RANDOM_INIT[0],)
              if f"{dataset}/{v}" != winner]
    for mtl in (f"{dataset}/mtl", f"{dataset}/mtl_clean"):
      pairs += [(mtl, b) for b in ([winner] if winner else []) + others]
  for variant, _, _ in grid_lib.ABLATIONS:
    pairs.append((f"cluener/{variant}", "cluener/mtl"))
  pairs += [(f"{d}/mtl_uncapped", f"{d}/mtl")
            for d in ("peoples_daily", "cluener")]
  return [(a, b) for a, b in pairs if a in cells and b in cells]


def _significance(results: Sequence[Dict], cells: Dict[str, Dict],
                  best: Dict[str, Optional[str]], resamples: int) -> List[Dict]:
  rows = []
  scored = {key for r in results for key in r["scores"]}
  for a, b in _pairs(cells, best):
    dataset = cells[a]["dataset"]
    keys, metric, _ = MAIN_SCORE[dataset]
    # A scoring no run has (the unseen sentences, under an eval_limit) gets
    # no row; one that a missing run lacks keeps its row of dashes.
    for key in (k for k in keys if k in scored):
      runs = {name: {r["seed"]: r for r in results if r["cell"] == name
                     and key in r["scores"]} for name in (a, b)}
      row = {"a": a, "b": b, "scoring": key, "metric": metric,
             "per_seed": significance.per_seed(
                 {s: r["scores"][key][metric] for s, r in runs[a].items()},
                 {s: r["scores"][key][metric] for s, r in runs[b].items()}),
             "bootstrap": None}
      counts = {name: [records.unpack_counts(r["sentence_counts"][key])
                       for r in runs[name].values()
                       if key in r.get("sentence_counts", {})]
                for name in (a, b)}
      if counts[a] and counts[b] and len(counts[a]) == len(runs[a]) and \
          len(counts[b]) == len(runs[b]):
        row["bootstrap"] = significance.paired_bootstrap(
            counts[a], counts[b], macro=metric == "macro_f1",
            resamples=resamples)
      rows.append(row)
  return rows


def report_data(results: Sequence[Dict], meta: Dict,
                missing: Sequence[tuple] = (), resamples: int = 1000) -> Dict:
  """Every number of the report (see the module docstring).

  Args:
    results: the runs' ``result.json`` contents or committed records.
    meta: ``preset``, ``description``, ``command``, ``hardware`` (of this
      invocation; the runs' own is in their records), ``started``,
      ``wall_seconds``, optionally ``jobs`` and ``pretraining``.
    missing: (cell name, seed) of planned runs without a result yet.
    resamples: of the paired bootstrap.
  """
  known = all_cells()
  by_cell = collections.OrderedDict((name, []) for name in known)
  for r in results:
    by_cell.setdefault(r["cell"], []).append(r)
  absent = collections.Counter(name for name, _ in missing)
  cells = collections.OrderedDict(
      (name, _cell_data(name, runs, absent[name]))
      for name, runs in by_cell.items() if runs or absent[name])
  splits = {}
  for r in results:
    for key, scores in r["scores"].items():
      if "sentences" not in scores:
        continue
      splits[key] = {"sentences": scores["sentences"],
                     "removed_as_duplicates": scores.get(
                         "removed_as_duplicates", 0)}
  seeds = [r["seed"] for r in results]
  best = best_single_task(cells, min(seeds) if seeds else 1)
  return {"meta": meta, "resamples": resamples, "splits": splits,
          "cells": cells,
          "paper": _paper_cells(cells),
          "paper_msra_cited": paper.cited_msra_rows(),
          "differences": _differences(cells),
          "best_single_task": best,
          "significance": _significance(results, cells, best, resamples),
          "runs": [dict({k: r.get(k) for k in ("cell", "seed", "scores",
                                               "best", "wall_seconds",
                                               "code_version", "machine",
                                               "encoder_sha256")},
                        epochs=(r.get("identity") or r.get("run") or {}).get(
                            "epochs"),
                        stopped_by=records.stopped_by(r))
                   for r in results],
          "missing": [{"cell": c, "seed": s} for c, s in missing]}


# ---- rendering ---------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  return lines


def _seeds(cell: Dict) -> str:
  done = len(cell["seeds"])
  return (f"{done} of {done + cell['missing_seeds']}"
          if cell["missing_seeds"] else str(done))


def _score(cell: Dict, key: str, metric: str) -> Optional[Dict]:
  return cell["scores"].get(key, {}).get(metric)


def _split(data: Dict, key: str) -> str:
  split = data["splits"].get(key)
  return "" if split is None else f" ({split['sentences']} sentences)"


def _rows_of(data: Dict, dataset: str, ablations: bool = False):
  for name, cell in data["cells"].items():
    if cell["dataset"] != dataset:
      continue
    is_ablation = cell["variant"].startswith("mtl_no")
    if is_ablation == ablations:
      yield name, cell


def _msra_table(data: Dict) -> List[str]:
  rows = []
  for name, cell in _rows_of(data, "msra"):
    ref = data["paper"].get(name, {}).get("msra_test", {})
    f1 = _score(cell, "msra_test", "f1")
    rows.append([cell["label"], _seeds(cell)] + [
        fmt(_score(cell, "msra_test", m)) for m in ("precision", "recall",
                                                    "f1")] + [
        num(ref.get(m)) for m in ("precision", "recall", "f1")] + [
        num(f1["mean"] - ref["f1"], True) if f1 and ref.get("f1") is not None
        else DASH])
  for name, row in data["paper_msra_cited"].items():
    rows.append([f"{name} (cited by the paper)", DASH, DASH, DASH, DASH,
                 num(row["P"]), num(row["R"]), num(row["F1"]), DASH])
  return _table(["model", "seeds", "P", "R", "F1", "paper P", "paper R",
                 "paper F1", "Δ F1"], rows)


def _prf_table(data: Dict, dataset: str, key: str) -> List[str]:
  rows = [[cell["label"], _seeds(cell)] + [
      fmt(_score(cell, key, m)) for m in ("precision", "recall", "f1")]
          for _, cell in _rows_of(data, dataset)]
  return _table(["model", "seeds", "P", "R", "F1"], rows)


def _differences_table(data: Dict, dataset: str) -> List[str]:
  keys = MAIN_SCORE[dataset][0]
  header = ["pair"]
  for key in keys:
    suffix = {"_dedup": " (de-duplicated)", "_unseen": " (unseen)"}.get(
        key[key.rfind("_"):], "")
    header += [f"Δ P{suffix}", f"Δ R{suffix}", f"Δ F1{suffix}"]
  header += ["paper Δ P", "paper Δ R", "paper Δ F1"]
  rows = []
  labels = {c["variant"]: c["label"] for c in data["cells"].values()
            if c["dataset"] == dataset}
  metrics = ("precision", "recall", "f1")
  for variant, row in data["differences"][dataset].items():
    # The paper's setting, then the clean row (the paper has no such row).
    for mtl, ours, ref in (("mtl", row["ours"], row["paper"]),
                           ("mtl_clean", row.get("ours_clean"), None)):
      if ours is None:
        continue
      line = [f"{labels.get(mtl, mtl)} − {labels.get(variant, variant)}"]
      for key in keys:
        line += [num(ours[key][m], True) for m in metrics]
      line += [num(ref[m], True) if ref else DASH for m in metrics]
      rows.append(line)
  return _table(header, rows)


def _cluener_macro(data: Dict) -> List[str]:
  rows = []
  for name, cell in _rows_of(data, "cluener"):
    ref = data["paper"].get(name, {}).get("cluener_dev", {}).get("macro_f1")
    macro = _score(cell, "cluener_dev", "macro_f1")
    rows.append([cell["label"], _seeds(cell)] + [
        fmt(_score(cell, "cluener_dev", m)) for m in (
            "macro_precision", "macro_recall", "macro_f1", "f1")] + [
        num(ref), num(macro["mean"] - ref, True) if macro and ref is not None
        else DASH])
  return _table(["model", "seeds", "macro P", "macro R", "macro F1",
                 "micro F1", "paper macro F1", "Δ"], rows)


def _cluener_types(data: Dict) -> List[str]:
  types = sorted({t for c in data["cells"].values()
                  for t in c["per_type"].get("cluener_dev", {})})
  rows = []
  for name, cell in _rows_of(data, "cluener"):
    per_type = cell["per_type"].get("cluener_dev", {})
    rows.append([cell["label"]] + [fmt(per_type.get(t, {}).get("f1"))
                                   for t in types])
    ref = data["paper"].get(name, {}).get("cluener_dev")
    if ref:
      column = paper.TABLE6_COLUMNS[cell["variant"]]
      rows.append([f"paper: {column}"] + [num(ref["per_type_f1"].get(t))
                                          for t in types])
  return _table(["model"] + types, rows)


def _table5(data: Dict) -> List[str]:
  cell = data["cells"].get("cluener/mtl")
  if not cell:
    return ["(no run of the CLUENER2020 multi-task model yet)"]
  rows = []
  for entity_type, row in cell["per_type"].get("cluener_dev", {}).items():
    rows.append([entity_type] + [fmt(row[m]) for m in ("precision", "recall",
                                                       "f1")] + [
        num(paper.cluener_mtl_type(entity_type, m))
        for m in ("precision", "recall", "f1")])
  return _table(["type", "P", "R", "F1", "paper P", "paper R", "paper F1"],
                rows)


def _ablations(data: Dict) -> List[str]:
  full = data["cells"].get("cluener/mtl")
  reference = _score(full, "cluener_dev", "macro_f1") if full else None
  rows = []
  for name, cell in list(_rows_of(data, "cluener", ablations=True)):
    value = _score(cell, "cluener_dev", "macro_f1")
    rows.append([cell["label"], _seeds(cell), fmt(value),
                 num(value["mean"] - reference["mean"], True)
                 if value and reference else DASH])
  return _table(["model", "seeds", "macro F1", "Δ vs full MTL"], rows)


def _significance_table(data: Dict) -> List[str]:
  rows = []
  cells = data["cells"]
  for row in data["significance"]:
    seeds = row["per_seed"]
    boot = row["bootstrap"]
    rows.append([
        f"{cells[row['a']]['label']} − {cells[row['b']]['label']} "
        f"({row['a'].split('/')[0]})",
        f"{row['scoring']} {row['metric']}",
        ", ".join(f"{d:+.2f}" for d in seeds["deltas"]) or DASH,
        DASH if seeds["mean"] is None else
        f"{seeds['mean']:+.2f}" if len(seeds["deltas"]) == 1 else
        f"{seeds['mean']:+.2f} ± {seeds['std']:.2f}",
        DASH if boot is None else
        f"{boot['delta']:+.2f} [{boot['low']:+.2f}, {boot['high']:+.2f}]",
        DASH if boot is None else f"{boot['p']:.3f}"])
  return _table(["pair (A − B)", "score", "per seed", "mean ± std",
                 "bootstrap Δ [95% CI]", "p"], rows)


def _aux_cap(data: Dict) -> List[str]:
  rows = []
  for dataset in ("peoples_daily", "cluener"):
    name = grid_lib.CORPORA[dataset]
    capped = data["cells"].get(f"{dataset}/mtl")
    uncapped = data["cells"].get(f"{dataset}/mtl_uncapped")
    if not capped or not uncapped:
      continue
    keys, metric, what = MAIN_SCORE[dataset]
    for cell in (capped, uncapped):
      rows.append([name, cell["label"], _seeds(cell),
                   f"{what}: " + fmt(_score(cell, keys[0], metric)),
                   fmt(_score(cell, "peoples_daily_test_dedup", "f1"))
                   if dataset == "peoples_daily" else DASH,
                   fmt(cell["dev_f1"]),
                   ", ".join(str(e) for e in cell["epochs_run"]) or DASH,
                   DASH if not cell["wall_seconds"] else
                   f"{cell['wall_seconds']['mean'] / 60:.0f}"])
  if not rows:
    return []
  return ["## Capping auxiliary batches", "",
          "The multi-task cells draw at most one auxiliary batch per main-task "
          "batch in an epoch (`--aux_ratio=1`): CLUENER2020's auxiliary "
          "corpora are 6× its own, and proportional sampling would make each "
          "of its epochs about 7 passes' worth of steps. On MSRA the cap does "
          "not bind (People's Daily is half its size). The cap's effect is "
          "measured on People's Daily (MSRA as auxiliary task, twice its "
          "size: an uncapped epoch trains on People's Daily and all of MSRA, "
          "a capped one on People's Daily and as many MSRA sentences) and on "
          "CLUENER2020. Wall minutes are as recorded, so they also hold the "
          "code version and the other worker's load of each run; the "
          "significance table below pairs the scores.", ""] + _table(
              ["corpus", "model", "seeds", "score", "de-duplicated test F1",
               "dev F1 (best epoch)", "epochs run", "wall min"], rows) + [""]


def _pretraining_gain(data: Dict) -> List[str]:
  rows = []
  for dataset, (keys, metric, what) in MAIN_SCORE.items():
    for variant in ("bilstm_crf", grid_lib.RANDOM_INIT[0], "bert_bilstm_crf"):
      cell = data["cells"].get(f"{dataset}/{variant}")
      if not cell or not cell["seeds"]:
        continue
      label = cell["label"] + (" (pretrained)" if variant == "bert_bilstm_crf"
                               else "")
      rows.append([dataset, label, _seeds(cell), fmt(cell["dev_f1"]),
                   f"{fmt(_score(cell, keys[0], metric))} ({what})"])
  return _table(["dataset", "model", "seeds", "dev F1 (best epoch)", "score"],
                rows)


def without_cache_seconds(meta: Dict) -> Optional[float]:
  """The wall time a grid that reused the cached encoder would have taken had
  it pretrained the encoder first (no ``../shared``): its wall time plus the
  encoder's last pretraining; None for a grid that pretrained it, or a report
  written from records. A pretraining resumed at step R of S counts as its
  last invocation's wall time times S / (S - R)."""
  pretraining = meta.get("pretraining") or {}
  if meta.get("report_only") or not pretraining.get("reused") or \
      not pretraining.get("wall_seconds"):
    return None
  steps, resumed = pretraining.get("steps"), pretraining.get("resumed_at") or 0
  whole = pretraining["wall_seconds"] * (
      steps / (steps - resumed) if steps and 0 < resumed < steps else 1.0)
  return meta["wall_seconds"] + whole


def _without_cache(meta: Dict) -> str:
  total = without_cache_seconds(meta)
  if total is None:
    return ""
  return (f"; without the cached encoder (no `../shared`), about "
          f"{total / 60:.0f} min: this wall time plus the encoder's "
          "pretraining below")


def _encoder(pretraining: Optional[Dict]) -> List[str]:
  if not pretraining:
    return []
  accuracy = pretraining.get("final_masked_accuracy")
  sha = pretraining.get("tf_model_sha256")
  return [f"- Encoder of the BERT rows: pretrained by `python -m "
          f"bert_mtl_ner.pretrain --flagfile={pretraining['flagfile']}` "
          f"({pretraining['steps']} steps of {pretraining['batch_size']} "
          f"rows of up to {pretraining['max_seq_len']} tokens; "
          f"{pretraining['sentences']} sentences, "
          f"{pretraining['removed_as_dev_or_test']} dev/test sentences "
          "removed; final masked-token accuracy "
          f"{100 * (accuracy or 0):.1f}%; its last invocation took "
          f"{pretraining['wall_seconds'] / 60:.1f} min), "
          + ("reused from the cache, so not in this wall time"
             if pretraining.get("reused") else
             "pretrained by this invocation, so in its wall time")
          + (f"; `tf_model.h5` sha256 `{sha}`" if sha else "")]


def _unseen_section(data: Dict, counts: Optional[Dict]) -> List[str]:
  """What the de-duplication misses, and the test without it."""
  if not counts:
    return []
  n = counts["sentences"]
  share = lambda k: f"{counts[k]} ({100 * counts[k] / n:.1f}%)"
  lines = ["", f"Verbatim is not all of the overlap. Of the {n} test "
           f"sentences, {share('verbatim')} occur verbatim in "
           f"`{counts['reference']}`, {share('normalized_equal')} equal one "
           "of its sentences once digit widths and quote marks are "
           "normalized, and " + share("contained") + " occur inside one of "
           "its sentences after that normalization (`data.overlap.seen_in`; "
           "`python -m bert_mtl_ner.data --action=overlap` prints it for "
           "every split). A model trained on MSRA's train file, as the "
           "multi-task People's Daily model is, has read nearly all of this "
           f"test set. The {counts['unseen']} sentences left are scored "
           "below from each run's per-sentence counts (no run again). They "
           "are not new text either: on average "
           f"{100 * counts['unseen_5gram_cover']:.0f}% of their character "
           "5-grams occur in MSRA's train file, against "
           f"{100 * counts['msra_test_5gram_cover']:.0f}% for MSRA test, "
           "which that file does not contain: they share long passages "
           "with it. With so few entities their "
           "scores are coarse: read them with the bootstrap intervals of the "
           "significance section.", ""]
  if "peoples_daily_test_unseen" in data["splits"]:
    lines += [f"Unseen test{_split(data, 'peoples_daily_test_unseen')}:", ""]
    lines += _prf_table(data, "peoples_daily", "peoples_daily_test_unseen")
  return lines


def _epochs(data: Dict) -> str:
  ran = [e for c in data["cells"].values() for e in c["epochs_run"]]
  if not ran:
    return DASH
  if min(ran) == max(ran):
    return f"every run took {ran[0]} epoch" + ("s" if ran[0] != 1 else "")
  return f"runs took {min(ran)}–{max(ran)} epochs"


def _stops(data: Dict) -> str:
  """The header's line on what ended the runs."""
  runs = [r for r in data["runs"] if r.get("stopped_by")]
  capped = [r for r in runs if r["stopped_by"] == "cap"]
  if not runs:
    return DASH
  if not capped:
    return (f"all {len(runs)} runs stopped by early stopping (dev F1 no "
            "better for `patience` epochs)")
  return (f"**{len(capped)} of {len(runs)} runs stopped at their epoch cap**, "
          "not by early stopping: they may still have been improving, so "
          "their scores and every verdict resting on them are provisional "
          "(\"How each run ended\")")


def _aux_removed(data: Dict, dataset: str) -> List[str]:
  """A line on what the clean multi-task cell of ``dataset`` left out of its
  auxiliary and unlabeled corpora, per seed (empty before it ran)."""
  cell = data["cells"].get(f"{dataset}/mtl_clean")
  if not cell or not cell.get("aux_removed"):
    return []
  per_seed = "; ".join(
      f"seed {seed}: " + ", ".join(f"{n} from {corpus}"
                                   for corpus, n in sorted(removed.items()))
      for seed, removed in cell["aux_removed"].items())
  return [f"{cell['label']} trains without every auxiliary and unlabeled "
          f"sentence that contains, or is contained in, a sentence of "
          f"{grid_lib.CORPORA[dataset]} dev or test (normalized, as "
          f"`data --action=overlap`); "
          f"sentences removed: {per_seed}.", ""]


def _endings(data: Dict) -> List[str]:
  """The table of how each run ended: best epoch, epochs run, cap, what
  stopped it, its dev curve."""
  order = {name: i for i, name in enumerate(data["cells"])}
  rows = []
  for r in sorted(data["runs"], key=lambda r: (order.get(r["cell"], 0),
                                                r["seed"])):
    best = r.get("best") or {}
    curve = best.get("dev_curve")
    rows.append([f"`{r['cell']}`", str(r["seed"]),
                 str(best.get("epoch", DASH)), str(best.get("epochs_run", DASH)),
                 str(r.get("epochs") or DASH),
                 {"cap": "**cap**", "early_stopping": "early stopping"}.get(
                     r.get("stopped_by"), DASH),
                 " ".join(f"{v:.1f}" for v in curve) if curve else DASH])
  return _table(["run", "seed", "best epoch", "epochs run", "cap",
                 "stopped by", "dev F1 by epoch"], rows)


def build_report(results: Sequence[Dict], meta: Dict,
                 missing: Sequence[tuple] = (), data: Optional[Dict] = None
                 ) -> str:
  """The markdown report (see the module docstring).

  Args:
    results: the runs' ``result.json`` contents or committed records.
    meta: see ``report_data``.
    missing: (cell name, seed) of planned runs without a result yet.
    data: ``report_data`` already computed from the same arguments.
  """
  data = data or report_data(results, meta, missing)
  tag = f"[{meta['preset']} preset]"
  wall = sum(c["wall_seconds"]["mean"] * len(c["seeds"])
             for c in data["cells"].values() if c["wall_seconds"])
  lines = [f"# Results {tag}", "",
           f"Generated by `{meta['command']}` from {len(results)} runs; "
           "nothing here is typed by hand. `summary.json` beside it holds "
           "every number below.", "",
           f"- Preset: {meta['description']}",
           f"- Epochs: {_epochs(data)}",
           f"- Stopped by: {_stops(data)}",
           f"- Trained on: {records.machines(results)}",
           (f"- Report written {meta['started']} from the recorded runs "
            f"(`--report`, nothing trained) on {meta['hardware']}"
            if meta.get("report_only") else
            f"- This invocation: {meta['hardware']}; {meta.get('jobs', 1)} "
            f"worker process(es) sharing the grid; started {meta['started']}, "
            f"wall time {meta['wall_seconds'] / 60:.1f} min")
           + f"; training and scoring time of all runs {wall / 60:.1f} min"
           + _without_cache(meta),
           ] + _encoder(meta.get("pretraining"))
  if missing or meta.get("undecided_seeds"):
    undecided = meta.get("undecided_seeds", 0)
    lines.append(
        f"- **Incomplete**: {len(missing)} planned "
        + ("run has" if len(missing) == 1 else "runs have")
        + " no result yet; "
        "their cells say `missing` or count their seeds as `n of m`"
        + (f"; {undecided} more runs (the extra seeds of each corpus's best "
           "single-task BERT row) wait for that choice" if undecided else "")
        + (f"; {plan_lib.left_line(meta['left'], meta.get('jobs', 1))} "
           "(\"Missing runs\")" if meta.get("left") else "")
        + ".")
  if meta.get("stale_records"):
    lines.append(f"- {meta['stale_records']} committed run records were made "
                 "with other flags or another encoder than this grid's and "
                 "are left out (`--plan` lists them; `--rerun_stale` replaces "
                 "them).")
  lines += ["", f"Paper columns: {paper.source()}", ""]
  if any(c["variant"] == grid_lib.RANDOM_INIT[0] and c["seeds"]
         for c in data["cells"].values()):
    lines += [f"## What pretraining adds {tag}", "",
              "BERT-BiLSTM-CRF with the pretrained encoder against the same "
              "model from random weights (`--bert_random_init`) and against "
              "BiLSTM-CRF. Dev F1 is the best epoch's; the last column is the "
              "score of the tables below.", ""]
    lines += _pretraining_gain(data) + [""]
  lines += [f"## Table 4: MSRA test{_split(data, 'msra_test')} {tag}", "",
            "Paper: " + paper.note("table4_msra_test") + " Its BiLSTM-CRF, "
            "BERT-CRF and BERT-BiLSTM-CRF rows: " +
            paper.note("fig10_msra_test"), ""]
  lines += _msra_table(data) + [""]
  lines += ["MTL minus each single-task row on MSRA test, ours and the "
            "paper's:", ""] + _differences_table(data, "msra") + [""]
  lines += _aux_removed(data, "msra")
  lines += [f"## Figures 10–11: People's Daily test {tag}", "",
            "People's Daily test in full"
            f"{_split(data, 'peoples_daily_test')}, and without its sentences "
            "that occur verbatim in MSRA's train file"
            f"{_split(data, 'peoples_daily_test_dedup')}: a model that saw "
            "MSRA has seen those.", "", "Full test:", ""]
  lines += _prf_table(data, "peoples_daily", "peoples_daily_test")
  lines += ["", "De-duplicated test (`--dedup_against=msra:train_full`):", ""]
  lines += _prf_table(data, "peoples_daily", "peoples_daily_test_dedup")
  lines += _unseen_section(data, meta.get("peoples_daily_overlap"))
  lines += ["", "The paper gives People's Daily only as differences: "
            + paper.note("fig11_peoples_daily_test"), ""]
  lines += _differences_table(data, "peoples_daily") + [""]
  lines += _aux_removed(data, "peoples_daily")
  lines += ["Note on the paper: " + paper.note("text_inconsistency"), ""]
  lines += [f"## Table 5: CLUENER2020 dev{_split(data, 'cluener_dev')} {tag}",
            "", "CLUENER2020's test set is unlabeled, so dev is scored (as in "
            "the paper); dev also picks the best epoch.", ""]
  lines += _cluener_macro(data) + [""]
  lines += ["The multi-task model per type, against the paper's Table 5:", ""]
  lines += _table5(data) + [""]
  lines += [f"## Table 6: CLUENER2020 dev F1 per type {tag}", "",
            "Paper rows: " + paper.note("table6_cluener_f1_per_type"), ""]
  lines += _cluener_types(data) + [""]
  lines += [f"## Ablations: CLUENER2020 dev {tag}", "",
            "The CLUENER2020 multi-task model without one of its parts; Δ is "
            "the change of mean macro F1 against the full model.", ""]
  lines += _ablations(data) + [""]
  lines += _aux_cap(data)
  if data["significance"]:
    best = ", ".join(f"{d}: {data['cells'][c]['label']}"
                     for d, c in data["best_single_task"].items() if c)
    lines += [f"## Significance {tag}", "",
              "Per seed: A − B for each seed both rows have. Bootstrap: "
              f"{data['resamples']} paired resamples of the test sentences, each scoring A and B "
              "(the mean over their seeds) on the same resample; the 95% "
              "interval of the difference and a two-sided p-value. The best "
              "single-task BERT row of each corpus is chosen by dev F1 of the "
              f"first seed ({best or 'not known yet'}). The paper reports "
              "none of this.", ""]
    lines += _significance_table(data) + [""]
  if data["runs"]:
    lines += [f"## How each run ended {tag}", "",
              "A run stops when dev F1 has not improved for `patience` "
              "epochs (early stopping) or when it reaches the preset's most "
              "epochs (the cap). A run counts as stopped early also when it "
              "reached the cap with its best epoch at least `patience` "
              "epochs before its last. Runs recorded before runs said what "
              "stopped them are judged by that rule; their dev curves were "
              "not recorded.", ""]
    lines += _endings(data) + [""]
  if missing:
    lines += ["## Missing runs", ""] + _left(missing, meta.get("left"),
                                             meta.get("jobs", 1)) + [""]
  return "\n".join(lines)


def _left(missing: Sequence[tuple], left: Optional[Dict], jobs: int
          ) -> List[str]:
  """The runs without a result, by cell, with what ``--plan`` estimates they
  still cost (``plan.work_left``; reports written before it: the list)."""
  if not left:
    return [", ".join(f"{c} seed {s}" for c, s in missing)]

  def hours(seconds):
    return "?" if seconds is None else f"{seconds / 3600:.2f}"

  rows = [[f"`{name}`", ", ".join(str(s) for s in cell["seeds"]),
           hours(cell["seconds"])] for name, cell in left["cells"].items()]
  return (["What each cell still needs, estimated as `--plan` does (in the "
           "order the grid trains them):", ""]
          + _table(["cell", "seeds left", "estimated hours (one worker)"],
                   rows)
          + ["", "Left: " + plan_lib.left_line(left, jobs) + "."])
