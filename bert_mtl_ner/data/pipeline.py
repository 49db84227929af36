"""The ``tf.data`` input pipeline: encoded sentences -> padded, bucketed batches.

``encode`` turns sentences into flat id arrays (fast to build, small in memory);
``make_dataset`` turns those into batches of

* ``input_ids`` int32 [batch, time]: ``[CLS]`` ids... ``[SEP]``, then ``[PAD]`` (0);
* ``attention_mask`` int32 [batch, time]: 1 on real tokens (specials included);
* ``labels`` int32 [batch, time]: label ids, ``O`` (0) on specials and padding;
* ``sample_weight`` float32 [batch]: per-sample loss weight (1.0 by default);
* ``task_id`` int32 [batch], when a task id is given (multi-task training keeps
  one pipeline per task);
* ``index`` int64 [batch], with ``with_index``: each row's position in the corpus.

Batches are padded to their longest member; with ``bucket_boundaries`` sentences of
similar length are batched together, which saves most of the padding. Shuffling
uses an explicit seed, so a run is repeatable.
"""

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from bert_mtl_ner import tokenization
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import DataError

DEFAULT_BUCKETS = (16, 32, 48, 64, 96, 128)


@dataclasses.dataclass
class EncodedCorpus:
  """Sentences as flat arrays; row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``.

  Attributes:
    ids: int32 token ids of all rows, concatenated.
    labels: int32 label ids aligned with ``ids``.
    lengths: int32 tokens per row (specials included).
    sample_weights: float32 per row.
  """
  ids: np.ndarray
  labels: np.ndarray
  lengths: np.ndarray
  sample_weights: np.ndarray

  def __len__(self) -> int:
    return len(self.lengths)

  def select(self, indices: Sequence[int]) -> "EncodedCorpus":
    """The rows at ``indices``, in that order, with their sample weights."""
    indices = np.asarray(indices, np.int64)
    ends = np.cumsum(self.lengths, dtype=np.int64)
    starts = ends - self.lengths
    positions = (np.concatenate([np.arange(starts[i], ends[i]) for i in indices])
                 if len(indices) else np.zeros([0], np.int64))
    return EncodedCorpus(self.ids[positions], self.labels[positions],
                         self.lengths[indices], self.sample_weights[indices])


def encode(sentences: Sequence[Sentence], tokenizer: tokenization.CharTokenizer,
           label_to_id: Mapping[str, int], max_seq_len: int,
           sample_weights: Optional[Sequence[float]] = None) -> EncodedCorpus:
  """Encodes sentences for training: truncated to ``max_seq_len`` tokens.

  Args:
    sentences: labeled or unlabeled sentences (unlabeled rows get label 0).
    tokenizer: maps characters to ids.
    label_to_id: BIO tag -> id, with ``O`` at 0.
    max_seq_len: the most tokens per row, ``[CLS]`` and ``[SEP]`` included.
    sample_weights: one weight per sentence; 1.0 when None.

  Returns:
    The encoded corpus.

  Raises:
    DataError: a sentence has a tag the label map lacks (for example a dev set
      with an entity type absent from training).
  """
  if label_to_id.get("O") != 0:
    raise ValueError("the label map must give O the id 0")
  limit = tokenization.max_chars(max_seq_len)
  ids, labels, lengths = [], [], []
  for sentence in sentences:
    chars = sentence.chars[:limit]
    ids.append(tokenizer.encode(chars))
    if sentence.tags is None:
      labels.append([0] * (len(chars) + 2))
    else:
      try:
        labels.append([0] + [label_to_id[t] for t in sentence.tags[:limit]] +
                      [0])
      except KeyError as err:
        raise DataError(sentence.source, sentence.line,
                        f"tag {err.args[0]!r} is not in the label map "
                        f"({', '.join(label_to_id)})") from None
    lengths.append(len(chars) + 2)
  if sample_weights is None:
    weights = np.ones(len(lengths), np.float32)
  else:
    weights = np.asarray(sample_weights, np.float32)
    if weights.shape != (len(lengths),):
      raise ValueError(f"{weights.shape[0]} sample weights for {len(lengths)} "
                       "sentences")
  flat = lambda rows: (np.concatenate([np.asarray(r, np.int32) for r in rows])
                       if rows else np.zeros([0], np.int32))
  return EncodedCorpus(flat(ids), flat(labels), np.asarray(lengths, np.int32),
                       weights)


def num_batches(corpus: EncodedCorpus, batch_size: int,
                bucket_boundaries: Optional[Sequence[int]] = DEFAULT_BUCKETS,
                drop_remainder: bool = False) -> int:
  """Batches in one pass of ``make_dataset`` with the same arguments."""
  if bucket_boundaries:
    buckets = np.searchsorted(np.asarray(bucket_boundaries), corpus.lengths,
                              side="right")
    sizes = np.bincount(buckets, minlength=len(bucket_boundaries) + 1)
  else:
    sizes = np.asarray([len(corpus)])
  if drop_remainder:
    return int(sum(n // batch_size for n in sizes))
  return int(sum(-(-n // batch_size) for n in sizes))


def make_dataset(corpus: EncodedCorpus, batch_size: int, shuffle: bool = False,
                 seed: int = 0,
                 bucket_boundaries: Optional[Sequence[int]] = DEFAULT_BUCKETS,
                 task_id: Optional[int] = None, repeat: bool = False,
                 drop_remainder: bool = False,
                 with_index: bool = False) -> tf.data.Dataset:
  """Batches of padded features (see the module docstring).

  Args:
    corpus: the encoded sentences.
    batch_size: sentences per batch.
    shuffle: shuffle the whole corpus each pass, with ``seed``.
    seed: shuffle seed; the same seed gives the same batches.
    bucket_boundaries: token-length boundaries for bucketing; None or empty pads
      each batch of consecutive sentences to its longest.
    task_id: when given, each element carries ``task_id``.
    repeat: repeat forever (each pass reshuffled).
    drop_remainder: drop incomplete batches.
    with_index: each element carries its row's ``index`` in ``corpus``; the
      batches are otherwise those of the same call without it.

  Returns:
    A prefetching ``tf.data.Dataset`` of feature dicts.
  """
  if batch_size <= 0:
    raise ValueError(f"batch_size must be positive, got {batch_size}")
  offsets = np.concatenate([[0], np.cumsum(corpus.lengths)]).astype(np.int64)
  ids = tf.constant(corpus.ids)
  labels = tf.constant(corpus.labels)
  weights = tf.constant(corpus.sample_weights)
  starts = tf.constant(offsets[:-1])
  ends = tf.constant(offsets[1:])

  def row(index):
    start, end = starts[index], ends[index]
    features = {
        "input_ids": ids[start:end],
        "attention_mask": tf.ones([end - start], tf.int32),
        "labels": labels[start:end],
        "sample_weight": weights[index],
    }
    if task_id is not None:
      features["task_id"] = tf.constant(task_id, tf.int32)
    if with_index:
      features["index"] = index
    return features

  dataset = tf.data.Dataset.range(len(corpus))
  if shuffle:
    dataset = dataset.shuffle(max(len(corpus), 1), seed=seed,
                              reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  dataset = dataset.map(row, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=True)
  if bucket_boundaries:
    dataset = dataset.bucket_by_sequence_length(
        lambda x: tf.shape(x["input_ids"])[0],
        bucket_boundaries=list(bucket_boundaries),
        bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        drop_remainder=drop_remainder)
  else:
    dataset = dataset.padded_batch(batch_size, drop_remainder=drop_remainder)
  return dataset.prefetch(tf.data.AUTOTUNE)
