r"""Converts Google's original TF1 BERT release into a directory that every
command loads with ``--bert_model=DIR``.

  python -m bert_mtl_ner.import_bert --source=chinese_L-12_H-768_A-12 \
      --output_dir=models/bert-base-chinese

``--source`` holds ``bert_model.ckpt.*``, ``bert_config.json`` and ``vocab.txt``;
the output is ``config.json``, ``tf_model.h5`` and ``vocab.txt`` (see
``bert_mtl_ner.bert_checkpoint``).
"""

from absl import flags

from bert_mtl_ner import bert_checkpoint
from bert_mtl_ner import cli

flags.DEFINE_string("source", None, "Folder of Google's TF1 BERT release.")
flags.DEFINE_string("output_dir", None, "Where the converted model goes.")
flags.mark_flags_as_required(["source", "output_dir"])
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  counts = bert_checkpoint.convert_tf1_checkpoint(FLAGS.source,
                                                  FLAGS.output_dir)
  print(f"copied {counts['copied']} variables ({counts['skipped']} unused "
        f"ones skipped) to {FLAGS.output_dir}; use --bert_model="
        f"{FLAGS.output_dir}")


if __name__ == "__main__":
  cli.run(main)
