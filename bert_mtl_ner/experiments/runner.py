"""Trains and scores one cell of the grid for one seed; one JSON file per run.

A run lives in ``RESULTS/runs/DATASET/VARIANT/seedN/``: the model directory
(``model/``), the predictions of every scoring in CoNLL format, and
``result.json`` (the best epoch, the scores, the wall time). A run whose
``result.json`` exists is not run again, so an interrupted grid resumes where it
stopped (and a half-trained model resumes from its last epoch).
"""

import dataclasses
import json
import os
import time
from typing import Dict

from absl import logging

from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner.data import overlap
from bert_mtl_ner.experiments.grid import Cell
from bert_mtl_ner.experiments.presets import Preset
from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun


def run_path(results_dir: str, cell: Cell, seed: int) -> str:
  return os.path.join(results_dir, "runs", cell.dataset, cell.variant,
                      f"seed{seed}")


def finished(folder: str) -> bool:
  return os.path.exists(os.path.join(folder, "result.json"))


def cell_run(base: TrainRun, cell: Cell, seed: int, folder: str) -> TrainRun:
  """The ``TrainRun`` of one cell and seed on top of ``base``."""
  changes = {k: (list(v) if isinstance(v, tuple) else v)
             for k, v in cell.overrides}
  changes.setdefault("aux_tasks", [])
  changes.setdefault("unlabeled", None)
  return dataclasses.replace(base, dataset=cell.dataset, seed=seed,
                             model_dir=os.path.join(folder, "model"),
                             train_file=None, dev_file=None, **changes)


def run_cell(base: TrainRun, cell: Cell, seed: int, preset: Preset,
             results_dir: str) -> Dict:
  """Trains and scores ``cell`` with ``seed`` unless its result exists.

  Returns:
    The content of the run's ``result.json``.
  """
  folder = run_path(results_dir, cell, seed)
  result_path = os.path.join(folder, "result.json")
  if finished(folder):
    with open(result_path, encoding="utf-8") as stream:
      return json.load(stream)
  run = cell_run(base, cell, seed, folder)
  logging.info("grid: %s seed %d", cell.name, seed)
  start = time.time()
  best = run_lib.train(run)
  train_seconds = time.time() - start
  tagger = inference.Tagger.from_model_dir(run.model_dir, run.eval_batch_size)
  scores = {}
  for scoring in cell.scorings:
    sentences, removed = overlap.read_deduplicated(
        scoring.dataset, scoring.split, list(
            overlap.parse_refs(",".join(scoring.dedup_against))), run.data_dir)
    if preset.eval_limit:
      sentences = sentences[:preset.eval_limit]
    result, predictions = evaluation.evaluate_sentences(tagger, sentences)
    evaluation.write_conll(os.path.join(folder, f"{scoring.key}.conll"),
                           sentences, predictions)
    scores[scoring.key] = dict(result, sentences=len(sentences),
                               removed_as_duplicates=removed)
  config = run_dir.read_json(os.path.join(run.model_dir, "model_config.json"))
  bert = config.get("bert_config") or {}
  result = {
      "cell": cell.name, "dataset": cell.dataset, "variant": cell.variant,
      "label": cell.label, "seed": seed, "preset": preset.name,
      "best": best, "scores": scores,
      "train_seconds": round(train_seconds, 1),
      "wall_seconds": round(time.time() - start, 1),
      "model": {"name": config["model"],
                "bert": {k: bert.get(k) for k in (
                    "num_hidden_layers", "hidden_size", "num_attention_heads",
                    "intermediate_size")} if bert else None,
                "bert_model": run.bert_model if bert else None},
      "run": dataclasses.asdict(run),
  }
  run_dir.write_json(result_path, result)
  keras.backend.clear_session()
  return result
