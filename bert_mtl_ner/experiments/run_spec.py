"""A grid run as planned: its folder, its ``TrainRun`` and its identity.

No TensorFlow here: ``--plan`` and ``--report`` read the grid's runs through
this module, and only ``runner`` (which trains them) imports the training code.
"""

import dataclasses
import os
from typing import Dict, Optional, Sequence

from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments.grid import Cell
from bert_mtl_ner.experiments.presets import Preset
from bert_mtl_ner.training.run_config import TrainRun


def run_path(results_dir: str, cell: Cell, seed: int) -> str:
  """The folder of one cell's run for one seed."""
  return os.path.join(results_dir, "runs", cell.dataset, cell.variant,
                      f"seed{seed}")


def finished(folder: str) -> bool:
  """The run in ``folder`` has its ``result.json``."""
  return os.path.exists(os.path.join(folder, "result.json"))


def cell_run(base: TrainRun, cell: Cell, seed: int, folder: str,
             preset: Optional[Preset] = None,
             locked: Sequence[str] = ()) -> TrainRun:
  """The ``TrainRun`` of one cell and seed on top of ``base``.

  Args:
    base: defaults < preset < command line.
    cell: the cell; its own fields come last.
    seed: the seed.
    folder: the run's folder.
    preset: its ``cell_overrides`` apply before the cell's fields.
    locked: fields given on the command line, which ``cell_overrides`` leave
      alone.
  """
  changes = {k: v for k, v in (preset.overrides_for(cell.name) if preset
                               else {}).items() if k not in locked}
  changes.update({k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in cell.overrides})
  changes.setdefault("aux_tasks", [])
  changes.setdefault("unlabeled", None)
  return dataclasses.replace(base, dataset=cell.dataset, seed=seed,
                             model_dir=os.path.join(folder, "model"),
                             train_file=None, dev_file=None, **changes)


def planned_identity(run: TrainRun, preset: Preset,
                     encoder: Optional[str]) -> Dict:
  """The identity (``records.identity``) of a planned run, with the preset's
  evaluation subset."""
  return dict(records.identity(dataclasses.asdict(run), encoder),
              eval_limit=preset.eval_limit)
