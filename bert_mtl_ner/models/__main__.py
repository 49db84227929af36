r"""Prints a model's graph as text: each layer, its class, its inputs, its shape.

  python -m bert_mtl_ner.models --model=mtl --aux_labels=msra,peoples_daily

The README's diagram of the multi-task model is this command's output (a test
checks they agree).
"""

import sys

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner.layers.bert_encoder import tiny_bert_config
from bert_mtl_ner.models import TRAINABLE, ModelConfig, build_model

flags.DEFINE_enum("model", "mtl", list(TRAINABLE), "Model to draw.")
flags.DEFINE_string("main_task", "cluener", "mtl: main task name.")
flags.DEFINE_list("aux_labels", ["msra", "peoples_daily"], "mtl: auxiliary "
                  "task names.")
FLAGS = flags.FLAGS


def graph_text(model) -> str:
  """One line per layer: ``name (Class) <- inputs  shape``."""
  lines = []
  for layer in model.layers:
    inbound = []
    for node in layer.inbound_nodes:
      for parent in node.inbound_layers if isinstance(
          node.inbound_layers, list) else [node.inbound_layers]:
        if parent.name not in inbound:
          inbound.append(parent.name)
    shape = layer.output_shape
    shape = shape[0] if isinstance(shape, list) and len(shape) == 1 else shape
    source = f" <- {', '.join(inbound)}" if inbound else ""
    lines.append(f"{layer.name} ({type(layer).__name__}){source}  {shape}")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  labels = ["O", "B-X", "I-X"]
  config = ModelConfig(
      model=FLAGS.model, labels=labels, vocab_size=100,
      bert_config=tiny_bert_config(100), main_task=FLAGS.main_task,
      aux_labels={name: labels for name in FLAGS.aux_labels}
      if FLAGS.model == "mtl" else {})
  sys.stdout.write(graph_text(build_model(config)) + "\n")


if __name__ == "__main__":
  cli.run(main)
