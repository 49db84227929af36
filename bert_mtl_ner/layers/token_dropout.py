"""Token dropout: in training, characters read as ``[UNK]`` at random.

A character model learns the names of its training text by heart (a dev split
drawn from the same articles rewards that); the names it meets later are new.
Replacing a share of the input characters with ``[UNK]`` while training makes
it tag from the context as well (word dropout; Lample et al. 2016 replace
singletons with the unknown word at rate 0.5). At inference the ids pass
unchanged, so the exported graph is the same as without the layer.

The mask comes from a ``keras.layers.Dropout`` inside the layer: its random
generator is checkpointed with the others (``training.trainer.random_generators``),
so a resumed run draws the masks an uninterrupted one draws.
"""

from typing import Sequence

import tensorflow as tf

from bert_mtl_ner.keras import keras


class TokenDropout(keras.layers.Layer):
  """Replaces each token id by ``unk_id`` with probability ``rate`` in
  training; ids in ``keep_ids`` (padding, ``[CLS]``, ``[SEP]``) never.

  Args:
    rate: the share of tokens replaced, in [0, 1).
    unk_id: the id they are replaced with.
    keep_ids: ids never replaced.
    seed: seed of the mask's dropout layer.

  Call args:
    input_ids: int [batch, time].
    training: replace only when true.

  Returns:
    int [batch, time]: the ids, some replaced in training.
  """

  def __init__(self, rate: float, unk_id: int, keep_ids: Sequence[int] = (),
               seed=None, **kwargs):
    super().__init__(**kwargs)
    if not 0 <= rate < 1:
      raise ValueError(f"rate must be in [0, 1), got {rate}")
    self.rate = rate
    self.unk_id = unk_id
    self.keep_ids = list(keep_ids)
    self.seed = seed
    self.mask = keras.layers.Dropout(rate, seed=seed, name="mask")

  def call(self, input_ids, training=None):
    kept = self.mask(tf.ones_like(input_ids, tf.float32), training=training) > 0
    for keep in self.keep_ids:
      kept |= tf.equal(input_ids, keep)
    return tf.where(kept, input_ids, tf.cast(self.unk_id, input_ids.dtype))

  def get_config(self):
    config = super().get_config()
    config.update(rate=self.rate, unk_id=self.unk_id, keep_ids=self.keep_ids,
                  seed=self.seed)
    return config
