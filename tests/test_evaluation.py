"""Scores on the names a model was taught and on the rest, by hand."""

import pytest

from bert_mtl_ner import evaluation
from bert_mtl_ner.data.records import Sentence


def _sentence(text, tags):
  return Sentence(tuple(text), tuple(tags.split()), "mem", 1)


def test_novelty_scores_split_entities_by_their_name_and_type():
  train = [_sentence("张三在北京", "B-PER I-PER O B-LOC I-LOC")]
  seen = evaluation.entity_names(train)
  assert seen == {("张三", "PER"), ("北京", "LOC")}
  gold = [_sentence("张三去上海", "B-PER I-PER O B-LOC I-LOC"),
          _sentence("李四在北京", "B-PER I-PER O B-LOC I-LOC"),
          _sentence("北京大学", "B-ORG I-ORG I-ORG I-ORG")]
  predictions = [
      "B-PER I-PER O O O".split(),            # 张三 right; 上海 missed
      "B-LOC I-LOC O B-LOC I-LOC".split(),    # 李四 as LOC (an unseen name)
      "B-LOC I-LOC O O".split(),              # 北京 LOC: seen, but wrong
  ]
  scores = evaluation.novelty_scores(gold, predictions, seen)
  # seen: 张三, 北京 (twice predicted as LOC, once right); gold 张三, 北京.
  assert scores["seen"]["support"] == 2
  assert scores["seen"]["recall"] == pytest.approx(100.0)
  assert scores["seen"]["precision"] == pytest.approx(200 / 3)
  # unseen: gold 上海, 李四/PER, 北京大学/ORG; one prediction 李四/LOC, wrong.
  assert scores["unseen"]["support"] == 3
  assert scores["unseen"]["recall"] == 0.0
  assert scores["unseen"]["precision"] == 0.0
