"""Hashed character-bigram embeddings, computed from the token ids in the graph.

Character bigrams carry much of what words carry in Chinese (北京, 银行, 先生):
a BiLSTM-CRF that sees them beside the character embeddings finds entity edges
better (Zhang and Yang 2018 use them in their character baselines). The bigram
of positions ``(i, i + 1)`` is hashed from the two token ids into one of
``buckets`` rows, so the layer needs no bigram vocabulary: the model's inputs stay
``input_ids`` and ``attention_mask``, and the exported SavedModel computes the
same ids with no table of its own.

The hash is ``((a * vocab_size + b) * 48271) mod (2**31 - 1) mod buckets`` (a
Lehmer step over the exact pair code; int64 never overflows for vocabularies
under 2**21). Each position gets the embeddings of its left bigram ``(i - 1, i)``
and its right bigram ``(i, i + 1)``, concatenated; the first and last positions
pair with ``pad_id``.
"""

import tensorflow as tf

from bert_mtl_ner.keras import keras

_MULTIPLIER = 48271
_MODULUS = 2**31 - 1
MAX_VOCAB = 2**21


def pair_buckets(first: tf.Tensor, second: tf.Tensor, vocab_size: int,
                 buckets: int) -> tf.Tensor:
  """Hash bucket of each bigram ``(first, second)`` (int64, same shape)."""
  code = tf.cast(first, tf.int64) * vocab_size + tf.cast(second, tf.int64)
  return tf.math.floormod(tf.math.floormod(code * _MULTIPLIER, _MODULUS),
                          buckets)


def bigram_buckets(input_ids: tf.Tensor, vocab_size: int, buckets: int,
                   pad_id: int = 0):
  """Buckets of the left and right bigram of every position.

  Args:
    input_ids: int [batch, time] token ids.
    vocab_size: ids are below this.
    buckets: number of hash buckets.
    pad_id: the id before the first and after the last position.

  Returns:
    ``(left, right)``, int64 [batch, time] each: the buckets of
    ``(ids[i - 1], ids[i])`` and ``(ids[i], ids[i + 1])``.
  """
  ids = tf.cast(input_ids, tf.int64)
  pad = tf.fill([tf.shape(ids)[0], 1], tf.constant(pad_id, tf.int64))
  preceding = tf.concat([pad, ids[:, :-1]], 1)
  following = tf.concat([ids[:, 1:], pad], 1)
  return (pair_buckets(preceding, ids, vocab_size, buckets),
          pair_buckets(ids, following, vocab_size, buckets))


@keras.utils.register_keras_serializable(package="bert_mtl_ner")
class BigramEmbedding(keras.layers.Layer):
  """Left and right hashed bigram embeddings per position.

  Args:
    vocab_size: size of the token vocabulary (ids are below it).
    buckets: rows of the bigram table.
    output_dim: size of one bigram vector; the output has twice this.
    pad_id: id used past either end.

  Call args:
    input_ids: int [batch, time].

  Returns:
    float [batch, time, 2 * output_dim].

  Example:
    >>> layer = BigramEmbedding(vocab_size=21128, buckets=200003, output_dim=64)
    >>> features = layer(input_ids)   # [batch, time, 128]
  """

  def __init__(self, vocab_size: int, buckets: int, output_dim: int,
               pad_id: int = 0, **kwargs):
    super().__init__(**kwargs)
    if not 0 < vocab_size <= MAX_VOCAB:
      raise ValueError(f"vocab_size must be in (0, {MAX_VOCAB}], got "
                       f"{vocab_size}")
    if buckets <= 0 or output_dim <= 0:
      raise ValueError("buckets and output_dim must be positive")
    self.vocab_size = vocab_size
    self.buckets = buckets
    self.output_dim = output_dim
    self.pad_id = pad_id
    self.table = keras.layers.Embedding(buckets, output_dim,
                                        embeddings_initializer="uniform",
                                        name="table")

  def call(self, input_ids):
    left, right = bigram_buckets(input_ids, self.vocab_size, self.buckets,
                                 self.pad_id)
    return tf.concat([self.table(left), self.table(right)], -1)

  def get_config(self):
    config = super().get_config()
    config.update(vocab_size=self.vocab_size, buckets=self.buckets,
                  output_dim=self.output_dim, pad_id=self.pad_id)
    return config
