"""The runs a grid will make, their state and their estimated cost.

``build_plan`` lists every (cell, seed) of a preset with its ``TrainRun`` and
its state: ``recorded`` (a matching committed record), ``stale`` (a record made
with other flags or another encoder), ``done`` (finished in the results folder,
not yet recorded), ``todo``, or ``waiting`` (extra seeds of the best
single-task BERT row, known once the first seed of each candidate has run).

The estimate of a run, in order of preference:

1. the seconds per epoch of the same cell's finished runs (any seed), times
   the epochs expected (a seed's epochs vary far more than its seconds per
   epoch: one run's wall time says little of the next one's);
2. the seconds per epoch of the finished runs of the other cells of the same
   model (those on the same corpus when there are any: an ablation borrows its
   multi-task cell's, ``mtl_uncapped`` its corpus's ``mtl``), each scaled by
   how much more one epoch of this run costs than one of theirs at the rates
   of ``throughput.json`` (below; it counts the sentences an epoch trains and
   tags, so a run without the auxiliary cap costs more), times the epochs
   expected. These runs trained under the current settings and code; the
   stale records of the next rule did not, and were often timed on another
   machine;
3. the seconds per epoch of the same cell's stale records (made with other
   settings, on the same corpora and model), times the epochs expected;
4. throughput measured on this machine (``bench/grid_speed.py`` writes
   ``throughput.json`` beside the records: sentences/s of training and tagging
   for each model and corpus), times the sentences an epoch trains and tags,
   times the epochs expected, scaled by how far such estimates fell from the
   wall time of the runs that did finish (1 when none has).

The epochs expected of a run that early stopping ends: the median epochs of
the finished runs of the same model that stopped early once there are
``MIN_RUNS`` of them, else of the runs of every model that stopped early (one
run is no median); the cap while none has (the estimate is then an upper
bound). A stale record of the same cell that its cap stopped raises that to
its best epoch plus ``patience``: the run was still improving there, and
would have trained at least that long; once early stopping has ended a run of
the cell under the current settings, that run says how long it takes, and the
floor goes. A finished run costs its own wall time.
"""

import dataclasses
import json
import os
import statistics
from typing import Dict, List, Optional, Sequence

from bert_mtl_ner.experiments import presets as presets_lib
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import run_spec
from bert_mtl_ner.experiments.grid import Cell
from bert_mtl_ner.training.run_config import TrainRun

THROUGHPUT = "throughput.json"
MIN_RUNS = 3  # finished runs of a model before its own median is used


@dataclasses.dataclass
class PlannedRun:
  cell: Cell
  seed: int
  run: TrainRun
  state: str
  result: Optional[Dict] = None
  estimate_seconds: Optional[float] = None
  note: str = ""
  stale: List[str] = dataclasses.field(default_factory=list)
  former: Optional[Dict] = None  # the stale record

  @property
  def finished(self) -> bool:
    return self.state in ("recorded", "done")


def _local_result(folder: str) -> Optional[Dict]:
  path = os.path.join(folder, "result.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as stream:
    return json.load(stream)


def _state(cell: Cell, seed: int, run: TrainRun, preset, encoder,
           results_dir: str):
  """(state, result, differences, stale record) of one planned run."""
  expected = run_spec.planned_identity(run, preset, encoder)
  if preset.record_dir:
    _, recorded, diffs = records.lookup(preset.record_dir, cell.dataset,
                                        cell.variant, seed, expected)
    if recorded is not None:
      return (("stale", None, diffs, recorded) if diffs
              else ("recorded", recorded, [], None))
  local = _local_result(run_spec.run_path(results_dir, cell, seed))
  if local is not None and local.get("identity", expected) == expected:
    return "done", local, [], None
  return "todo", None, [], None


def best_cells(preset, results: Sequence[Dict], cells: Sequence[Cell]
               ) -> Dict[str, Optional[str]]:
  """Per corpus, the cell of ``preset.best_of`` with the best dev F1 of its
  first seed; None while a candidate's first seed has not run."""
  first = min(preset.claim_seeds or preset.seeds)
  best = {}
  for dataset in {c.dataset for c in cells}:
    candidates = [c.name for c in cells if c.dataset == dataset
                  and c.variant in preset.best_of]
    if not candidates:
      continue
    dev = {}
    for name in candidates:
      found = [r for r in results if r["cell"] == name and r["seed"] == first
               and r.get("best")]
      if found:
        dev[name] = found[0]["best"]["dev_f1"]
    best[dataset] = (max(dev, key=dev.get) if len(dev) == len(candidates)
                     else None)
  return best


def priority(cell: Cell, preset) -> int:
  """Which runs come first: 0 for the rows the paper's claims rest on (the
  multi-task rows and the single-task BERT rows the best is chosen among), 1
  for the ablations, 2 for the rest."""
  if cell.variant in ("mtl", "mtl_clean") or cell.variant in preset.best_of:
    return 0
  return 1 if cell.variant.startswith("mtl_no_") else 2


def build_plan(cells: Sequence[Cell], preset, base: TrainRun,
               default_seeds: Sequence[int], locked: Sequence[str],
               encoder: Optional[str], results_dir: str) -> List[PlannedRun]:
  """Every run of the grid: the claim rows first, then the ablations, then
  the rest (``priority``), each first seeds first (see the module
  docstring)."""

  def planned(cell, seed, state_note="", undecided=False):
    folder = run_spec.run_path(results_dir, cell, seed)
    run = run_spec.cell_run(base, cell, seed, folder, preset, locked)
    state, result, diffs, former = _state(cell, seed, run, preset, encoder,
                                          results_dir)
    if state == "todo" and undecided:
      state = "waiting"
    return PlannedRun(cell, seed, run, state, result, note=state_note,
                      stale=diffs, former=former)

  runs = [planned(c, s) for c in cells for s in presets_lib.seeds_of(
      preset, c.name, default_seeds)]
  if preset.claim_seeds and preset.best_of:
    best = best_cells(preset, [r.result for r in runs if r.finished], cells)
    extra = [s for s in preset.claim_seeds if s not in default_seeds]
    for cell in cells:
      if cell.variant not in preset.best_of or not extra:
        continue
      winner = best.get(cell.dataset)
      if winner is None:
        note = ("if best of " + "/".join(preset.best_of) + " by dev F1 of "
                "the first seed")
        runs += [planned(cell, s, note, undecided=True) for s in extra]
      elif winner == cell.name:
        runs += [planned(cell, s, "best single-task BERT row by dev F1")
                 for s in extra]
  order = {c.name: i for i, c in enumerate(cells)}
  runs.sort(key=lambda r: (priority(r.cell, preset), r.seed,
                           order[r.cell.name]))
  return runs


def load_throughput(record_dir: Optional[str]) -> Optional[Dict]:
  path = os.path.join(record_dir or "", THROUGHPUT)
  if not record_dir or not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as stream:
    return json.load(stream)


def _measured_estimate(run: TrainRun, cell: Cell, throughput: Dict,
                       epochs: Optional[float] = None) -> Optional[float]:
  """Seconds for ``run`` at the measured rates, for ``epochs`` (default: its
  cap)."""
  model = "mtl" if run.model == "mtl" else run.model
  rate = throughput["rates"].get(f"{cell.dataset}/{model}")
  if rate is None:
    return None
  size = lambda dataset, split: throughput["sizes"].get(f"{dataset}:{split}",
                                                        0)
  main = size(cell.dataset, "train")
  trained = main
  tagged = size(cell.dataset, "dev")
  if run.model == "mtl":
    aux = sum(size(a, "train") for a in run.aux_tasks)
    unlabeled = size(*run.unlabeled.split(":")) if run.unlabeled else 0
    others = aux + unlabeled
    trained += min(others, run.aux_ratio * main) if run.aux_ratio else others
    tagged += aux + 2 * unlabeled  # sample weights and pseudo-labels
  evaluation = sum(size(s.dataset, s.split) for s in cell.scorings)
  epochs = run.epochs if epochs is None else epochs
  return (epochs * (trained / rate["train"] + tagged / rate["predict"])
          + evaluation / rate["predict"])


def _epoch_cost(run: TrainRun, cell: Cell, throughput: Dict
                ) -> Optional[float]:
  """Seconds one epoch of ``run`` costs at the rates of ``throughput`` (the
  sentences it trains and tags), without the scoring at its end."""
  one = _measured_estimate(run, cell, throughput, 1)
  return None if one is None else one - _measured_estimate(run, cell,
                                                           throughput, 0)


def borrowed_rates(plan: Sequence[PlannedRun], by_cell: Dict[str, List[float]],
                   throughput: Optional[Dict]) -> Dict[str, float]:
  """Per cell without a finished run, seconds per epoch from the finished
  runs of the cells of its model (``by_cell``: their seconds per epoch), each
  scaled by the ratio of the two cells' ``_epoch_cost``: the cells on its
  corpus when there are any, else those on every corpus (their mean)."""
  if not throughput:
    return {}
  cells = {}
  for r in plan:
    cells.setdefault(r.cell.name, r)
  costs = {name: _epoch_cost(r.run, r.cell, throughput)
           for name, r in cells.items()}
  borrowed = {}
  for name, r in cells.items():
    if name in by_cell or not costs[name]:
      continue
    found: Dict[bool, List[float]] = {}
    for other in by_cell:
      if cells[other].run.model == r.run.model and costs.get(other):
        found.setdefault(cells[other].cell.dataset == r.cell.dataset,
                         []).append(statistics.mean(by_cell[other])
                                    * costs[name] / costs[other])
    rates = found.get(True) or found.get(False)
    if rates:
      borrowed[name] = statistics.mean(rates)
  return borrowed


def _epochs_run(result: Dict) -> Optional[int]:
  return (result.get("best") or {}).get("epochs_run")


def finished_epochs(plan: Sequence[PlannedRun]) -> Dict[str, List[int]]:
  """Per model (and ``""`` for every model), the epochs of the finished runs
  that early stopping ended."""
  ran: Dict[str, List[int]] = {}
  for r in plan:
    if r.finished and records.stopped_by(r.result) == "early_stopping" \
        and _epochs_run(r.result):
      for key in (r.run.model, ""):
        ran.setdefault(key, []).append(_epochs_run(r.result))
  return ran


def expected_epochs(ran: Dict[str, List[int]]) -> Dict[str, float]:
  """Per model (and ``""`` for any), the median of ``ran``
  (``finished_epochs``): a model with fewer than ``MIN_RUNS`` runs gets the
  median of all."""
  if not ran:
    return {}
  pooled = statistics.median(ran[""])
  return {k: statistics.median(v) if k and len(v) >= MIN_RUNS else pooled
          for k, v in ran.items()}


def capped_floors(plan: Sequence[PlannedRun]) -> Dict[str, int]:
  """Per cell, the epochs its capped stale records show it needs at least:
  their best epoch plus the planned ``patience``; none for a cell with a
  finished run that early stopping ended."""
  ended = {r.cell.name for r in plan if r.finished
           and records.stopped_by(r.result) == "early_stopping"}
  floors: Dict[str, int] = {}
  for r in plan:
    if r.cell.name in ended:
      continue
    epoch = ((r.former or {}).get("best") or {}).get("epoch")
    if epoch and records.stopped_by(r.former) == "cap":
      floors[r.cell.name] = max(floors.get(r.cell.name, 0),
                                epoch + r.run.patience)
  return floors


def add_estimates(plan: List[PlannedRun], throughput: Optional[Dict]) -> str:
  """Fills ``estimate_seconds`` of every run; returns how they were made."""
  finished = [r for r in plan if r.finished]

  def seconds_per_epoch(results):
    rates: Dict[str, List[float]] = {}
    for cell, result in results:
      if result and result.get("wall_seconds") and _epochs_run(result):
        rates.setdefault(cell, []).append(
            result["wall_seconds"] / _epochs_run(result))
    return rates
  by_cell = seconds_per_epoch((r.cell.name, r.result) for r in finished)
  per_epoch = seconds_per_epoch((r.cell.name, r.former) for r in plan)
  counts = finished_epochs(plan)
  typical = expected_epochs(counts)
  floors = capped_floors(plan)

  def epochs(r):
    return min(r.run.epochs, max(floors.get(r.cell.name, 0), typical.get(
        r.run.model, typical.get("", r.run.epochs))))
  ratios = []
  if throughput:  # finished runs and stale records: wall time measured here
    for r, done in [(r, r.result) for r in finished] + [
        (r, r.former) for r in plan if r.former]:
      measured = _measured_estimate(r.run, r.cell, throughput,
                                    _epochs_run(done))
      if measured and done.get("wall_seconds"):
        ratios.append(done["wall_seconds"] / measured)
  scale = statistics.median(ratios) if ratios else 1.0
  # Stale records were timed under other settings, code and loads: where a
  # cell has both, how much slower (or faster) its finished runs' epochs are.
  drifts = [statistics.mean(by_cell[c]) / statistics.mean(per_epoch[c])
            for c in sorted(set(by_cell) & set(per_epoch))]
  drift = statistics.median(drifts) if drifts else 1.0
  borrowed = borrowed_rates(plan, by_cell, throughput)
  for r in plan:
    if r.finished:
      r.estimate_seconds = r.result["wall_seconds"]
    elif r.cell.name in by_cell:
      r.estimate_seconds = statistics.mean(by_cell[r.cell.name]) * epochs(r)
    elif r.cell.name in borrowed:
      r.estimate_seconds = borrowed[r.cell.name] * epochs(r)
    elif r.cell.name in per_epoch:
      r.estimate_seconds = (statistics.mean(per_epoch[r.cell.name]) * drift
                            * epochs(r))
    elif throughput:
      measured = _measured_estimate(r.run, r.cell, throughput, epochs(r))
      r.estimate_seconds = measured * scale if measured else None
    else:
      r.estimate_seconds = None
  if typical:
    expect = ("epochs expected: " + ", ".join(
        f"{k or 'any model'} {v:g} ({len(counts[k])} run"
        f"{'s' if len(counts[k]) > 1 else ''})"
        for k, v in sorted(typical.items()))
              + " (median of the finished runs that stopped early: of the "
              f"model's own once it has {MIN_RUNS}, else of every model's)")
  else:
    expect = ("epochs expected: the cap (no finished run stopped early yet: "
              "an upper bound)")
  if floors:
    expect += (f"; at least the best epoch plus patience of a cell's stale "
               f"records that their cap stopped ({len(floors)} cell"
               f"{'s' if len(floors) > 1 else ''})")
  stale = "its stale records"
  if drifts:
    stale += (f" times {drift:.2f} (median over the {len(drifts)} cell"
              f"{'s' if len(drifts) > 1 else ''} with both of their finished "
              "runs' seconds per epoch over their stale records')")
  if not throughput:
    return ("no throughput.json: estimates only for cells with a finished "
            f"run or a stale record (the seconds per epoch of the cell's "
            f"finished runs, else of {stale}; python bench/grid_speed.py "
            f"--output_json=...); {expect}")
  return (f"estimates: the seconds per epoch of the same cell's finished "
          f"runs, else of the finished runs of the cells of its model (on its "
          f"corpus if any) times the ratio of an epoch's cost at the rates of "
          f"{THROUGHPUT} ({len(borrowed)} cell"
          f"{'s' if len(borrowed) != 1 else ''}), else of {stale}, else the rates of {THROUGHPUT} "
          f"({throughput['command']}) scaled by {scale:.2f} (median of "
          f"recorded runs' wall time over their estimate from those rates, "
          f"{len(ratios)} runs, stale ones included), times the epochs "
          f"expected; {expect}")


def format_plan(plan: Sequence[PlannedRun], how: str, jobs: int) -> str:
  """The plan as a table, with totals of what is left."""

  def hours(seconds):
    return "?" if seconds is None else f"{seconds / 3600:.2f} h"

  lines = [f"{'cell':36s} {'seed':>4s} {'state':9s} {'epochs':>6s} "
           f"{'estimate':>9s}  note"]
  for r in plan:
    lines.append(f"{r.cell.name:36s} {r.seed:4d} {r.state:9s} "
                 f"{r.run.epochs:6d} {hours(r.estimate_seconds):>9s}  {r.note}")
  counts = {s: sum(1 for r in plan if r.state == s)
            for s in ("recorded", "done", "todo", "waiting", "stale")}
  lines += ["", "runs: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
            "left: " + left_line(work_left(plan), jobs), how]
  return "\n".join(lines)


def work_left(plan: Sequence[PlannedRun]) -> Dict:
  """What the unfinished runs of ``plan`` still cost: ``runs``, ``estimated``
  (how many have an estimate), ``seconds`` of one worker (an undecided
  best-of seed counts its dearer candidate only) and ``cells``: {cell name:
  {"seeds": [...], "seconds": the sum of their estimates or None}} of the
  unfinished runs that are not waiting for the best-of choice."""
  left = [r for r in plan if not r.finished]  # stale runs train again
  known = [r for r in left if r.estimate_seconds is not None]
  waiting: Dict[tuple, float] = {}
  for r in known:
    if r.state == "waiting":
      key = (r.cell.dataset, r.seed)
      waiting[key] = max(waiting.get(key, 0.0), r.estimate_seconds)
  total = sum(r.estimate_seconds for r in known if r.state != "waiting")
  cells: Dict[str, Dict] = {}
  for r in left:
    if r.state == "waiting":
      continue
    cell = cells.setdefault(r.cell.name, {"seeds": [], "seconds": 0.0})
    cell["seeds"].append(r.seed)
    if r.estimate_seconds is None or cell["seconds"] is None:
      cell["seconds"] = None
    else:
      cell["seconds"] += r.estimate_seconds
  return {"runs": len(left), "estimated": len(known),
          "seconds": total + sum(waiting.values()), "cells": cells}


def left_line(left: Dict, jobs: int) -> str:
  """The words that total what is left (``work_left``): a lower bound when
  some runs have no estimate, and no hours at all when none has."""
  seconds, runs, estimated = left["seconds"], left["runs"], left["estimated"]
  if runs and not estimated:
    return f"{runs} runs, none with an estimate"
  bound = "at least " if estimated < runs else ""
  line = f"{bound}{seconds / 3600:.2f} h of one worker"
  if jobs > 1:
    line += (f", {bound or 'about '}{seconds / 3600 / jobs:.2f} h with {jobs} "
             f"workers")
  if estimated < runs:
    missing = runs - estimated
    line += f" ({missing} run{'s' if missing > 1 else ''} without an estimate)"
  return line
