"""A pool-based active-learning simulation on a labelled corpus.

The training split is the pool, its labels hidden from the selection. Each
seed draws ``initial`` random sentences; then, for each strategy, ``rounds``
times: train a model from scratch on the labelled sentences, score it on the
development split (macro F1), and pick ``step`` more sentences from the rest of
the pool with the strategy (``bert_mtl_ner.select.select``: the same code a
team runs, diversity guard included). The labels of the picked sentences are
then "annotated", i.e. revealed. The first round (the random start) is shared
by every strategy of a seed (trained once, in the scratch folder).

Every finished round is written at once to ``record_dir`` as one JSON file per
strategy and seed (with the indices picked next), so an interrupted simulation
resumes at the next round, on this machine or another, and a finished
trajectory is never trained again.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import time
from typing import Dict, List, Optional, Sequence

from absl import logging
import numpy as np

from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner.active import pool as pool_lib
from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.io_utils import atomic_open, atomic_write_text
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun


@dataclasses.dataclass(frozen=True)
class Simulation:
  """What to simulate.

  Attributes:
    dataset: registered corpus (its ``train`` is the pool, ``dev`` scores).
    strategies: ``active.strategies.STRATEGIES`` to compare.
    seeds: one trajectory per strategy and seed.
    initial: random sentences labelled first.
    step: sentences picked per round.
    rounds: rounds of picking after the start.
    diversity: the selection's near-duplicate threshold.
    train: ``TrainRun`` fields of the model retrained each round.
  """
  dataset: str = "cluener"
  strategies: Sequence[str] = ("random", "confid", "min_entity_score")
  seeds: Sequence[int] = (1, 2, 3)
  initial: int = 500
  step: int = 500
  rounds: int = 5
  diversity: float = 0.7
  train: Dict = dataclasses.field(default_factory=dict)

  def identity(self) -> Dict:
    """What a record must match to be continued (not the seeds or the
    strategies, which only name records)."""
    return {"dataset": self.dataset, "initial": self.initial,
            "step": self.step, "rounds": self.rounds,
            "diversity": self.diversity, "train": dict(sorted(
                self.train.items()))}


def record_path(record_dir: str, strategy: str, seed: int) -> str:
  return os.path.join(record_dir, f"{strategy}_seed{seed}.json")


def load_record(path: str, simulation: Simulation) -> Optional[Dict]:
  """The record at ``path`` if it was made by the same simulation."""
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as stream:
    record = json.load(stream)
  if record.get("identity") != simulation.identity():
    raise ValueError(f"{path} was made with other settings; move it away to "
                     "start that trajectory again")
  return record


def _write_doccano(path: str, sentences: Sequence[Sentence]) -> None:
  with atomic_open(path) as out:
    for sentence in sentences:
      spans = tags_lib.tags_to_spans(sentence.tags)
      out.write(json.dumps(annotation.doccano_record(sentence.text, [
          {"start": s.start, "end": s.end, "type": s.type} for s in spans]),
                           ensure_ascii=False) + "\n")


def train_and_score(simulation: Simulation, labelled: Sequence[Sentence],
                    dev_file: str, dev: Sequence[Sentence], seed: int,
                    folder: str, reuse: bool = False):
  """Trains a fresh model on ``labelled`` in ``folder``.

  Args:
    reuse: keep a model ``folder`` already holds (the shared start of a
      seed) instead of training again.

  Returns:
    (result: dev scores, best epoch, seconds, labelled count; the tagger).
  """
  done = os.path.join(folder, "result.json")
  if reuse and os.path.exists(done):
    with open(done, encoding="utf-8") as stream:
      result = json.load(stream)
    return result, inference.Tagger.from_model_dir(
        os.path.join(folder, "model"))
  shutil.rmtree(folder, ignore_errors=True)
  os.makedirs(folder)
  train_file = os.path.join(folder, "train.jsonl")
  _write_doccano(train_file, labelled)
  run = dataclasses.replace(
      TrainRun(), **simulation.train, train_file=train_file,
      dev_file=dev_file, file_format="doccano", seed=seed,
      model_dir=os.path.join(folder, "model"), progress=False)
  start = time.time()
  best = run_lib.train(run)
  tagger = inference.Tagger.from_model_dir(run.model_dir, run.eval_batch_size)
  scores, _ = evaluation.evaluate_sentences(tagger, list(dev))
  result = {"labelled": len(labelled),
            "scores": {"macro_f1": scores["macro_f1"], "f1": scores["f1"],
                       "per_type": {t: row["f1"] for t, row in
                                    scores["per_type"].items()}},
            "best_epoch": best["epoch"] if best else None,
            "seconds": round(time.time() - start, 1)}
  atomic_write_text(done, json.dumps(result, indent=1) + "\n")
  return result, tagger


def pick(tagger: inference.Tagger, pool: Sequence[Sentence],
         labelled: set, strategy: str, simulation: Simulation,
         seed: int, round_index: int) -> List[int]:
  """Indices of the pool sentences ``strategy`` picks next."""
  documents = ((i, s.text) for i, s in enumerate(pool) if i not in labelled)
  chosen = pool_lib.select(tagger, documents, simulation.step, strategy,
                             simulation.diversity, seed=seed * 1000 +
                             round_index, batch_size=tagger.batch_size,
                             with_entities=False)
  return [c.index for c in chosen]


def run(simulation: Simulation, record_dir: str, work_dir: str,
        data_dir: Optional[str] = None,
        after_round=lambda path: None) -> List[str]:
  """Runs (or resumes) every trajectory; returns the record paths.

  Args:
    simulation: what to run.
    record_dir: where the records are kept.
    work_dir: scratch space for training files and models.
    data_dir: the corpora.
    after_round: called with a record's path after each round is written.
  """
  work_dir = os.path.join(work_dir, hashlib.sha256(json.dumps(
      simulation.identity(), sort_keys=True).encode()).hexdigest()[:10])
  pool = list(registry.read_split(simulation.dataset, "train", data_dir))
  dev = list(registry.read_split(simulation.dataset, "dev", data_dir))
  os.makedirs(work_dir, exist_ok=True)
  dev_file = os.path.join(work_dir, "dev.jsonl")
  _write_doccano(dev_file, dev)
  paths = []
  for seed in simulation.seeds:
    start = np.random.default_rng(seed).choice(
        len(pool), simulation.initial, replace=False).tolist()
    for strategy in simulation.strategies:
      path = record_path(record_dir, strategy, seed)
      paths.append(path)
      record = load_record(path, simulation) or {
          "strategy": strategy, "seed": seed,
          "identity": simulation.identity(), "start": sorted(start),
          "rounds": []}
      while len(record["rounds"]) <= simulation.rounds:
        index = len(record["rounds"])
        labelled = list(record["start"]) + [
            i for r in record["rounds"] for i in r["picked_next"]]
        logging.info("active learning: %s seed %d round %d, %d labelled",
                     strategy, seed, index, len(labelled))
        result, tagger = train_and_score(
            simulation, [pool[i] for i in labelled], dev_file, dev, seed,
            os.path.join(work_dir, f"seed{seed}_start" if index == 0
                         else "run"), reuse=index == 0)
        result = dict(result, picked_next=pick(
            tagger, pool, set(labelled), strategy, simulation, seed, index)
                      if index < simulation.rounds else [])
        record["rounds"].append(result)
        atomic_write_text(path, json.dumps(record, indent=1) + "\n")
        after_round(path)
  return paths
