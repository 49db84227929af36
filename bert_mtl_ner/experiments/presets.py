"""Sizes at which the grid runs.

* ``smoke``: minutes; a tiny random BERT, a few dozen sentences per task and
  split, one epoch. It checks that every cell runs and every table fills; its
  scores mean nothing.
* ``cpu`` (the default of ``run_experiments.sh``): the encoder of
  ``configs/pretrain_cpu.cfg``, 800 training sentences per task and early
  stopping on a constant learning rate, so that every run converges and the
  grid finishes within an hour on a 2-core CPU with two single-threaded
  workers (docs/experiments.md says why each choice); every table header says
  so.
* ``full``: every corpus whole on this CPU: the encoder of
  ``configs/pretrain_cpu.cfg`` (BERT-Tiny sized) with the random-init rows
  beside it, each model at settings that converge (a constant learning rate
  and early stopping on dev, with a cap it should not reach), 3 seeds on
  every row. Each
  finished run is also kept as a small record under ``docs/results/full/runs``
  that is committed, so the grid accumulates across machines and sessions.
* ``paper``: bert-base-chinese and the paper's Table 3 settings on the full
  corpora, for a GPU (give ``--bert_model=DIR`` offline).

A preset is ``TrainRun`` overrides (for every cell, then per cell by pattern)
plus the seeds and the evaluation subset; any flag given on the command line
overrides the preset.
"""

import dataclasses
import re
from typing import Dict, Optional, Sequence, Tuple

from bert_mtl_ner.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Preset:
  """Attributes:
    name: preset name.
    description: one line for the report's table headers.
    seeds: every cell runs once per seed.
    eval_limit: score only the first N sentences of each split (0: all).
    overrides: ``TrainRun`` fields.
    jobs: worker processes that share the grid (``workers``).
    pretrain: a ``bert_mtl_ner.pretrain`` flagfile whose encoder (pretrained
      once and cached, see ``pretrained``) the BERT rows use; the grid then also
      has the BERT-BiLSTM-CRF rows with random init. None: the overrides'
      ``bert_model``.
    cell_overrides: (pattern, ``TrainRun`` fields) pairs applied in order to
      the cells whose name (``dataset/variant``) the pattern matches, after
      ``overrides`` and before the cell's own fields.
    claim_seeds: the seeds of the rows the paper's claims rest on (None: every
      row has ``seeds``): the cells matching ``claim_cells``, and on each
      corpus the best of ``best_of`` by mean dev F1 of its first seed.
    claim_cells: patterns of claim cells.
    best_of: the single-task BERT variants whose best gets ``claim_seeds``.
    extra_cells: variants of ``grid.EXTRA_CELLS`` this preset adds.
    random_init_rows: with ``pretrain``, also the BERT-BiLSTM-CRF rows from
      random weights (what pretraining adds).
    record_dir: where finished runs are kept as committed records (None: only
      in the results folder).
  """
  name: str
  description: str
  seeds: Tuple[int, ...]
  eval_limit: int
  overrides: Dict[str, object]
  jobs: int = 1
  pretrain: Optional[str] = None
  cell_overrides: Tuple[Tuple[str, Dict[str, object]], ...] = ()
  claim_seeds: Optional[Tuple[int, ...]] = None
  claim_cells: Tuple[str, ...] = ()
  best_of: Tuple[str, ...] = ()
  extra_cells: Tuple[str, ...] = ()
  random_init_rows: bool = True
  record_dir: Optional[str] = None

  def overrides_for(self, cell_name: str) -> Dict[str, object]:
    """``cell_overrides`` of the patterns that match ``cell_name``, merged."""
    merged = {}
    for pattern, changes in self.cell_overrides:
      if re.search(pattern, cell_name):
        merged.update(changes)
    return merged

  def is_claim(self, cell_name: str) -> bool:
    return any(re.search(p, cell_name) for p in self.claim_cells)


_TINY_BERT = dict(bert_model="tiny", bert_hidden_size=32, bert_num_layers=1,
                  bert_num_heads=2, bert_intermediate_size=64)

PRESETS = {
    "smoke": Preset(
        "smoke", "smoke preset: a tiny BERT pretrained for a minute "
        "(configs/pretrain_smoke.cfg), 48 training sentences per task, 1 "
        "epoch, 48 evaluation sentences; scores mean nothing",
        seeds=(1, 2, 3), eval_limit=48, jobs=2,
        pretrain="configs/pretrain_smoke.cfg",
        overrides=dict(_TINY_BERT, train_limit=48, dev_limit=24,
                       unlabeled_limit=24, epochs=1, batch_size=16,
                       lstm_units=16, embedding_dim=32, task_hidden_units=32,
                       attention_heads=2, learning_rate=1e-3,
                       bert_learning_rate=1e-3, patience=0, progress=False,
                       log_every=10)),
    "cpu": Preset(
        "cpu", "cpu preset: a BERT-Tiny-sized encoder (2 layers, hidden 128) "
        "pretrained on this machine (configs/pretrain_cpu.cfg), 800 "
        "training sentences per task, early stopping on 300 dev sentences "
        "(patience 3, a constant learning rate after warmup, at most 60 "
        "epochs), the first 1000 sentences of each evaluation split; 3 seeds "
        "for the multi-task rows, the ablations and the best single-task BERT "
        "row, 1 for the others; far below the paper's setting",
        seeds=(1,), claim_seeds=(1, 2, 3), eval_limit=1000, jobs=2,
        pretrain="configs/pretrain_cpu.cfg",
        claim_cells=(r"/mtl$", r"^cluener/mtl_no_"),
        best_of=("bert_crf", "bert_bilstm_crf"),
        # What pretraining adds is the full preset's question; this hour
        # goes to converged runs and seeds instead.
        random_init_rows=False,
        # The size flags shape the random-init encoder of --pretrain= only.
        overrides=dict(bert_model="tiny", bert_hidden_size=128,
                       bert_num_layers=2, bert_num_heads=2,
                       bert_intermediate_size=512, train_limit=800,
                       dev_limit=300, unlabeled_limit=400, epochs=60,
                       patience=3, lr_schedule="constant", warmup_ratio=0.01,
                       batch_size=32, lstm_units=64, embedding_dim=64,
                       task_hidden_units=64, attention_heads=2,
                       learning_rate=3e-3, bert_learning_rate=1e-3,
                       progress=False),
        cell_overrides=(
            # Auxiliary batches per epoch at most as many as the main task's,
            # as in the full preset.
            (r"/mtl", dict(aux_ratio=1.0)),
        )),
    "full": Preset(
        "full", "full preset: every corpus whole (MSRA, People's Daily and "
        "CLUENER2020 train; CLUENER2020's unlabeled test for the multi-task "
        "model), whole evaluation splits, the BERT-Tiny-sized encoder "
        "pretrained on a 2-core CPU (configs/pretrain_cpu.cfg) beside random "
        "init, a constant learning rate after warmup and early stopping on "
        "dev (patience 3, at most 40 epochs; BiLSTM-CRF patience 4, at most "
        "60), 3 seeds on every row",
        seeds=(1, 2, 3), eval_limit=0, jobs=2,
        pretrain="configs/pretrain_cpu.cfg",
        # Every row has 3 seeds; best_of only puts the single-task BERT rows
        # among the first runs of the plan (plan.priority).
        best_of=("bert_crf", "bert_bilstm_crf"),
        extra_cells=("mtl_uncapped", "mtl_clean"),
        record_dir="docs/results/full",
        # The size flags shape the random-init encoder of --pretrain= only.
        # A constant rate after a short warmup: a linear decay to zero at the
        # cap favours the last epoch by construction, and the former grid
        # (10 epochs, decay) ended 31 of 37 runs at the cap. The cap is a
        # guard that early stopping should never reach.
        overrides=dict(bert_model="tiny", bert_hidden_size=128,
                       bert_num_layers=2, bert_num_heads=2,
                       bert_intermediate_size=512, train_limit=0,
                       dev_limit=0, unlabeled_limit=0, epochs=40, patience=3,
                       lr_schedule="constant", warmup_ratio=0.02,
                       batch_size=32, lstm_units=128, dropout=0.1,
                       task_hidden_units=256, attention_heads=4,
                       learning_rate=2e-3, bert_learning_rate=5e-4,
                       progress=False),
        cell_overrides=(
            # CLUENER2020 is small and overfits at dropout 0.1
            # (configs/cluener_bert_bilstm_crf_cpu.cfg).
            (r"^cluener/", dict(lstm_units=256, dropout=0.3)),
            # Auxiliary batches per epoch at most as many as the main task's:
            # CLUENER2020's auxiliary corpora are 6x its own.
            (r"/mtl", dict(aux_ratio=1.0)),
            # The settings of the BiLSTM-CRF runs that reached 87.22 (MSRA
            # test) and 70.61 (CLUENER2020 dev macro F1): docs/runs. Its
            # dev F1 moves by small steps for many epochs: a longer patience.
            (r"/bilstm_crf$", dict(embedding_dim=128, lstm_units=256,
                                   dropout=0.5, learning_rate=2e-3,
                                   epochs=60, patience=4)),
            (r"^cluener/bilstm_crf$", dict(embedding_dim=200, patience=5)),
        )),
    "paper": Preset(
        "paper", "paper preset: bert-base-chinese, the paper's Table 3 "
        "settings (Adam 1e-3, batch 32, up to 50 epochs, warmup 0.1, dropout "
        "0.1, max length 150, early stopping), full corpora",
        seeds=(1, 2, 3), eval_limit=0,
        overrides=dict(bert_model="bert-base-chinese", epochs=50, patience=5,
                       batch_size=32, learning_rate=1e-3,
                       bert_learning_rate=3e-5, warmup_ratio=0.1, dropout=0.1,
                       max_seq_len=150, lstm_units=128, embedding_dim=128,
                       task_hidden_units=256, progress=False)),
}


# Presets as they were before a redesign, by the description their reports
# carry: the cap and patience that judge what stopped their runs (reports
# written before runs recorded it; ``headline.stopped_by``).
FORMER = {
    "cpu preset: a BERT-Tiny-sized encoder (2 layers, hidden 128) pretrained "
    "on this machine (configs/pretrain_cpu.cfg), 2000 training sentences per "
    "task, 3 epochs, the first 1000 sentences of each evaluation split; far "
    "below the paper's setting": dict(epochs=3, patience=0),
}


def seeds_of(preset: Preset, cell_name: str, default: Sequence[int],
             best: Sequence[str] = ()) -> Tuple[int, ...]:
  """The seeds ``cell_name`` runs with.

  Args:
    preset: the preset.
    cell_name: ``dataset/variant``.
    default: the seeds of an ordinary row (the preset's, or ``--seeds``).
    best: names of the cells that are the best of ``best_of`` on their corpus
      (known once their first seed has run).
  """
  if preset.claim_seeds and (preset.is_claim(cell_name) or cell_name in best):
    return tuple(preset.claim_seeds)
  return tuple(default)


def get_preset(name: str) -> Preset:
  if name not in PRESETS:
    raise UsageError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
  return PRESETS[name]
