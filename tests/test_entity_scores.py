"""Entity scores end to end (a tiny model's emissions against enumeration of
every tag path) and their calibration (reliability, ECE, temperature)."""

import itertools
import json
import pathlib

import numpy as np
import pytest

from bert_mtl_ner import calibration
from bert_mtl_ner import inference
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import DataError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import crf as crf_lib
from bert_mtl_ner.models import ModelConfig, build_model

LABELS = tags_lib.label_list(["LOC", "PER"])


def _tiny(bert_vocab_path):
  """(model, tokenizer): a tiny BiLSTM-CRF with strong random transitions and
  emissions, so that entities are decoded."""
  keras.utils.set_random_seed(1)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)
  model = build_model(ModelConfig(
      model="bilstm_crf", labels=LABELS, vocab_size=tokenizer.vocab_size,
      embedding_dim=8, lstm_units=8, max_seq_len=20))
  crf = model.get_layer("crf")
  crf.transitions.assign(np.random.default_rng(0).normal(
      0, 2, crf.transitions.shape).astype(np.float32))
  dense = model.get_layer("emissions")
  dense.kernel.assign(dense.kernel * 20)
  return model, tokenizer


@pytest.fixture(scope="module")
def tagger(bert_vocab_path):
  model, tokenizer = _tiny(bert_vocab_path)
  return inference.Tagger(model, tokenizer, LABELS, 20, batch_size=4)


def _brute_force(tagger, text, temperature=1.0):
  """{(start, end, type): probability} of every span in ``text``, summing
  the valid BIO paths over the window's tokens ([CLS] text [SEP])."""
  ids = np.array([tagger.tokenizer.encode(text)], np.int32)
  emissions = tagger.model({"input_ids": ids, "attention_mask": np.ones_like(
      ids)}, training=False)["emissions"].numpy()[0] / temperature
  transitions = tagger.model.get_layer("crf").transitions.numpy() / temperature
  allowed = crf_lib.bio_allowed_transitions(LABELS)
  starts = crf_lib.bio_allowed_starts(LABELS)
  weights = {}
  for path in itertools.product(range(len(LABELS)), repeat=len(ids[0])):
    if starts[path[0]] and all(allowed[a, b] for a, b in zip(path, path[1:])):
      weights[path] = np.exp(emissions[np.arange(len(path)), path].sum() +
                             sum(transitions[a, b] for a, b in
                                 zip(path, path[1:])))
  total = sum(weights.values())
  spans = {}
  for path, weight in weights.items():
    chars = [LABELS[t] for t in path[1:-1]]
    for span in tags_lib.tags_to_spans(chars):
      key = (span.start, span.end, span.type)
      spans[key] = spans.get(key, 0.0) + weight / total
  return spans


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_scores_are_marginals_of_the_whole_window(tagger, temperature):
  """Each entity's score is the probability, over every valid tag path of
  its window (specials included), that exactly this span has this type."""
  texts = ["张三在北京", "李四", "上海"]
  tagger.temperature = temperature
  try:
    entities = tagger.entities(texts)
  finally:
    tagger.temperature = 1.0
  assert any(entities), "the model decodes no entity: the test checks nothing"
  for text, found in zip(texts, entities):
    truth = _brute_force(tagger, text, temperature)
    for e in found:
      assert 0 < e["score"] <= 1
      np.testing.assert_allclose(
          e["score"], truth[(e["start"], e["end"], e["type"])], rtol=2e-3)


def test_decoded_path_does_not_depend_on_temperature(tagger):
  texts = ["张三在北京大学工作。" * 5, "上海"]
  decoded = tagger.decode(texts)
  hot = tagger.entity_scores(decoded, 0.5)
  cold = tagger.entity_scores(decoded, 4.0)
  assert [len(r) for r in hot] == [len(s) for s in decoded.spans]
  for h, c in zip(hot, cold):
    assert all(0 < x <= 1 for x in h + c)
  # A higher temperature moves every score towards the uniform guess.
  assert np.mean([x for r in cold for x in r]) < np.mean(
      [x for r in hot for x in r])


def test_reliability_and_ece_by_hand():
  scores = np.array([0.05, 0.15, 0.95, 0.92, 1.0, 0.55])
  correct = np.array([0, 0, 1, 0, 1, 1])
  table = calibration.reliability(scores, correct, bins=10)
  assert [row["count"] for row in table] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 3]
  top = table[-1]
  assert top["confidence"] == pytest.approx((0.95 + 0.92 + 1.0) / 3)
  assert top["precision"] == pytest.approx(2 / 3)
  expected = (1 / 6 * 0.05 + 1 / 6 * 0.15 + 1 / 6 * 0.45 +
              3 / 6 * abs(2 / 3 - 2.87 / 3))
  assert calibration.expected_calibration_error(table) == pytest.approx(
      expected)
  assert calibration.expected_calibration_error(
      calibration.reliability(np.array([]), np.array([]))) == 0.0


def test_fitted_temperature_undoes_over_confidence():
  """Outcomes drawn with probability sigmoid(z); scores sigmoid(3 z / T) are
  over-confident at T = 1 and calibrated near T = 3."""
  rng = np.random.default_rng(0)
  z = rng.normal(0, 1.5, 20000)
  correct = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(float)
  scores_at = lambda t: 1 / (1 + np.exp(-3 * z / t))
  temperature, loss = calibration.fit_temperature(scores_at, correct)
  assert temperature == pytest.approx(3.0, rel=0.1)
  assert loss < calibration.log_loss(scores_at(1.0), correct)
  before = calibration.summary(scores_at(1.0), correct)["ece"]
  after = calibration.summary(scores_at(temperature), correct)["ece"]
  assert after < before / 3


def test_temperature_file(tmp_path):
  assert calibration.read_temperature(str(tmp_path)) == 1.0
  calibration.write_record(str(tmp_path), {"temperature": 1.7})
  assert calibration.read_temperature(str(tmp_path)) == 1.7
  (tmp_path / calibration.FILE).write_text(json.dumps({"temperature": -2}))
  with pytest.raises(DataError, match="calibration.json.*positive"):
    calibration.read_temperature(str(tmp_path))
  (tmp_path / calibration.FILE).write_text("{")
  with pytest.raises(DataError, match="not a calibration record"):
    calibration.read_temperature(str(tmp_path))


@pytest.mark.parametrize("name", ["msra", "cluener"])
def test_committed_calibration_reports_are_their_summaries(name):
  """docs/calibration/NAME/REPORT.md is ``calibration.render`` of the
  committed summary.json, whose ECEs are those of its reliability tables."""
  folder = pathlib.Path(__file__).resolve().parents[1] / "docs" / \
      "calibration" / name
  summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
  assert (folder / "REPORT.md").read_text(encoding="utf-8") == \
      calibration.render(summary)
  for key in ("before", "after"):
    assert summary[key]["ece"] == pytest.approx(
        calibration.expected_calibration_error(summary[key]["reliability"]))
  assert (folder / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_the_eager_first_call_and_the_traced_ones_agree(bert_vocab_path):
  """The first call runs the model eagerly (no tracing before the first
  sentence), later ones the traced graph: same tags, same scores, and
  ``warm_up`` leaves only traced calls."""
  model, tokenizer = _tiny(bert_vocab_path)
  fresh = inference.Tagger(model, tokenizer, LABELS, 20, batch_size=4)
  texts = ["张三在北京工作", "李四", "上海浦东新区的一家公司"]
  assert all(f.eager for f in fresh._functions)  # pylint: disable=protected-access
  first = fresh.entities(texts)
  assert not fresh._decode.eager  # pylint: disable=protected-access
  again = fresh.entities(texts)
  assert any(first)
  for a, b in zip(first, again):
    assert [(e["start"], e["end"], e["type"]) for e in a] == \
        [(e["start"], e["end"], e["type"]) for e in b]
    np.testing.assert_allclose([e["score"] for e in a],
                               [e["score"] for e in b], rtol=1e-3)
  decoded = fresh.decode(texts)
  eagerly = fresh.path_certainties(decoded)
  assert not fresh._path_certainty.eager  # pylint: disable=protected-access
  np.testing.assert_allclose(eagerly, fresh.path_certainties(decoded),
                             rtol=1e-4)
  warmed = inference.Tagger(model, tokenizer, LABELS, 20, batch_size=4)
  warmed.warm_up(texts[:1])
  assert not any(f.eager for f in warmed._functions)  # pylint: disable=protected-access
