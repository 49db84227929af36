"""The README's headline table: a few cells of the committed reports beside the
paper's numbers, rendered from the reports' ``summary.json`` files; and
``claims``, the README's sentences on the paper's claims, from the full
report's significance rows.

Both report formats are read from their ``runs`` list (cell, seed, scores), so
the table is the mean over seeds of exactly what the reports hold.
"""

import collections
import json
import os
import statistics
from typing import Dict, List, Optional, Sequence

from bert_mtl_ner.experiments import grid as grid_lib
from bert_mtl_ner.experiments import paper
from bert_mtl_ner.experiments import plan as plan_lib
from bert_mtl_ner.experiments import presets
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import report

# (corpus and score, our cell, scoring key, metric, paper number or None).
ROWS = (
    ("MSRA test F1", "msra/bilstm_crf", "msra_test", "f1",
     lambda: paper.msra("bilstm_crf", "f1")),
    ("MSRA test F1", "msra/bert_bilstm_crf", "msra_test", "f1",
     lambda: paper.msra("bert_bilstm_crf", "f1")),
    ("MSRA test F1", "msra/mtl", "msra_test", "f1",
     lambda: paper.msra("mtl", "f1")),
    ("People's Daily test F1", "peoples_daily/bert_bilstm_crf",
     "peoples_daily_test", "f1", lambda: None),
    ("People's Daily test F1", "peoples_daily/mtl", "peoples_daily_test", "f1",
     lambda: None),
    ("People's Daily de-duplicated test F1", "peoples_daily/mtl",
     "peoples_daily_test_dedup", "f1", lambda: None),
    ("People's Daily test F1, sentences unseen in MSRA train",
     "peoples_daily/bert_bilstm_crf", "peoples_daily_test_unseen", "f1",
     lambda: None),
    ("People's Daily test F1, sentences unseen in MSRA train",
     "peoples_daily/mtl", "peoples_daily_test_unseen", "f1", lambda: None),
    ("CLUENER2020 dev macro F1", "cluener/bilstm_crf", "cluener_dev",
     "macro_f1", lambda: paper.cluener_macro("bilstm_crf")),
    ("CLUENER2020 dev macro F1", "cluener/bert_crf", "cluener_dev", "macro_f1",
     lambda: paper.cluener_macro("bert_crf")),
    ("CLUENER2020 dev macro F1", "cluener/mtl", "cluener_dev", "macro_f1",
     lambda: paper.cluener_macro("mtl")),
)
LABELS = {"bilstm_crf": "BiLSTM-CRF", "bert_crf": "BERT-CRF",
          "bert_bilstm_crf": "BERT-BiLSTM-CRF", "mtl": "MTL"}


def load(path: str) -> Optional[Dict]:
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as stream:
    return json.load(stream)


def stopped_by(summary: Dict, run: Dict) -> Optional[str]:
  """What ended a run of a report's ``runs`` list; for a report written
  before runs said so, judged from its preset's cap and patience: the preset
  the report describes (``presets.FORMER`` after a redesign), else None (not
  known)."""
  if run.get("stopped_by"):
    return run["stopped_by"]
  description = summary["meta"].get("description")
  preset = presets.PRESETS.get(summary["meta"].get("preset"))
  if description in presets.FORMER:
    flags = presets.FORMER[description]
  elif preset is None or description not in (None, preset.description):
    return None
  else:
    flags = dict(preset.overrides, **preset.overrides_for(run["cell"]))
  return records.stopped_by({"best": run.get("best"), "identity": flags})


def _mean(summary: Optional[Dict], cell: str, key: str, metric: str) -> str:
  """The mean over seeds, the seeds, and how many runs stopped at their
  epoch cap (``capped``: cut short, perhaps still improving)."""
  if not summary:
    return "—"
  runs = [r for r in summary["runs"] if r["cell"] == cell]
  scored = [r for r in runs if key in r["scores"]]
  if not scored:
    return "—" if runs else "not run yet"  # —: not scored that way
  values = [r["scores"][key][metric] for r in scored]
  planned = len(values) + ((summary.get("cells") or {}).get(cell) or {}).get(
      "missing_seeds", 0)
  seeds = (f"{len(values)} of {planned} seeds" if planned > len(values) else
           f"{len(values)} seed{'s' if len(values) > 1 else ''}")
  stops = [stopped_by(summary, r) for r in scored]
  capped = stops.count("cap")
  if capped:
    seeds += (", **all capped**" if capped == len(scored) else
              f", **{capped} capped**")
  elif None in stops:
    seeds += ", **not known if capped**"
  return f"{statistics.mean(values):.2f} ({seeds})"


def render(columns: Sequence[tuple]) -> str:
  """The table; ``columns`` are (header, summary or None) pairs."""
  header = ["score", "model", "paper"] + [name for name, _ in columns]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  for what, cell, key, metric, reference in ROWS:
    value = reference()
    row = [what, LABELS[cell.split("/")[1]],
           "—" if value is None else f"{value:.2f}"]
    row += [_mean(summary, cell, key, metric) for _, summary in columns]
    lines.append("| " + " | ".join(row) + " |")
  return "\n".join(lines)


def took(summary: Optional[Dict]) -> str:
  """How long a report's grid took, for a column header: its wall time, and
  without the cached encoder too when it reused one; empty for a report
  written from records."""
  meta = (summary or {}).get("meta") or {}
  if not meta.get("wall_seconds") or meta.get("report_only"):
    return ""
  text = f"{meta['wall_seconds'] / 60:.0f} min"
  total = report.without_cache_seconds(meta)
  if total is not None:
    text += f", about {total / 60:.0f} min without `../shared`"
  return text + "; "


# The full grid as it was before its redesign (10-20 epochs, most runs
# stopped at the cap): a column of the headline while the converged grid
# accumulates; its report stays for the claims' comparison.
FORMER_FULL = "full_capped"


def readme_columns(root: str) -> List[tuple]:
  """The README's columns: the full and the cpu preset's committed reports
  (the cpu column's header says how long its grid took), and the former full
  grid's while its report is kept (``FORMER_FULL``) and the full grid still
  misses runs."""
  results = os.path.join(root, "docs", "results")
  cpu = load(os.path.join(results, "cpu", "summary.json"))
  full = load(os.path.join(results, "full", "summary.json"))
  columns = [("full preset, this CPU ([report](docs/results/full/REPORT.md))",
              full)]
  former = load(os.path.join(results, FORMER_FULL, "summary.json"))
  if former and (full is None or full.get("missing")):
    columns.append((f"former full grid, capped ([report](docs/results/"
                    f"{FORMER_FULL}/REPORT.md))", former))
  return columns + [
      (f"cpu preset ({took(cpu)}[report](docs/results/cpu/REPORT.md))", cpu)]


# The scorings the README's claims give per corpus (the report has them all).
CLAIM_SCORINGS = {"msra": ("msra_test", "the test"),
                  "peoples_daily": ("peoples_daily_test", "the full test"),
                  "cluener": ("cluener_dev", "dev")}
UNSEEN = "peoples_daily_test_unseen"
# Corpora with a clean multi-task cell, and the text its auxiliaries lose.
CLEAN = {"msra": "MSRA dev and test",
         "peoples_daily": "People's Daily dev and test"}


def _seeds_of(cell: Dict) -> str:
  done, missing = len(cell["seeds"]), cell["missing_seeds"]
  return f"{done} of {done + missing}" if missing else str(done)


def _capped(cells: Dict, *names: str) -> tuple:
  """(runs stopped at their epoch cap, runs) of the cells ``names``."""
  stops = [s for n in names for s in cells[n].get("stopped_by") or []]
  return sum(1 for s in stops if s == "cap"), len(stops)


def _verdict(row: Dict, capped: int = 0) -> str:
  """What the pair's numbers show: a difference only when the bootstrap
  interval excludes 0, every seed's difference has its sign, and no run of
  either side stopped at its epoch cap (``capped``)."""
  boot, deltas = row["bootstrap"], row["per_seed"]["deltas"]
  if boot is None or not deltas:
    return "not measured yet"
  if capped:
    return ("not called: a run stopped at its epoch cap may still have been "
            "improving")
  if boot["low"] > 0 and all(d > 0 for d in deltas):
    shown = "better"
  elif boot["high"] < 0 and all(d < 0 for d in deltas):
    shown = "worse"
  else:
    return "no difference shown"
  return shown + ("" if len(deltas) > 1 else " (one seed pair: training "
                  "noise not measured)")


def _pair(row: Dict, cells: Dict, what: str) -> str:
  """One pair: the difference of the seed means, its bootstrap interval, the
  seeds behind it and what it shows."""
  boot = row["bootstrap"]
  if boot is None or row["per_seed"]["mean"] is None:
    return f"{what}: not run yet"
  metric = "macro F1" if row["metric"] == "macro_f1" else "F1"
  capped, runs = _capped(cells, row["a"], row["b"])
  return (f"{boot['delta']:+.2f} {metric} on {what} (95% interval "
          f"[{boot['low']:+.2f}, {boot['high']:+.2f}]; "
          f"{_seeds_of(cells[row['a']])} and {_seeds_of(cells[row['b']])} "
          f"seeds; {capped} of {runs} runs stopped at the epoch cap): "
          f"{_verdict(row, capped)}")


def _by_scoring(rows: List[Dict], a: str, b: Optional[str] = None
                ) -> Dict[str, Dict]:
  """The significance rows of pair ``a`` − ``b`` (any ``b`` when None), by
  scoring."""
  return {r["scoring"]: r for r in rows
          if r["a"] == a and (b is None or r["b"] == b)}


def claims(summary: Optional[Dict]) -> str:
  """Markdown bullets on the paper's claims, from a full report's summary:
  MTL against the best single-task BERT row per corpus (with the paper's own
  difference where it gives one), People's Daily's overlap with MSRA train,
  and each ablation against the full multi-task model. A difference is
  called better or worse only when its bootstrap interval excludes 0 and
  every seed pair agrees (``_verdict``)."""
  if not summary:
    return "(no full report yet)"
  cells, rows = summary["cells"], summary["significance"]
  lines = []
  for dataset, name in grid_lib.CORPORA.items():
    key, what = CLAIM_SCORINGS[dataset]
    best = (summary.get("best_single_task") or {}).get(dataset)
    mine = _by_scoring(rows, f"{dataset}/mtl", best) if best else {}
    if key not in mine:
      lines.append(f"- **{name}**: MTL against the best single-task BERT row: "
                   "not run yet.")
      continue
    row = mine[key]
    if row["bootstrap"] is None:  # the best single-task row ran, MTL not yet
      lines.append(f"- **{name}**, {cells[row['a']]['label']} − "
                   f"{cells[row['b']]['label']} (the best single-task BERT "
                   "row so far): not run yet.")
      if dataset in CLEAN:
        lines.append(_clean_claim(dataset, name, rows, cells, key, what, best))
      continue
    reference = paper.mtl_minus(dataset, cells[row["b"]]["variant"], "f1")
    line = (f"- **{name}**, {cells[row['a']]['label']} − "
            f"{cells[row['b']]['label']}: {_pair(row, cells, what)}"
            + ("" if reference is None else
               f"; the paper: {reference:+.2f} F1") + ".")
    overlap = summary["meta"].get("peoples_daily_overlap")
    if dataset == "peoples_daily" and overlap:
      line += (f" But the MTL model trains on MSRA's train file, which holds "
               f"{100 * overlap['contained'] / overlap['sentences']:.1f}% of "
               "this test (normalized; the paper does not de-duplicate), so "
               "this measures what the model read there.")
      if UNSEEN in mine and mine[UNSEEN]["bootstrap"] is not None:
        line += (f" On the {overlap['unseen']} sentences left: "
                 f"{_pair(mine[UNSEEN], cells, 'them')}, and they still "
                 f"share {100 * overlap['unseen_5gram_cover']:.0f}% of their "
                 "5-grams with MSRA train.")
    lines.append(line)
    if dataset in CLEAN:
      lines.append(_clean_claim(dataset, name, rows, cells, key, what, best))
  ablations = [r for r in rows if r["b"] == "cluener/mtl"]
  done = [r for r in ablations if r["bootstrap"] is not None]
  lines.append("- **Ablations**, CLUENER2020 dev, each against the full "
               "multi-task model: " + ("; ".join(
                   f"{cells[r['a']]['label']}: {_pair(r, cells, 'dev')}"
                   for r in done) if done else "not run yet") + ".")
  lines += _cap_claim(rows, cells)
  return "\n".join(lines + _progress(summary))


def _progress(summary: Dict) -> List[str]:
  """The bullet on how far the grid is: runs recorded, how many stopped at
  their epoch cap, and what ``--plan`` estimates the rest costs (reports
  that say, ``plan.work_left``)."""
  left = summary["meta"].get("left")
  if not left or not left["runs"]:
    return []
  runs = summary["runs"]
  capped = sum(1 for r in runs if stopped_by(summary, r) == "cap")
  jobs = summary["meta"].get("jobs", 1)
  missing = sum(len(c["seeds"]) for c in left["cells"].values())
  return [f"- **The full grid so far**: {len(runs)} of "
          f"{len(runs) + missing} runs recorded, {capped} of them "
          f"stopped at their epoch cap; "
          + plan_lib.left_line(left, jobs)
          + " left (the report's \"Missing runs\")."]


def _clean_claim(dataset: str, name: str, rows: List[Dict], cells: Dict,
                 key: str, what: str, best: str) -> str:
  """The bullet of the clean multi-task cell (``grid._clean``): the one that
  measures the strategy, since its auxiliary corpora hold none of the main
  task's dev or test text."""
  head = (f"  - **{name}, clean**: the same without the auxiliary sentences "
          f"that hold, or are part of, {CLEAN[dataset]}: this one measures "
          "the strategy (the row above is the paper's setting, which did not "
          "de-duplicate)")
  row = _by_scoring(rows, f"{dataset}/mtl_clean", best).get(key)
  if row is None or row["bootstrap"] is None:
    return head + "; not run yet."
  return (f"{head}; {cells[row['a']]['label']} − {cells[row['b']]['label']}: "
          f"{_pair(row, cells, what)}.")


def _cap_claim(rows: List[Dict], cells: Dict) -> List[str]:
  """The bullet on the grid's own choice, the cap on auxiliary batches per
  epoch, once a corpus's uncapped pair has run (else nothing)."""
  parts = []
  for dataset in ("peoples_daily", "cluener"):
    mine = _by_scoring(rows, f"{dataset}/mtl_uncapped", f"{dataset}/mtl")
    key, what = CLAIM_SCORINGS[dataset]
    if key not in mine or mine[key]["bootstrap"] is None:
      continue
    part = f"{grid_lib.CORPORA[dataset]}: {_pair(mine[key], cells, what)}"
    if UNSEEN in mine and mine[UNSEEN]["bootstrap"] is not None:
      part += ("; on the sentences unseen in MSRA train: "
               + _pair(mine[UNSEEN], cells, "them"))
    parts.append(part)
  if not parts:
    return []
  return ["- **Our cap on auxiliary batches** (`--aux_ratio=1`, used by every "
          "multi-task cell above), without the cap − with it: "
          + "; ".join(parts) + "."]


ONE_PAIR = " (one seed pair)"  # a verdict whose training noise is unmeasured
# A verdict from fewer seeds than the grid plans: the rest may change it.
SEEDS_MISSING = " (seeds missing)"


def verdicts(summary: Optional[Dict], heed_cap: bool = True
             ) -> Dict[str, str]:
  """What a report shows on each claim, by claim: MTL against the best
  single-task BERT row on each corpus, and each ablation (``_verdict``'s
  words, without its explanations; ``ONE_PAIR`` marks a better or worse that
  rests on one seed pair, ``SEEDS_MISSING`` any other verdict of a pair with
  seeds still to run).

  Args:
    summary: a report's ``summary.json``, or None.
    heed_cap: when False, a run stopped at its epoch cap does not take the
      verdict away: the verdicts a report called before the cap rule (the
      former capped grid's).

  Returns:
    The verdict by claim; empty without a summary.
  """
  if not summary:
    return {}
  cells, rows = summary["cells"], summary["significance"]
  found = {}
  for dataset, name in grid_lib.CORPORA.items():
    key, _ = CLAIM_SCORINGS[dataset]
    best = (summary.get("best_single_task") or {}).get(dataset)
    row = _by_scoring(rows, f"{dataset}/mtl", best).get(key) if best else None
    found[f"{name}: MTL − the best single-task BERT row"] = row
  for row in rows:
    if row["b"] == "cluener/mtl" and row["a"].startswith("cluener/mtl_no_"):
      found[f"CLUENER2020: {cells[row['a']]['label']} − MTL"] = row
  result = {}
  for claim, row in found.items():
    if row is None:
      result[claim] = "not measured yet"
      continue
    capped = sum(1 for run in summary["runs"]
                 if run["cell"] in (row["a"], row["b"])
                 and stopped_by(summary, run) == "cap") if heed_cap else 0
    verdict = _verdict(row, capped).split(":")[0].split(" (")[0]
    one_pair = len(row["per_seed"]["deltas"]) == 1
    missing = any(cells[c].get("missing_seeds") for c in (row["a"], row["b"]))
    if one_pair and verdict in ("better", "worse"):
      verdict += ONE_PAIR
    elif missing and verdict != "not measured yet":
      verdict += SEEDS_MISSING
    result[claim] = verdict
  return result


def _undecided(verdict: str) -> bool:
  """A verdict that calls nothing yet: a run behind it capped or not run, or
  one seed pair, or seeds still to run."""
  return verdict in ("not called", "not measured yet") or \
      verdict.endswith((ONE_PAIR, SEEDS_MISSING))


def _compare(mine: Dict[str, str], theirs: Dict[str, str], names: tuple
             ) -> tuple:
  """Claim by claim, ``mine`` against ``theirs``: (the verdicts both reach,
  the texts of the claims where they differ, the texts of the claims where
  one side calls nothing yet). ``names`` are the two sides' names."""
  same, differ, open_ = [], [], []
  for claim, verdict in mine.items():
    other = theirs.get(claim, "not measured yet")
    text = f"{claim}: {names[0]} {verdict}, {names[1]} {other}"
    if verdict == other and not _undecided(verdict):
      same.append(verdict)
    elif _undecided(verdict) or _undecided(other):
      open_.append(text)
    else:
      differ.append(text)
  return same, differ, open_


def _counts(same: List[str]) -> str:
  """"n1 better, n2 worse, ...": how many claims reach each verdict."""
  return ", ".join(f"{n} {verdict}" for verdict, n in
                   sorted(collections.Counter(same).items()))


def _same_part(same: List[str]) -> str:
  """"the same verdict on N (n1 better, n2 worse, ...)"."""
  return f"the same verdict on {len(same)} ({_counts(same)})"


def verdict_line(cpu: Optional[Dict], full: Optional[Dict]) -> str:
  """One bullet: claim by claim, where the cpu preset's verdicts agree with
  the full report's, where they differ (a data-starved multi-task model may
  gain more), and where they cannot be compared yet because one side calls
  nothing (a run behind it capped, or not run) or rests on one seed pair."""
  mine, theirs = verdicts(cpu), verdicts(full)
  if not mine or not theirs:
    return ""
  same, differ, open_ = _compare(mine, theirs, ("cpu preset", "full preset"))
  if not differ and not open_:
    return ("- **The cpu preset** reaches the same verdict as the full "
            f"preset on every claim above ({_counts(same)}).")
  parts = [_same_part(same)] if same else []
  if differ:
    parts.append(f"**a different verdict on {len(differ)}** (it trains on "
                 "small subsets of each corpus, where what a multi-task "
                 "model gains may differ: " + "; ".join(differ) + ")")
  if open_:
    parts.append(f"no comparison yet on {len(open_)}, where one preset calls "
                 "nothing because a run behind the claim stopped at its "
                 "epoch cap or has not run, or rests on one seed pair or on "
                 "part of its seeds (" +
                 "; ".join(open_) + ")")
  return (f"- **The cpu preset against the full preset**, on the "
          f"{len(mine)} claims above: " + "; ".join(parts) + ".")


def convergence_line(former: Optional[Dict], full: Optional[Dict]) -> str:
  """One bullet: which of the former capped grid's verdicts survived
  convergence. The former grid's verdicts are taken as it called them (its
  runs stopped at their cap, which the rule of ``_verdict`` now refuses);
  the converged grid's as ``claims`` calls them.

  Args:
    former: the former full grid's ``summary.json`` (``FORMER_FULL``), or
      None.
    full: the full report's ``summary.json``, or None.

  Returns:
    The bullet, or "" without both reports.
  """
  then, now = verdicts(former, heed_cap=False), verdicts(full)
  if not then or not now:
    return ""
  same, differ, open_ = _compare(then, now, ("then", "now"))
  parts = [_same_part(same)] if same else []
  if differ:
    parts.append(f"**a different verdict on {len(differ)}** (" +
                 "; ".join(differ) + ")")
  if open_:
    parts.append(f"not settled yet on {len(open_)}, where the converged grid "
                 "has not run all the seeds of the claim (" +
                 "; ".join(open_) + ")")
  return ("- **The converged grid against the former capped one** (its "
          f"[report](docs/results/{FORMER_FULL}/REPORT.md): most runs "
          "stopped at their epoch cap; its verdicts as it called them, "
          f"capped runs and all), on the {len(then)} claims above: "
          + "; ".join(parts) + ".")


def readme_claims(root: str) -> str:
  results = os.path.join(root, "docs", "results")
  full = load(os.path.join(results, "full", "summary.json"))
  lines = [verdict_line(load(os.path.join(results, "cpu", "summary.json")),
                        full),
           convergence_line(load(os.path.join(results, FORMER_FULL,
                                              "summary.json")), full)]
  return "\n".join([claims(full)] + [line for line in lines if line])
