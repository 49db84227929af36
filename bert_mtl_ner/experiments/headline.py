"""The README's headline table: a few cells of the committed reports beside the
paper's numbers, rendered from the reports' ``summary.json`` files.

Both report formats are read from their ``runs`` list (cell, seed, scores), so
the table is the mean over seeds of exactly what the reports hold.
"""

import json
import os
import statistics
from typing import Dict, List, Optional, Sequence

from bert_mtl_ner.experiments import paper

# (corpus and score, our cell, scoring key, metric, paper number or None).
ROWS = (
    ("MSRA test F1", "msra/bilstm_crf", "msra_test", "f1",
     lambda: paper.msra("bilstm_crf", "f1")),
    ("MSRA test F1", "msra/bert_bilstm_crf", "msra_test", "f1",
     lambda: paper.msra("bert_bilstm_crf", "f1")),
    ("MSRA test F1", "msra/mtl", "msra_test", "f1",
     lambda: paper.msra("mtl", "f1")),
    ("People's Daily test F1", "peoples_daily/bert_bilstm_crf",
     "peoples_daily_test", "f1", lambda: None),
    ("People's Daily test F1", "peoples_daily/mtl", "peoples_daily_test", "f1",
     lambda: None),
    ("People's Daily de-duplicated test F1", "peoples_daily/mtl",
     "peoples_daily_test_dedup", "f1", lambda: None),
    ("CLUENER2020 dev macro F1", "cluener/bilstm_crf", "cluener_dev",
     "macro_f1", lambda: paper.cluener_macro("bilstm_crf")),
    ("CLUENER2020 dev macro F1", "cluener/bert_crf", "cluener_dev", "macro_f1",
     lambda: paper.cluener_macro("bert_crf")),
    ("CLUENER2020 dev macro F1", "cluener/mtl", "cluener_dev", "macro_f1",
     lambda: paper.cluener_macro("mtl")),
)
LABELS = {"bilstm_crf": "BiLSTM-CRF", "bert_crf": "BERT-CRF",
          "bert_bilstm_crf": "BERT-BiLSTM-CRF", "mtl": "MTL"}


def load(path: str) -> Optional[Dict]:
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as stream:
    return json.load(stream)


def _mean(summary: Optional[Dict], cell: str, key: str, metric: str) -> str:
  if not summary:
    return "—"
  values = [r["scores"][key][metric] for r in summary["runs"]
            if r["cell"] == cell and key in r["scores"]]
  if not values:
    return "not run yet"
  seeds = f"{len(values)} seed{'s' if len(values) > 1 else ''}"
  return f"{statistics.mean(values):.2f} ({seeds})"


def render(columns: Sequence[tuple]) -> str:
  """The table; ``columns`` are (header, summary or None) pairs."""
  header = ["score", "model", "paper"] + [name for name, _ in columns]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  for what, cell, key, metric, reference in ROWS:
    value = reference()
    row = [what, LABELS[cell.split("/")[1]],
           "—" if value is None else f"{value:.2f}"]
    row += [_mean(summary, cell, key, metric) for _, summary in columns]
    lines.append("| " + " | ".join(row) + " |")
  return "\n".join(lines)


def readme_columns(root: str) -> List[tuple]:
  """The README's columns: the full and the cpu preset's committed reports."""
  return [("full preset, this CPU ([report](docs/results/full/REPORT.md))",
           load(os.path.join(root, "docs", "results", "full", "summary.json"))),
          ("cpu preset ([report](docs/results/cpu/REPORT.md))",
           load(os.path.join(root, "docs", "results", "cpu", "summary.json")))]
