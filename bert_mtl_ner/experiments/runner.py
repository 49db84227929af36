"""Trains and scores one cell of the grid for one seed; one JSON file per run.

A run lives in ``RESULTS/runs/DATASET/VARIANT/seedN/``: the model directory
(``model/``), the predictions of every scoring in CoNLL format, and
``result.json`` (the best epoch, the scores, the wall time). A run whose
``result.json`` exists is not run again, so an interrupted grid resumes where it
stopped (and a half-trained model resumes from its last epoch).

With a record folder (``records``) a finished run is also written there as a
committed record, and a run whose record matches is not trained again on any
machine.
"""

import dataclasses
import json
import os
import shutil
import time
from typing import Dict, Optional, Sequence

from absl import logging

from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner.data import overlap
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import run_spec
from bert_mtl_ner.experiments.grid import Cell
from bert_mtl_ner.experiments.presets import Preset
from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun


def run_cell(base: TrainRun, cell: Cell, seed: int, preset: Preset,
             results_dir: str, locked: Sequence[str] = (),
             encoder: Optional[str] = None, rerun_stale: bool = False,
             code_version: str = "unknown", sharing: int = 1) -> Dict:
  """Trains and scores ``cell`` with ``seed`` unless its result exists.

  With ``preset.record_dir`` a matching committed record is returned as it is,
  a stale one is refused (or, with ``rerun_stale``, trained again), and a new
  result is written as a record. A new result records ``code_version`` and
  the machine, shared by ``sharing`` grid workers (``records.machine``).

  Returns:
    The content of the run's ``result.json`` (or of its record).

  Raises:
    UsageError: a stale record without ``rerun_stale``.
  """
  folder = run_spec.run_path(results_dir, cell, seed)
  result_path = os.path.join(folder, "result.json")
  run = run_spec.cell_run(base, cell, seed, folder, preset, locked)
  expected = run_spec.planned_identity(run, preset, encoder)
  record_file = None
  if preset.record_dir:
    record_file, recorded, diffs = records.lookup(
        preset.record_dir, cell.dataset, cell.variant, seed, expected)
    if recorded is not None:
      if not diffs:
        return recorded
      if not rerun_stale:
        raise UsageError(records.stale_message([(record_file, diffs)]))
  if run_spec.finished(folder):
    with open(result_path, encoding="utf-8") as stream:
      result = json.load(stream)
    if result.get("identity", expected) == expected:
      return _keep(result, record_file)
    logging.info("grid: %s seed %d was trained with other flags; again",
                 cell.name, seed)
    shutil.rmtree(folder)
  logging.info("grid: %s seed %d", cell.name, seed)
  start = time.time()
  best = run_lib.train(run)
  aux_removed = (best or {}).pop("aux_removed", None)
  # A run resumed after an interruption also counts its earlier epochs.
  earlier = (best or {}).pop("earlier_seconds", 0.0)
  train_seconds = time.time() - start + earlier
  tagger = inference.Tagger.from_model_dir(run.model_dir, run.eval_batch_size)
  scores, counts = {}, {}
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
    types = sorted(result["per_type"])
    counts[scoring.key] = dict(records.pack_counts(evaluation.sentence_counts(
        [s.tags for s in sentences], predictions, types)), types=types)
  config = run_dir.read_json(os.path.join(run.model_dir, "model_config.json"))
  bert = config.get("bert_config") or {}
  result = {
      "cell": cell.name, "dataset": cell.dataset, "variant": cell.variant,
      "label": cell.label, "seed": seed, "preset": preset.name,
      "best": best, "scores": scores,
      "train_seconds": round(train_seconds, 1),
      "wall_seconds": round(time.time() - start + earlier, 1),
      "model": {"name": config["model"],
                "bert": {k: bert.get(k) for k in (
                    "num_hidden_layers", "hidden_size", "num_attention_heads",
                    "intermediate_size")} if bert else None,
                "bert_model": run.bert_model if bert else None},
      "run": dataclasses.asdict(run),
      "identity": expected, "encoder_sha256": encoder,
      "code_version": code_version, "machine": records.machine(sharing),
      "sentence_counts": counts,
  }
  if aux_removed is not None:  # --aux_exclude: {corpus: sentences removed}
    result["aux_removed"] = aux_removed
  run_dir.write_json(result_path, result)
  keras.backend.clear_session()
  return _keep(result, record_file)


def _keep(result: Dict, record_file: Optional[str]) -> Dict:
  """Writes the committed record of ``result`` (without this machine's paths)
  when there is a record file and no record yet; returns what the report
  reads."""
  if not record_file:
    return result
  record = {k: v for k, v in result.items() if k not in ("run", "model")}
  record["model"] = dict(result["model"], bert_model=None)
  record["run"] = {k: v for k, v in result["run"].items()
                   if k not in records.NOT_IDENTITY}
  records.write(record_file, record)
  return record
