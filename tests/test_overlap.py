"""Reference parsing and de-duplication on in-memory sentences."""

import pytest

from bert_mtl_ner.data import overlap
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import UsageError


def test_parse_refs():
  assert overlap.parse_refs("msra:train_full, peoples_daily:train") == [
      ("msra", "train_full"), ("peoples_daily", "train")]
  assert overlap.parse_refs("") == []
  with pytest.raises(UsageError, match="dataset:split"):
    overlap.parse_refs("msra")
  with pytest.raises(UsageError, match="no split 'tset'"):
    overlap.parse_refs("msra:tset")


def test_deduplicate_by_text():
  sentences = [Sentence(tuple(t), ("O",) * len(t), "f", i)
               for i, t in enumerate(["甲乙", "丙", "甲乙", "丁"])]
  kept, removed = overlap.deduplicate(iter(sentences), {"甲乙"})
  assert [s.text for s in kept] == ["丙", "丁"] and removed == 2


def test_normalize_drops_what_the_corpora_print_differently():
  assert overlap.normalize("对１０家企业“表彰” ") == "对10家企业表彰"
  assert overlap.normalize("ＡＢ，") == "AB,"


def test_entangled_is_containment_either_way_after_normalizing():
  reference = ["张三在北京工作。", "李四到了上海", ""]
  texts = ["张三在北京工作。",  # the same
           "“张三在北京”",  # inside one, once quotes are dropped
           "昨天，李四到了上海，然后回家。",  # holds one
           "王五在广州。",  # neither
           "",  # empty: matches nothing
           "李四到了"]  # inside one
  assert overlap.entangled(texts, reference) == [True, True, True, False,
                                                 False, True]
  # Full-width digits are the same text.
  assert overlap.entangled(["１９９８年"], ["今年是1998年的春天"]) == [True]
