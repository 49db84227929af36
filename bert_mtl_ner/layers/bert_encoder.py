"""``TFBertModel`` wrapped in a Keras layer, and the ways to obtain one.

Calling ``TFBertModel`` directly on Keras functional inputs fails in TF 2.15 (an
``assert_less`` op cannot become a KerasTensor); inside a custom layer's ``call`` it
traces, trains and exports cleanly.

``--bert_model`` (``resolve_bert``) accepts:

* ``tiny``: a randomly initialised BERT sized by the size flags (tests, smoke runs);
* a local directory holding ``config.json`` and TF weights (``tf_model.h5``) or
  PyTorch weights (``model.safetensors``/``pytorch_model.bin``, loaded with
  ``from_pt``); this is how ``bert-base-chinese`` is used offline;
* a Hugging Face name such as ``bert-base-chinese`` (needs the hub: online only).
"""

import dataclasses
import json
import os
from typing import Any, Dict, Optional

import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras

_TF_WEIGHTS = "tf_model.h5"
_PT_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclasses.dataclass
class BertChoice:
  """A resolved ``--bert_model``: the encoder's config and where weights are.

  Attributes:
    config: a ``transformers.BertConfig`` as a dict.
    weights: a directory or hub name to load weights from; None for random init.
    from_pt: the weights are PyTorch weights.
  """
  config: Dict[str, Any]
  weights: Optional[str] = None
  from_pt: bool = False


def tiny_bert_config(vocab_size: int, hidden_size: int = 64,
                     num_layers: int = 2, num_heads: int = 2,
                     intermediate_size: int = 256,
                     max_position_embeddings: int = 512) -> Dict[str, Any]:
  """Config dict of a randomly initialised BERT of the given size."""
  from transformers import BertConfig  # pylint: disable=g-import-not-at-top
  return BertConfig(vocab_size=vocab_size, hidden_size=hidden_size,
                    num_hidden_layers=num_layers, num_attention_heads=num_heads,
                    intermediate_size=intermediate_size,
                    max_position_embeddings=max_position_embeddings).to_dict()


def resolve_bert(bert_model: str, vocab_size: int, **size) -> BertChoice:
  """Resolves a ``--bert_model`` value (see the module docstring).

  Args:
    bert_model: ``tiny``, a local directory, or a hub name.
    vocab_size: vocabulary size for ``tiny``.
    **size: ``tiny_bert_config`` size arguments.

  Raises:
    UsageError: a directory without ``config.json`` or weights, or a name that
      cannot be fetched.
  """
  if bert_model == "tiny":
    return BertChoice(tiny_bert_config(vocab_size, **size))
  from transformers import BertConfig  # pylint: disable=g-import-not-at-top
  if os.path.isdir(bert_model):
    if not os.path.exists(os.path.join(bert_model, "config.json")):
      raise UsageError(f"--bert_model={bert_model}: no config.json in that "
                       "directory")
    if os.path.exists(os.path.join(bert_model, _TF_WEIGHTS)):
      from_pt = False
    elif any(os.path.exists(os.path.join(bert_model, w)) for w in _PT_WEIGHTS):
      from_pt = True
    else:
      raise UsageError(f"--bert_model={bert_model}: no {_TF_WEIGHTS} or "
                       f"{' / '.join(_PT_WEIGHTS)} in that directory")
    return BertChoice(BertConfig.from_pretrained(bert_model).to_dict(),
                      bert_model, from_pt)
  try:
    config = BertConfig.from_pretrained(bert_model).to_dict()
  except OSError as err:
    raise UsageError(f"--bert_model={bert_model}: not a directory, and it "
                     f"cannot be fetched from the hub ({err}); use a local "
                     "directory or --bert_model=tiny") from None
  return BertChoice(config, bert_model, False)


@keras.utils.register_keras_serializable(package="bert_mtl_ner")
class BertEncoder(keras.layers.Layer):
  """BERT as a Keras layer: ``(input_ids, attention_mask)`` -> last hidden states.

  Args:
    bert_config: a ``transformers.BertConfig`` as a dict.
    weights: a directory or hub name to load pretrained weights from at
      construction; None for random init (also when a checkpoint of ours will be
      restored over it). Not part of ``get_config``.
    from_pt: ``weights`` are PyTorch weights.

  Example:
    >>> enc = BertEncoder(tiny_bert_config(21128))
    >>> hidden = enc((input_ids, attention_mask))  # [batch, time, hidden]
  """

  def __init__(self, bert_config: Dict[str, Any], weights: Optional[str] = None,
               from_pt: bool = False, **kwargs):
    super().__init__(**kwargs)
    from transformers import BertConfig, TFBertModel  # pylint: disable=g-import-not-at-top
    # Kept as JSON: a dict attribute would be tracked, and transformers mutates it.
    self._config_json = json.dumps(bert_config)
    config = BertConfig.from_dict(bert_config)
    if weights is None:
      self.bert = TFBertModel(config, name="bert")
    else:
      self.bert = TFBertModel.from_pretrained(weights, config=config,
                                              from_pt=from_pt, name="bert")

  @property
  def bert_config(self) -> Dict[str, Any]:
    return json.loads(self._config_json)

  @property
  def hidden_size(self) -> int:
    return self.bert_config["hidden_size"]

  def call(self, inputs, training=None):
    input_ids, attention_mask = inputs
    outputs = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        training=training)
    return outputs.last_hidden_state

  def compute_output_shape(self, input_shape):
    return tf.TensorShape(input_shape[0]).concatenate([self.hidden_size])

  def get_config(self):
    config = super().get_config()
    config["bert_config"] = self.bert_config
    return config
