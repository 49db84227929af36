"""Hashed character-bigram embeddings: buckets, alignment, config round trip."""

import numpy as np
import tensorflow as tf

from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bigram_embedding
from bert_mtl_ner.layers.bigram_embedding import BigramEmbedding


def test_buckets_are_the_hash_of_each_pair():
  ids = np.array([[2, 7, 9, 3, 0]])
  left, right = bigram_embedding.bigram_buckets(tf.constant(ids), 50, 1009)
  expected = lambda a, b: (((a * 50 + b) * 48271) % (2**31 - 1)) % 1009
  pairs = list(zip(ids[0], list(ids[0, 1:]) + [0]))
  assert right.numpy()[0].tolist() == [expected(a, b) for a, b in pairs]
  # The left bigram of position i is the right bigram of position i - 1.
  assert left.numpy()[0, 1:].tolist() == right.numpy()[0, :-1].tolist()
  assert left.numpy()[0, 0] == expected(0, 2)


def test_same_bigram_same_vector_anywhere():
  layer = BigramEmbedding(vocab_size=50, buckets=101, output_dim=4)
  out = layer(tf.constant([[2, 7, 9, 3], [5, 7, 9, 4]])).numpy()
  assert out.shape == (2, 4, 8)
  # (7, 9) is the right bigram of position 1 and the left one of position 2.
  np.testing.assert_array_equal(out[0, 1, 4:], out[1, 1, 4:])
  np.testing.assert_array_equal(out[0, 1, 4:], out[0, 2, :4])
  assert not np.array_equal(out[0, 0, 4:], out[1, 0, 4:])  # (2,7) vs (5,7)


def test_no_overflow_for_large_vocabularies():
  vocab = bigram_embedding.MAX_VOCAB
  left, right = bigram_embedding.bigram_buckets(
      tf.constant([[vocab - 1, vocab - 2]]), vocab, 1000003)
  for buckets in (left, right):
    assert ((buckets.numpy() >= 0) & (buckets.numpy() < 1000003)).all()


def test_config_round_trip():
  layer = BigramEmbedding(vocab_size=50, buckets=101, output_dim=4, pad_id=1,
                          name="bigrams")
  clone = BigramEmbedding.from_config(layer.get_config())
  assert clone.get_config() == layer.get_config()
  restored = keras.layers.deserialize(keras.layers.serialize(layer))
  assert isinstance(restored, BigramEmbedding) and restored.buckets == 101
