"""The tf.data pipeline: alignment, padding, masks, seeds, bucketing, task ids."""

import numpy as np
import pytest

from bert_mtl_ner import tokenization
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import DataError

LABELS = {t: i for i, t in enumerate(tags_lib.label_list(["LOC", "PER"]))}


def _sentence(text, tags=None, line=1):
  return Sentence(tuple(text), None if tags is None else tuple(tags), "f", line)


@pytest.fixture(scope="module")
def tok(bert_vocab_path):
  return tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)


def _corpus(tok, n=50, max_seq_len=150):
  rng = np.random.default_rng(0)
  sentences = []
  for i in range(n):
    length = int(rng.integers(1, 120))
    sentences.append(_sentence(chr(0x4E00 + i) * length, ["O"] * length, i))
  return pipeline.encode(sentences, tok, LABELS, max_seq_len)


def test_labels_align_with_characters(tok):
  corpus = pipeline.encode(
      [_sentence("张三去北京", ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]),
       _sentence("好")], tok, LABELS, 150, sample_weights=[1.0, 0.5])
  batch = next(iter(pipeline.make_dataset(corpus, 4, bucket_boundaries=None)))
  ids = batch["input_ids"].numpy()
  assert ids.shape == (2, 7)
  assert list(ids[0]) == tok.encode("张三去北京")
  assert list(ids[1]) == tok.encode("好") + [0] * 4
  assert list(batch["attention_mask"].numpy()[1]) == [1, 1, 1, 0, 0, 0, 0]
  labels = [LABELS[t] for t in ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]]
  assert list(batch["labels"].numpy()[0]) == [0] + labels + [0]
  assert list(batch["sample_weight"].numpy()) == [1.0, 0.5]


def test_truncation_to_max_seq_len(tok):
  corpus = pipeline.encode([_sentence("中" * 300, ["O"] * 300)], tok, LABELS, 20)
  assert list(corpus.lengths) == [20]


def test_unknown_label_is_located(tok):
  with pytest.raises(DataError, match="f:7: tag 'B-ORG' is not in the label"):
    pipeline.encode([_sentence("中", ["B-ORG"], 7)], tok, LABELS, 150)


def _order(dataset):
  return [tuple(row[mask == 1]) for batch in dataset
          for row, mask in zip(batch["input_ids"].numpy(),
                               batch["attention_mask"].numpy())]


def test_shuffle_is_deterministic_by_seed(tok):
  corpus = _corpus(tok)
  unshuffled = _order(pipeline.make_dataset(corpus, 8, bucket_boundaries=None))
  first = _order(pipeline.make_dataset(corpus, 8, shuffle=True, seed=7))
  again = _order(pipeline.make_dataset(corpus, 8, shuffle=True, seed=7))
  other = _order(pipeline.make_dataset(corpus, 8, shuffle=True, seed=8))
  assert first == again
  assert first != other
  assert first != unshuffled
  assert sorted(first) == sorted(unshuffled)


def test_bucketing_keeps_every_sentence_and_cuts_padding(tok):
  corpus = _corpus(tok, n=200)

  def padding(dataset):
    total = real = rows = 0
    for batch in dataset:
      mask = batch["attention_mask"].numpy()
      total += mask.size
      real += mask.sum()
      rows += mask.shape[0]
    return rows, real, total - real

  plain = padding(pipeline.make_dataset(corpus, 16, shuffle=True,
                                        bucket_boundaries=None))
  bucketed = padding(pipeline.make_dataset(corpus, 16, shuffle=True))
  assert plain[:2] == bucketed[:2] == (200, corpus.lengths.sum())
  assert bucketed[2] < plain[2] / 2


def test_task_id_and_repeat(tok):
  corpus = _corpus(tok, n=5)
  dataset = pipeline.make_dataset(corpus, 4, task_id=3, repeat=True,
                                  bucket_boundaries=None)
  batches = list(dataset.take(4))
  assert all(set(b["task_id"].numpy()) == {3} for b in batches)
  assert sum(b["input_ids"].shape[0] for b in batches) == 16


@pytest.mark.parametrize("buckets", [None, pipeline.DEFAULT_BUCKETS, (8,)])
@pytest.mark.parametrize("drop", [False, True])
def test_num_batches_counts_one_pass(tok, buckets, drop):
  corpus = _corpus(tok, n=97)
  dataset = pipeline.make_dataset(corpus, 8, shuffle=True,
                                  bucket_boundaries=buckets, drop_remainder=drop)
  assert pipeline.num_batches(corpus, 8, buckets, drop) == sum(1 for _ in dataset)


def test_index_names_each_rows_sentence_and_leaves_the_batches_alone(tok):
  corpus = _corpus(tok, n=60)
  settings = dict(shuffle=True, seed=5, repeat=True)
  plain = list(pipeline.make_dataset(corpus, 8, **settings).take(12))
  indexed = list(pipeline.make_dataset(corpus, 8, with_index=True,
                                       **settings).take(12))
  assert "index" not in plain[0]
  for a, b in zip(plain, indexed):
    np.testing.assert_array_equal(a["input_ids"], b["input_ids"])
    for row, mask, index in zip(b["input_ids"].numpy(),
                                b["attention_mask"].numpy(),
                                b["index"].numpy()):
      assert list(row[mask == 1]) == list(corpus.select([index]).ids)


def test_select_keeps_the_rows_in_the_given_order(tok):
  corpus = _corpus(tok, n=10)
  corpus.sample_weights = np.arange(10, dtype=np.float32) / 10
  picked = corpus.select([7, 2, 2])
  rows = [_order(pipeline.make_dataset(corpus.select([i]), 1,
                                       bucket_boundaries=None))[0]
          for i in (7, 2, 2)]
  assert _order(pipeline.make_dataset(picked, 3, bucket_boundaries=None)) == rows
  np.testing.assert_array_equal(picked.lengths, corpus.lengths[[7, 2, 2]])
  np.testing.assert_allclose(picked.sample_weights, [0.7, 0.2, 0.2])
  assert len(corpus.select([])) == 0
