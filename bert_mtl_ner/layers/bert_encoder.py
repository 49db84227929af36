"""``TFBertModel`` wrapped in a Keras layer, and the ways to obtain one.

Calling ``TFBertModel`` directly on Keras functional inputs fails in TF 2.15 (an
``assert_less`` op cannot become a KerasTensor); inside a custom layer's ``call`` it
traces, trains and exports cleanly.

``--bert_model`` (``resolve_bert``) accepts:

* ``tiny``: a randomly initialised BERT sized by the size flags (tests, smoke runs);
* a local directory holding ``config.json`` and TF weights (``tf_model.h5``) or
  Hugging Face PyTorch weights: ``model.safetensors`` is read by TensorFlow
  directly (no PyTorch needed), ``pytorch_model.bin`` with ``from_pt`` (needs
  ``torch``); this is how ``bert-base-chinese`` is used offline;
* a Hugging Face name such as ``bert-base-chinese`` (needs the hub: online only).
"""

import dataclasses
import importlib.util
import json
import os
from typing import Any, Dict, Optional

import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras

_TF_WEIGHTS = "tf_model.h5"
_SAFETENSORS = "model.safetensors"  # read by transformers-TF without torch
_PT_BIN = "pytorch_model.bin"  # needs torch (from_pt)


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


def resolve_bert(bert_model: str, vocab_size: int, need_weights: bool = True,
                 **size) -> BertChoice:
  """Resolves a ``--bert_model`` value (see the module docstring).

  Args:
    bert_model: ``tiny``, a local directory, or a hub name.
    vocab_size: vocabulary size for ``tiny``.
    need_weights: a directory must hold weights (False: its ``config.json``
      is enough, for random init).
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
    has = lambda name: os.path.exists(os.path.join(bert_model, name))
    from_pt = not (has(_TF_WEIGHTS) or has(_SAFETENSORS))
    if not need_weights and from_pt and not has(_PT_BIN):
      return BertChoice(BertConfig.from_pretrained(bert_model).to_dict())
    if from_pt and not has(_PT_BIN):
      raise UsageError(f"--bert_model={bert_model}: no {_TF_WEIGHTS}, "
                       f"{_SAFETENSORS} or {_PT_BIN} in that directory")
    if from_pt and importlib.util.find_spec("torch") is None:
      raise UsageError(f"--bert_model={bert_model}: {_PT_BIN} needs PyTorch "
                       "(pip install torch), or use the model.safetensors of "
                       "the same release, which needs no PyTorch")
    return BertChoice(BertConfig.from_pretrained(bert_model).to_dict(),
                      bert_model, from_pt)
  try:
    config = BertConfig.from_pretrained(bert_model).to_dict()
  except OSError as err:
    raise UsageError(f"--bert_model={bert_model}: not a directory, and it "
                     f"cannot be fetched from the hub ({err}); use a local "
                     "directory or --bert_model=tiny") from None
  return BertChoice(config, bert_model, False)


def from_pretrained(model_class, weights: str, config=None,
                    from_pt: bool = False, **kwargs):
  """``model_class.from_pretrained`` that also reads PyTorch-format
  ``model.safetensors`` without PyTorch.

  transformers 4.57's TF loader fails on such files with current safetensors
  (``'builtins.safe_open' object is not iterable``, huggingface/transformers
  #40028, not to be fixed: TF support is deprecated). The tensors are read with
  ``safetensors.numpy`` and handed to the same name mapping instead.

  Args:
    model_class: a ``transformers`` TF class such as ``TFBertModel``.
    weights: a directory or hub name.
    config: a ``BertConfig``; default: the directory's.
    from_pt: load ``pytorch_model.bin`` (needs torch).
    **kwargs: passed to the model's constructor.

  Raises:
    UsageError: the safetensors file lacks encoder weights.
  """
  safetensors_file = os.path.join(weights, _SAFETENSORS)
  if (from_pt or not os.path.isfile(safetensors_file) or
      os.path.exists(os.path.join(weights, _TF_WEIGHTS))):
    return model_class.from_pretrained(weights, config=config,
                                       from_pt=from_pt, **kwargs)
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  from transformers import BertConfig  # pylint: disable=g-import-not-at-top
  from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model  # pylint: disable=g-import-not-at-top
  model = model_class(config or BertConfig.from_pretrained(weights), **kwargs)
  _, info = load_pytorch_state_dict_in_tf2_model(
      model, load_file(safetensors_file), allow_missing_keys=True,
      output_loading_info=True)
  # A release may leave out the pooler or a head, never the encoder.
  missing = [k for k in info["missing_keys"]
             if "encoder" in k or "embeddings" in k]
  if missing:
    raise UsageError(f"{safetensors_file}: no weights for {missing[:3]} (and "
                     f"{max(0, len(missing) - 3)} more); is it a BERT?")
  return model


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
      self.bert = from_pretrained(TFBertModel, weights, config, from_pt,
                                  name="bert")

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
