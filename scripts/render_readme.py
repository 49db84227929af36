r"""Rewrites the README's headline results table from the committed reports'
``summary.json`` files (``bert_mtl_ner.experiments.headline``), between the
markers ``<!-- headline:begin -->`` and ``<!-- headline:end -->``, and the
sentences on the paper's claims between ``<!-- claims:begin -->`` and
``<!-- claims:end -->``, and the table of the shipped models (from their
``summary.json``) between ``<!-- shipped:begin -->`` and
``<!-- shipped:end -->``. Nothing in
it is typed by hand; a test keeps it equal to the reports.

  python scripts/render_readme.py
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bert_mtl_ner.experiments import headline  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_mtl_ner import shipped  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_mtl_ner.io_utils import atomic_write_text  # pylint: disable=g-import-not-at-top,wrong-import-position
from bert_mtl_ner.shipped import card  # pylint: disable=g-import-not-at-top,wrong-import-position
import render_performance  # pylint: disable=g-import-not-at-top,wrong-import-position

BEGIN, END = "<!-- headline:begin -->", "<!-- headline:end -->"
CLAIMS = "<!-- claims:begin -->", "<!-- claims:end -->"
SHIPPED = "<!-- shipped:begin -->", "<!-- shipped:end -->"


def shipped_table() -> str:
  summaries = []
  for name in shipped.names():
    with open(os.path.join(shipped.ROOT, name, card.SUMMARY),
              encoding="utf-8") as stream:
      summaries.append(json.load(stream))
  return card.readme_table(summaries, os.path.relpath(shipped.ROOT, ROOT))


def render(readme: str) -> str:
  """``readme`` with its headline and claims blocks rendered from the
  reports."""
  table = headline.render(headline.readme_columns(ROOT))
  readme = render_performance.render(readme, table, BEGIN, END)
  readme = render_performance.render(readme, shipped_table(), *SHIPPED)
  return render_performance.render(readme, headline.readme_claims(ROOT),
                                   *CLAIMS)


def main() -> None:
  path = os.path.join(ROOT, "README.md")
  with open(path, encoding="utf-8") as stream:
    readme = stream.read()
  atomic_write_text(path, render(readme))
  print(f"rewrote the headline table of {path}")


if __name__ == "__main__":
  main()
