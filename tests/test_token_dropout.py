"""Token dropout: [UNK] in training only, never on the special tokens."""

import numpy as np
import tensorflow as tf

from bert_mtl_ner import tokenization
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers.token_dropout import TokenDropout
from bert_mtl_ner.models import ModelConfig, build_model

UNK, KEEP = 1, (0, 2, 3)  # padding, [CLS], [SEP]


def _ids(rows=64, time=100, seed=0):
  ids = np.random.default_rng(seed).integers(4, 500, size=(rows, time))
  ids[:, 0], ids[:, time // 2], ids[:, -10:] = 2, 3, 0  # [CLS], [SEP], padding
  return tf.constant(ids, tf.int32)


def test_only_in_training_and_never_the_specials():
  layer = TokenDropout(0.3, UNK, KEEP, seed=1)
  ids = _ids()
  np.testing.assert_array_equal(layer(ids, training=False).numpy(), ids.numpy())
  out = layer(ids, training=True).numpy()
  changed = out != ids.numpy()
  assert (out[changed] == UNK).all()
  assert not changed[:, [0, 50]].any() and not changed[:, -10:].any()
  share = changed.sum() / (ids.shape[0] * (ids.shape[1] - 12))
  assert 0.25 < share < 0.35  # 5888 tokens at rate 0.3


def test_config_round_trip():
  layer = TokenDropout(0.2, UNK, KEEP, seed=3, name="char_dropout")
  again = TokenDropout.from_config(layer.get_config())
  assert (again.rate, again.unk_id, again.keep_ids, again.seed, again.name) == \
      (0.2, UNK, list(KEEP), 3, "char_dropout")


def test_bilstm_crf_reads_characters_as_unk_in_training_only(tmp_path):
  vocab_file = tmp_path / "vocab.txt"
  tokens = [tokenization.PAD, tokenization.UNK, tokenization.CLS,
            tokenization.SEP] + [chr(0x4e00 + i) for i in range(60)]
  vocab_file.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
  config = ModelConfig(model="bilstm_crf", labels=["O", "B-PER", "I-PER"],
                       vocab_size=len(tokens), vocab_file=str(vocab_file),
                       embedding_dim=8, lstm_units=8, dropout=0.0,
                       char_dropout=0.5)
  model = build_model(config)
  dropout = model.get_layer("char_dropout")
  assert dropout.unk_id == 1 and dropout.keep_ids == [0, 2, 3]
  inputs = {"input_ids": _ids(4, 20, seed=2) % len(tokens),
            "attention_mask": tf.ones([4, 20], tf.int32)}
  emissions = lambda training: model(inputs, training=training)["emissions"]
  np.testing.assert_allclose(emissions(False), emissions(False))
  assert not np.allclose(emissions(True), emissions(False))
  # The layer holds no weights: a model without it loads the same arrays.
  plain = build_model(ModelConfig(**dict(config.to_dict(), char_dropout=0.0)))
  assert [w.shape for w in plain.weights] == [w.shape for w in model.weights]
  assert isinstance(dropout.mask, keras.layers.Dropout)
