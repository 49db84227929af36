r"""Trains a tagger: BiLSTM-CRF, BERT-CRF, BERT-BiLSTM-CRF, or the multi-task model.

  python -m bert_mtl_ner.train --flagfile=configs/msra_bilstm_crf.cfg --model_dir=runs/m
  python -m bert_mtl_ner.train --model=bert_crf --dataset=cluener --bert_model=DIR \
      --model_dir=runs/c --epochs=3
  python -m bert_mtl_ner.train --model=mtl --dataset=cluener --aux_tasks=msra \
      --unlabeled=cluener:test --model_dir=runs/mtl

With ``--model=mtl`` the main task is ``--dataset`` (evaluated and early-stopped
on), ``--aux_tasks`` are more registered datasets with their own heads, and
``--unlabeled`` adds pseudo-labeled text (see ``training.multitask``).

Running it again with the same ``--model_dir`` resumes after the last finished
epoch. See ``bert_mtl_ner.run_dir`` for what the directory holds.
"""

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import config_flags
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun

config_flags.define_flags(TrainRun)
flags.mark_flag_as_required("model_dir")
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  run = config_flags.from_flags(TrainRun)
  best = run_lib.train(run)
  if best:
    print(f"best dev F1 {best['dev_f1']:.2f} at epoch {best['epoch']} "
          f"({best['epochs_run']} epochs); model in {run.model_dir}")


if __name__ == "__main__":
  cli.run(main)
