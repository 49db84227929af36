r"""Rewrites the benchmark tables of docs/performance.md from the benchmarks' own
output.

Each benchmark run with ``--output=docs/bench/NAME.md`` writes its table there
(machine, command and date included); this script puts those files, in the
order below, between the docs/performance.md markers ``<!-- performance:begin -->`` and
``<!-- performance:end -->``. Nothing in that section is typed by hand.

  python scripts/render_performance.py
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bert_mtl_ner.io_utils import atomic_write_text  # pylint: disable=g-import-not-at-top,wrong-import-position

BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
ORDER = ("inference", "bulk", "training", "training_base", "lstm_trace",
         "grid_speed", "one_run_two_workers", "reweighting", "crf", "pipeline")
PAGE = os.path.join("docs", "performance.md")


def section(folder: str) -> str:
  """The benchmark files of ``folder`` in ``ORDER``, then any others."""
  if not os.path.isdir(folder):
    return ""
  names = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".md"))
  names = [n for n in ORDER if n in names] + [n for n in names
                                               if n not in ORDER]
  parts = []
  for name in names:
    with open(os.path.join(folder, name + ".md"), encoding="utf-8") as stream:
      parts.append(stream.read().strip())
  return "\n\n".join(parts)


def render(text: str, body: str, begin: str = BEGIN, end: str = END) -> str:
  """``text`` with ``body`` between its ``begin`` and ``end`` markers."""
  head, rest = text.split(begin, 1)
  _, tail = rest.split(end, 1)
  return f"{head}{begin}\n{body}\n{end}{tail}"


def main() -> None:
  path = os.path.join(ROOT, PAGE)
  with open(path, encoding="utf-8") as stream:
    page = stream.read()
  atomic_write_text(path, render(page, section(os.path.join(ROOT, "docs",
                                                            "bench"))))
  print(f"rewrote the benchmark tables of {path}")


if __name__ == "__main__":
  main()
