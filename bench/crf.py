r"""CRF decoding benchmark: our layer's decode, tfa's crf_decode, numpy Viterbi,
and the top-2 Viterbi, over sequence lengths and tag-set sizes.

Every variant decodes the same random batches, side by side in one process;
the table gives the median milliseconds per batch and each variant's ratio to
the fastest of its row. 7 tags is BIO over PER/LOC/ORG (MSRA, People's Daily),
21 is CLUENER2020's ten types. With ``--png`` the scaling curves are also drawn
(matplotlib, a dependency of the package).

  python bench/crf.py [--quick] [--batch_size=32] [--png=crf.png] [--output=docs/bench/crf.md]
"""

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tensorflow_addons as tfa

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner.data import tags as tags_lib  # pylint: disable=g-bad-import-order
from bert_mtl_ner.layers import crf as crf_lib

flags.DEFINE_bool("quick", False, "Fewer lengths and repeats (about a minute).")
flags.DEFINE_integer("batch_size", 32, "Sequences per batch.")
flags.DEFINE_integer("repeats", 7, "Timed calls per variant and row.")
flags.DEFINE_string("png", "", "Where to draw the scaling curves (needs "
                    "matplotlib); empty: no plot.")
flags.DEFINE_string("output", "", "Markdown file for the README.")
FLAGS = flags.FLAGS

TAG_SETS = {7: ["PER", "LOC", "ORG"],
            21: ["address", "book", "company", "game", "government", "movie",
                 "name", "organization", "position", "scene"]}


def numpy_viterbi(emissions: np.ndarray, transitions: np.ndarray,
                  lengths: np.ndarray) -> np.ndarray:
  """Batched Viterbi in numpy: best tag ids [batch, time] (0 past the end)."""
  batch, time_steps, _ = emissions.shape
  score = emissions[:, 0].copy()
  back = np.zeros(emissions.shape, np.int32)
  for t in range(1, time_steps):
    candidates = score[:, :, None] + transitions[None]       # [B, from, to]
    best = candidates.argmax(1)
    new = candidates.max(1) + emissions[:, t]
    active = (t < lengths)[:, None]
    score = np.where(active, new, score)
    back[:, t] = np.where(active, best, np.arange(best.shape[1])[None])
  tags = np.zeros([batch, time_steps], np.int32)
  last = score.argmax(1)
  for t in range(time_steps - 1, -1, -1):
    tags[:, t] = np.where(t < lengths, last, 0)
    last = np.where((t >= 1) & (t < lengths), back[np.arange(batch), t, last],
                    last)
  return tags


def variants(num_tags: int):
  """name -> (emissions, lengths) -> decode, for one tag set."""
  labels = tags_lib.label_list(TAG_SETS[num_tags])
  layer = crf_lib.CRF(len(labels), labels=labels)
  layer.build(None)
  spec = (tf.TensorSpec([None, None, len(labels)], tf.float32),
          tf.TensorSpec([None], tf.int32))

  @tf.function(input_signature=spec)
  def ours(emissions, lengths):
    mask = tf.sequence_mask(lengths, tf.shape(emissions)[1], tf.int32)
    return layer.decode(emissions, mask)[0]

  @tf.function(input_signature=spec)
  def tfa_decode(emissions, lengths):
    return tfa.text.crf_decode(emissions, layer.transitions, lengths)[0]

  @tf.function(input_signature=spec)
  def top2(emissions, lengths):
    constrained, transitions = layer.decoding_parameters(emissions)
    return crf_lib.crf_top2_scores(constrained, transitions, lengths)

  transitions = layer.transitions.numpy()
  return {
      "ours (BIO-constrained)": lambda e, l: ours(e, l).numpy(),
      "tfa.text.crf_decode": lambda e, l: tfa_decode(e, l).numpy(),
      "numpy Viterbi": lambda e, l: numpy_viterbi(e, transitions, l),
      "top-2 Viterbi (scores)": lambda e, l: top2(e, l)[0].numpy(),
  }


def run_benchmark(lengths, tag_counts, batch_size: int, repeats: int):
  """Rows ``(tags, length, {variant: ms})``; also checks the decoders agree."""
  rng = np.random.default_rng(0)
  rows = []
  for num_tags in tag_counts:
    decoders = variants(num_tags)
    for length in lengths:
      emissions = rng.normal(size=[batch_size, length, num_tags]).astype(
          np.float32)
      seq_lengths = rng.integers(length // 2, length + 1,
                                 size=batch_size).astype(np.int32)
      tfa_tags = decoders["tfa.text.crf_decode"](emissions, seq_lengths)
      np_tags = decoders["numpy Viterbi"](emissions, seq_lengths)
      valid = np.arange(length)[None] < seq_lengths[:, None]
      if not (np.where(valid, tfa_tags, 0) == np_tags).all():
        raise AssertionError("numpy Viterbi disagrees with tfa.text.crf_decode")
      times = {name: 1000 * common.median_seconds(
                   lambda d=decode: d(emissions, seq_lengths), repeats)
               for name, decode in decoders.items()}
      rows.append((num_tags, length, times))
      print(f"  {num_tags} tags, length {length}: done", flush=True)
  return rows


def format_table(rows, batch_size: int) -> str:
  names = list(rows[0][2])
  lines = common.header(f"CRF decoding, batch {batch_size}: median ms per "
                        "batch (ratio to the fastest in the row)")
  lines += ["| tags | length | " + " | ".join(names) + " |",
           "|---:|---:|" + "---:|" * len(names)]
  for num_tags, length, times in rows:
    fastest = min(times.values())
    cells = [f"{times[n]:.2f} ({times[n] / fastest:.1f}x)" for n in names]
    lines.append(f"| {num_tags} | {length} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def plot(rows, path: str) -> None:
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  except ImportError:
    print(f"matplotlib is not installed: no {path} (pip install matplotlib)")
    return
  names = list(rows[0][2])
  figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
  for axis, num_tags in zip(axes, sorted({r[0] for r in rows})):
    part = [r for r in rows if r[0] == num_tags]
    for name in names:
      axis.plot([r[1] for r in part], [r[2][name] for r in part], marker="o",
                label=name)
    axis.set(title=f"{num_tags} tags", xlabel="sequence length",
             yscale="log")
    axis.set_xscale("log", base=2)
    axis.minorticks_off()
    axis.set_xticks([r[1] for r in part], [str(r[1]) for r in part])
  axes[0].set_ylabel("ms per batch (median)")
  axes[0].legend()
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  print(f"wrote {path}")


def main(argv) -> None:
  del argv
  lengths = [16, 64, 256] if FLAGS.quick else [16, 32, 64, 128, 256, 512]
  repeats = 3 if FLAGS.quick else FLAGS.repeats
  rows = run_benchmark(lengths, (7, 21), FLAGS.batch_size, repeats)
  print()
  common.write_markdown(FLAGS.output, [format_table(rows, FLAGS.batch_size)])
  if FLAGS.png:
    plot(rows, FLAGS.png)


if __name__ == "__main__":
  app.run(main)
