r"""Exports a trained model as a raw-text SavedModel (see ``bert_mtl_ner.serving``).

  python -m bert_mtl_ner.export --model_dir=DIR --export_dir=EXPORT
  python -m bert_mtl_ner.export --model=msra --export_dir=EXPORT   # shipped
  saved_model_cli run --dir EXPORT --tag_set serve --signature_def serving_default \
      --input_exprs 'text=["张三在北京大学工作。"]'
"""

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import serving
from bert_mtl_ner import shipped

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
shipped.define_flag(flags)
flags.DEFINE_string("export_dir", None, "Where the SavedModel goes (replaced "
                    "atomically if it exists).")
flags.DEFINE_integer("stride", 0, "Characters between window starts for long "
                     "texts (0: 3/4 of a window).")
flags.mark_flag_as_required("export_dir")
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model)
  module = serving.module_from_model_dir(model_dir,
                                        stride=FLAGS.stride or None)
  serving.export(module, FLAGS.export_dir, module.labels)
  print(f"exported {FLAGS.model or model_dir} to {FLAGS.export_dir}")


if __name__ == "__main__":
  cli.run(main)
