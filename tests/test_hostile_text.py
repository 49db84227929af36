"""Hostile text through the Python tagger and the serving graph: random Unicode,
astral characters, combining marks, zero-width and bidi controls, NUL, lone
surrogates, tabs, CR/LF, full-width and ASCII mixes, empty and 100,000-character
texts. Every span must lie inside its text and quote it, and both paths must
agree."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from conftest import assert_same_entities

from bert_mtl_ner import inference
from bert_mtl_ner import serving
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models import ModelConfig, build_model

LABELS = tags_lib.label_list(["LOC", "PER"])
SPECIAL = ["\u0000", "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\t",
           "\r", "\n", "\u0301", "😀", "𠀀", "\U0010ffff", "\ud800",
           "Ａ", "，", "张", "三", "北", "京", " ", "\u3000", "\ufffd"]


@pytest.fixture(scope="module")
def paths(bert_vocab_path):
  keras.utils.set_random_seed(0)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)
  model = build_model(ModelConfig(
      model="bilstm_crf", labels=LABELS, vocab_size=tokenizer.vocab_size,
      embedding_dim=8, lstm_units=8, max_seq_len=20))
  tagger = inference.Tagger(model, tokenizer, LABELS, 20, batch_size=8)
  module = serving.ServingModule(model, tokenizer, LABELS, 20)
  return tagger, module


def _graph_entities(module, texts):
  out = {k: v.numpy() for k, v in module.serve_text(serving.tf.constant(
      [serving.to_utf8(t) for t in texts])).items()}
  rows = [serving.trim_outputs(text, out, i) for i, text in enumerate(texts)]
  for text, row in zip(texts, rows):
    assert len(row["tags"]) == len(text)
  return [serving.entities_of(text, row) for text, row in zip(texts, rows)]


texts = st.lists(st.text(alphabet=st.one_of(
    st.sampled_from(SPECIAL), st.characters()), max_size=70), min_size=1,
                 max_size=4)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_spans_are_valid_and_both_paths_agree(paths, batch):
  tagger, module = paths
  python_entities = tagger.entities(batch)
  for text, entities in zip(batch, python_entities):
    for e in entities:
      assert 0 <= e["start"] < e["end"] <= len(text)
      assert text[e["start"]:e["end"]] == e["text"]
  assert_same_entities(_graph_entities(module, batch), python_entities)


def test_very_long_and_empty_texts(paths):
  tagger, module = paths
  batch = ["", "北京" * 50000, "\u200b" * 7, "ＡＢＣabc１２３123，,張三" * 3]
  python_entities = tagger.entities(batch)
  assert python_entities[0] == []
  assert_same_entities(_graph_entities(module, batch), python_entities)
