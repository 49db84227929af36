"""Whether a trained run may be shipped, and the other runs it is chosen over.

A shipped model's runs must have stopped by early stopping
(``check_stopped_early``).
Between runs of one architecture with other settings, the choice is by dev F1
on the names unseen in training (``ALTERNATIVES_RULE``, ``alternatives``).
Between architectures, the card sets the run beside the rows of a grid report
(``candidates``).
No absl flags here: ``ship`` is the app, and tests import this module.
"""

import json
import os
from typing import Callable, Dict, List

from bert_mtl_ner import run_dir
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import records


def check_stopped_early(name: str, history: Dict, run_flags: Dict) -> None:
  """Raises UsageError unless the run ``name`` (``run_dir.run_history``'s
  ``history``) was stopped by early stopping."""
  ran = (f"{name} ran {history['epochs_run']} of {run_flags['epochs']} "
         f"epochs with its best at {history['best_epoch']}")
  if history["stopped_by"] == "cap":
    raise UsageError(f"{ran}: it stopped at its cap, not by early stopping; "
                     "train it further")
  if history["stopped_by"] == "unfinished":
    raise UsageError(f"{ran} and has not stopped (patience "
                     f"{run_flags['patience']}): it is still training, or was "
                     "killed; let it finish")


def runs_of(model_dir: str, run_flags: Dict) -> List[Dict]:
  """The training runs behind a model directory: itself, or the members of
  an ensemble (``bert_mtl_ner.ensemble``'s ``members.json``, recorded when it
  was assembled). Each is ``{"name", "flags", "history"}``
  (``run_dir.run_history``)."""
  if run_flags["model"] == "ensemble":
    return run_dir.read_json(os.path.join(model_dir, run_dir.MEMBERS))
  return [{"name": os.path.basename(os.path.normpath(model_dir)),
           "flags": run_flags,
           "history": run_dir.run_history(model_dir, run_flags)}]


ALTERNATIVES_RULE = (
    "dev F1 on the names unseen in training: a dev split drawn at random "
    "from the training file shares articles, and so names, with train, and "
    "its overall F1 rewards remembering names; the names a shipped model "
    "meets are mostly new")
_IGNORED_FLAGS = ("model_dir", "data_dir", "progress")


def flag_differences(run_flags: Dict, reference: Dict) -> List[str]:
  """``flag=value`` for each flag of ``run_flags`` that differs from
  ``reference`` (paths by their last part; run folders and progress left
  out; a flag added after a run was made has the value it had then)."""
  run_flags = {**records.ADDED_LATER, **run_flags}
  reference = {**records.ADDED_LATER, **reference}
  shown = lambda v: os.path.basename(v.rstrip("/")) if isinstance(
      v, str) and "/" in v else v
  return [f"{k}={shown(run_flags.get(k))}" for k in sorted(
      set(run_flags) | set(reference))
          if k not in _IGNORED_FLAGS and run_flags.get(k) != reference.get(k)]


def alternatives(model_dir: str, run_flags: Dict, paths: List[str],
                 score: Callable[[str], Dict], split: str) -> Dict:
  """This run and the runs at ``paths`` scored for the choice
  (``ALTERNATIVES_RULE``).

  Args:
    model_dir: the run to ship; ``run_flags`` its flags. For an ensemble,
      each alternative's settings are compared with those of the member
      nearest to it (the fewest differences).
    paths: the other runs' model directories.
    score: a model directory -> its ``choice_scores`` on ``split``.
    split: the split scored (the fit split, dev).

  Returns:
    ``{"rule", "split", "this": scores, "runs": [{"name", "differs",
    "member", "stopped_by", "epochs_run", "dev": scores}]}``; ``member``
    marks a run with a member's very settings (for an ensemble).

  Raises:
    UsageError: an alternative does better than this run by the rule.
  """
  unseen_f1 = lambda scores: scores["novelty"].get("unseen", {}).get("f1", 0.0)
  references = [run["flags"] for run in runs_of(model_dir, run_flags)]
  own = score(model_dir)
  runs = []
  for path in paths:
    other_flags = run_dir.read_json(os.path.join(path, "flags.json"))
    history = run_dir.run_history(path, other_flags)
    differs = min((flag_differences(other_flags, reference)
                   for reference in references), key=len)
    runs.append({"name": os.path.basename(os.path.normpath(path)),
                 "differs": differs,
                 # An ensemble's member alone: the ensemble's gain over it.
                 "member": len(references) > 1 and not differs,
                 "stopped_by": history["stopped_by"],
                 "epochs_run": history["epochs_run"], "dev": score(path)})
    if unseen_f1(runs[-1]["dev"]) > unseen_f1(own):
      raise UsageError(
          f"{path} does better on {split} names unseen in train (F1 "
          f"{unseen_f1(runs[-1]['dev']):.2f} against {unseen_f1(own):.2f}): "
          "ship that run instead")
  return {"rule": ALTERNATIVES_RULE, "split": split, "this": own,
          "runs": runs}


def candidates(report_path: str, dataset: str) -> List[Dict]:
  """The rows of a grid report (its ``summary.json``) on ``dataset``.

  Args:
    report_path: the report's ``summary.json``.
    dataset: the registered dataset of the shipped run.

  Returns:
    One dict per row: its cell and label, mean dev F1, seeds, how many of
    them stopped at their epoch cap (``capped``), and ``dev_in_training``,
    set when its dev score cannot choose: a multi-task row in the paper's
    setting on MSRA or People's Daily trains on auxiliary text that holds
    that dev (``data --action=overlap``).
  """
  with open(report_path, encoding="utf-8") as stream:
    cells = json.load(stream)["cells"]
  rows = []
  for name, cell in cells.items():
    dev = cell.get("dev_f1") or {}
    if cell["dataset"] != dataset or dev.get("mean") is None:
      continue
    leaks = (dataset in ("msra", "peoples_daily")
             and cell["variant"].startswith("mtl")
             and cell["variant"] != "mtl_clean")
    rows.append({"cell": name, "label": cell["label"], "dev_f1": dev["mean"],
                 "seeds": len(cell["seeds"]),
                 "capped": cell["stopped_by"].count("cap"),
                 "dev_in_training": leaks})
  return rows
