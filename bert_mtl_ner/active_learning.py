r"""Simulates active learning on CLUENER2020 and writes its table and curve.

  python -m bert_mtl_ner.active_learning --data_dir=../shared/data
  python -m bert_mtl_ner.active_learning --report_only

CLUENER2020 train is the pool (labels hidden), 500 random sentences start, then
5 rounds of +500 picked by each strategy (``random``, the paper's ``confid``,
``min_entity_score``); the BiLSTM-CRF is retrained from scratch each round and
scored on CLUENER2020 dev (macro F1); 3 seeds (``active.simulation``). Each
finished round is a record under ``--output_dir/runs/`` (commit them: a
rerun, here or on another machine, resumes after the last one), and
``REPORT.md``, ``summary.json`` and ``curve.png`` in ``--output_dir`` are
rewritten from the records after every round.
"""

import os

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner.active import report
from bert_mtl_ner.active import simulation as simulation_lib
from bert_mtl_ner.active import strategies

flags.DEFINE_string("data_dir", None, "Data folder; default "
                    "$BERT_MTL_NER_DATA.")
flags.DEFINE_string("output_dir", "docs/active_learning", "Where the records, "
                    "REPORT.md, summary.json and curve.png go.")
flags.DEFINE_string("work_dir", "results/active_learning", "Scratch space for "
                    "training files and models.")
flags.DEFINE_list("strategies", list(simulation_lib.Simulation.strategies),
                  f"Strategies (of {', '.join(strategies.STRATEGIES)}).")
flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds.")
flags.DEFINE_integer("initial", 500, "Random sentences labelled first.")
flags.DEFINE_integer("step", 500, "Sentences picked per round.")
flags.DEFINE_integer("rounds", 5, "Rounds of picking.")
flags.DEFINE_float("diversity", 0.7, "Near-duplicate threshold of a pick.")
flags.DEFINE_integer("epochs", 25, "Most epochs of each training.")
flags.DEFINE_integer("patience", 4, "Epochs without a better dev F1 before "
                     "stopping.")
flags.DEFINE_integer("batch_size", 16, "Sentences per step.")
flags.DEFINE_integer("stop_dev", 400, "Early stopping watches the first N dev "
                     "sentences (the reported F1 is on all of dev).")
flags.DEFINE_integer("lstm_units", 128, "BiLSTM units.")
flags.DEFINE_integer("embedding_dim", 128, "Character embedding size.")
flags.DEFINE_bool("report_only", False, "Only rewrite the report from the "
                  "records.")
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  for strategy in FLAGS.strategies:
    if strategy not in strategies.STRATEGIES:
      raise flags.ValidationError(f"--strategies: unknown {strategy!r}")
  simulation = simulation_lib.Simulation(
      dataset="cluener", strategies=tuple(FLAGS.strategies),
      seeds=tuple(int(s) for s in FLAGS.seeds), initial=FLAGS.initial,
      step=FLAGS.step, rounds=FLAGS.rounds, diversity=FLAGS.diversity,
      train=dict(model="bilstm_crf", embedding_dim=FLAGS.embedding_dim,
                 lstm_units=FLAGS.lstm_units, dropout=0.5,
                 learning_rate=2e-3, batch_size=FLAGS.batch_size,
                 epochs=FLAGS.epochs, patience=FLAGS.patience,
                 dev_limit=FLAGS.stop_dev))
  record_dir = os.path.join(FLAGS.output_dir, "runs")
  settings = (
      f"Pool: CLUENER2020 train, labels hidden; {simulation.initial} random "
      f"sentences, then {simulation.rounds} rounds of +{simulation.step} per "
      f"strategy, picked with a near-duplicate guard (bigram Jaccard ≥ "
      f"{simulation.diversity}); a BiLSTM-CRF (embeddings "
      f"{FLAGS.embedding_dim}, {FLAGS.lstm_units} units, dropout 0.5, Adam "
      f"2e-3, batch {FLAGS.batch_size}, at most {FLAGS.epochs} epochs, "
      f"patience {FLAGS.patience} on the first {FLAGS.stop_dev} dev "
      f"sentences) retrained from scratch each round and scored on all of "
      f"dev; seeds "
      f"{', '.join(map(str, simulation.seeds))}.")
  command = "python -m bert_mtl_ner.active_learning"

  def rewrite(_=None):
    report.write(record_dir, FLAGS.output_dir, simulation.rounds,
                 len(simulation.seeds), command, settings)

  if not FLAGS.report_only:
    simulation_lib.run(simulation, record_dir, FLAGS.work_dir, FLAGS.data_dir,
                       after_round=rewrite)
  rewrite()
  print(open(os.path.join(FLAGS.output_dir, "REPORT.md"),
             encoding="utf-8").read())


if __name__ == "__main__":
  cli.run(main)
