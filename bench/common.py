"""What the benchmarks share: medians, resident memory, the report header and
the markdown file each writes for the README's Performance section."""

import datetime
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The machine's load when the benchmark began (its 1-minute average), before
# the benchmark adds its own: other processes slow every condition alike.
LOAD_AT_START = os.getloadavg()[0]
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)
from bert_mtl_ner.io_utils import atomic_write_text  # pylint: disable=g-import-not-at-top,wrong-import-position


def define_model_flags(flags) -> None:
  """The flags both model benchmarks take: BERT size, vocabulary, data, output."""
  flags.DEFINE_string("data_dir", None, "Data folder.")
  flags.DEFINE_integer("bert_layers", 4, "BERT layers.")
  flags.DEFINE_integer("bert_hidden", 256, "BERT hidden size (heads: /64).")
  flags.DEFINE_string("vocab_file", os.path.join(
      ROOT, "..", "shared", "vocab", "bert-base-chinese", "vocab.txt"),
                      "BERT vocabulary (Google's Chinese vocab).")
  flags.DEFINE_string("output", "", "Markdown file for the README.")


def bert_config(vocab_size: int, layers: int, hidden: int):
  """A BERT config dict of the given size (heads of 64, FFN 4x hidden)."""
  from bert_mtl_ner.layers import bert_encoder  # pylint: disable=g-import-not-at-top
  return bert_encoder.tiny_bert_config(
      vocab_size, hidden_size=hidden, num_layers=layers,
      num_heads=max(1, hidden // 64), intermediate_size=4 * hidden)


def median_seconds(fn: Callable[[], object], repeats: int,
                   warmup: int = 1) -> float:
  """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup``."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def rss_mb() -> float:
  """Resident set of this process now, in MiB."""
  with open("/proc/self/status", encoding="ascii") as stream:
    for line in stream:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024
  return float("nan")


def peak_rss_mb() -> float:
  """The most resident memory this process has held, in MiB."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def header(title: str) -> List[str]:
  """Markdown lines naming the benchmark, machine, command and date."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return [f"### {title}", "",
          f"`python {' '.join(sys.argv)}` on {platform.machine()}, "
          f"{os.cpu_count()} CPU cores, "
          f"{len(tf.config.list_physical_devices('GPU'))} GPU; TensorFlow "
          f"{tf.__version__}; {datetime.date.today().isoformat()}."
          + _busy_note(), ""]


def _busy_note() -> str:
  """A sentence when other processes held the cores as the benchmark began."""
  if LOAD_AT_START < 0.5:
    return ""
  return (f" The machine was busy when it began (load average "
          f"{LOAD_AT_START:.1f} on {os.cpu_count()} cores): every time is "
          "longer than on an idle machine; compare the rows with each other.")


def write_markdown(path: str, lines: List[str]) -> None:
  """Prints the report and, with ``path``, writes it atomically."""
  text = "\n".join(lines) + "\n"
  print(text)
  if path:
    atomic_write_text(path, text)
    print(f"wrote {path}")
