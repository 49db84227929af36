"""The parts every tagger shares: inputs, BiLSTM stack, emission layer, CRF."""

from typing import Dict

import tensorflow as tf

from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers.crf import CRF
from bert_mtl_ner.layers.lstm import LSTM
from bert_mtl_ner.models.config import ModelConfig


def model_inputs() -> Dict[str, keras.Input]:
  """The two int32 inputs of every model: ``input_ids`` and ``attention_mask``."""
  return {name: keras.Input([None], dtype=tf.int32, name=name)
          for name in ("input_ids", "attention_mask")}


def bilstm_stack(features, mask, config: ModelConfig, prefix: str = ""):
  """``config.lstm_layers`` bidirectional LSTMs, padded steps masked out.

  Args:
    features: float [batch, time, dim].
    mask: int [batch, time] attention mask.
    config: gives units, layers and dropout.
    prefix: layer-name prefix (multi-task models share or duplicate stacks).

  Returns:
    float [batch, time, 2 * lstm_units] (``features`` when there are no layers).
  """
  bool_mask = keras.layers.Lambda(lambda m: tf.cast(m, tf.bool),
                                  name=f"{prefix}lstm_mask")(mask)
  for i in range(config.lstm_layers):
    if i > 0:
      features = keras.layers.Dropout(config.dropout,
                                      name=f"{prefix}lstm_dropout_{i}")(features)
    features = keras.layers.Bidirectional(
        LSTM(config.lstm_units, return_sequences=True),
        name=f"{prefix}bilstm_{i}")(features, mask=bool_mask)
  return features


def crf_outputs(features, mask, config: ModelConfig, prefix: str = ""):
  """Dropout, a dense emission layer and the CRF on top of ``features``.

  Returns:
    ``{"emissions": float32 [batch, time, labels], "tags": int32 [batch, time]}``.
  """
  features = keras.layers.Dropout(config.dropout,
                                  name=f"{prefix}dropout")(features)
  emissions = keras.layers.Dense(config.num_labels, name=f"{prefix}emissions",
                                 dtype="float32")(features)
  tags = CRF(config.num_labels, labels=config.labels,
             constrain_bio=config.constrain_bio,
             name=f"{prefix}crf")((emissions, mask))
  return {"emissions": emissions, "tags": tags}
