"""The paper's published numbers, for the report's reference columns.

``paper_tables.json`` beside this file is a copy of the numbers Tang et al.
(2022) print for Tables 4-6 and the differences their text gives for Figs.
10-11, with notes on what each is (its ``copied_from`` names the source). This
module maps them onto the grid's cells; the report never types a number.
"""

import functools
import json
import os
from typing import Dict, Optional

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "paper_tables.json")

# Our variants under the paper's row names.
ROW_NAMES = {"bilstm_crf": "BiLSTM-CRF", "bert_crf": "BERT-CRF",
             "bert_bilstm_crf": "BERT-BiLSTM-CRF", "mtl": "MTL"}
# Table 6's columns: its "BERT base" is the CLUENER2020 benchmark's softmax
# tagger, set beside our BERT-CRF.
TABLE6_COLUMNS = {"bilstm_crf": "BiLSTM-CRF", "bert_crf": "BERT base",
                  "mtl": "MTL"}
METRICS = {"precision": "P", "recall": "R", "f1": "F1"}


@functools.lru_cache(maxsize=None)
def tables() -> Dict:
  with open(PATH, encoding="utf-8") as stream:
    return json.load(stream)


def source() -> str:
  return tables()["source"]


def msra(variant: str, metric: str) -> Optional[float]:
  """Table 4 (MTL) or the Fig. 10 rows derived from the text's differences."""
  name = ROW_NAMES.get(variant)
  row = tables()["fig10_msra_test"]["derived_rows"].get(name or "")
  return None if row is None else row.get(METRICS[metric])


def cited_msra_rows() -> Dict[str, Dict[str, float]]:
  """Table 4's published systems that the paper cites (not its own runs)."""
  return {k: v for k, v in tables()["table4_msra_test"]["rows"].items()
          if k != "MTL (ours)"}


def mtl_minus(dataset: str, variant: str, metric: str) -> Optional[float]:
  """The text's difference MTL minus ``variant`` (Figs. 10-11)."""
  key = {"msra": "fig10_msra_test",
         "peoples_daily": "fig11_peoples_daily_test"}.get(dataset)
  name = ROW_NAMES.get(variant)
  if key is None or name is None:
    return None
  row = tables()[key]["deltas_mtl_minus_model"].get(name)
  return None if row is None else row.get(METRICS[metric])


def cluener_macro(variant: str) -> Optional[float]:
  column = TABLE6_COLUMNS.get(variant)
  if column is None:
    return None
  table = tables()["table6_cluener_f1_per_type"]
  return table["rows"]["macro"][table["columns"].index(column)]


def cluener_type_f1(variant: str, entity_type: str) -> Optional[float]:
  """Table 6's F1 of ``entity_type`` for the column matching ``variant``."""
  column = TABLE6_COLUMNS.get(variant)
  table = tables()["table6_cluener_f1_per_type"]
  row = table["rows"].get(entity_type)
  if column is None or row is None:
    return None
  return row[table["columns"].index(column)]


def cluener_mtl_type(entity_type: str, metric: str) -> Optional[float]:
  """Table 5: the paper's multi-task model on CLUENER2020, per type."""
  row = tables()["table5_cluener_dev_mtl_per_type"]["rows"].get(entity_type)
  return None if row is None else row.get(METRICS[metric])


def note(key: str) -> str:
  value = tables()[key]
  return value if isinstance(value, str) else value["note"]
