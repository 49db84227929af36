"""Sizes at which the grid runs.

* ``smoke``: minutes; a tiny random BERT, a few dozen sentences per task and
  split, one epoch. It checks that every cell runs and every table fills; its
  scores mean nothing.
* ``cpu`` (the default of ``run_experiments.sh``): a small random-init BERT
  (2 layers, hidden 128), training and evaluation subsets and 3 epochs, sized
  to finish within an hour on a 2-core CPU with two single-threaded workers;
  every table header says so.
* ``paper``: bert-base-chinese and the paper's Table 3 settings on the full
  corpora, for a GPU (give ``--bert_model=DIR`` offline).

A preset is ``TrainRun`` overrides plus the seeds and the evaluation subset; any
flag given on the command line overrides the preset.
"""

import dataclasses
from typing import Dict, Optional, Tuple

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
  """
  name: str
  description: str
  seeds: Tuple[int, ...]
  eval_limit: int
  overrides: Dict[str, object]
  jobs: int = 1
  pretrain: Optional[str] = None


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
        "pretrained on this machine (configs/pretrain_cpu.cfg), 2000 "
        "training sentences per task, 3 epochs, the first 1000 sentences of "
        "each evaluation split; far below the paper's setting",
        seeds=(1, 2, 3), eval_limit=1000, jobs=2,
        pretrain="configs/pretrain_cpu.cfg",
        # The size flags shape the random-init encoder of --pretrain= only.
        overrides=dict(bert_model="tiny", bert_hidden_size=128,
                       bert_num_layers=2, bert_num_heads=2,
                       bert_intermediate_size=512, train_limit=2000,
                       dev_limit=300, unlabeled_limit=500, epochs=3,
                       batch_size=32, lstm_units=64, embedding_dim=64,
                       task_hidden_units=64, attention_heads=2,
                       learning_rate=3e-3, bert_learning_rate=1e-3,
                       patience=0, progress=False)),
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


def get_preset(name: str) -> Preset:
  if name not in PRESETS:
    raise UsageError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
  return PRESETS[name]
