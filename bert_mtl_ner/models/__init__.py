"""Model builders by name: ``build_model(ModelConfig)``.

Every model is a functional Keras graph from ``{"input_ids", "attention_mask"}``
(int32 [batch, time]) to ``{"emissions": float32 [batch, time, labels], "tags":
int32 [batch, time]}``; its CRF layer is named ``crf``. The multi-task model
(``mtl``) adds the outputs of its auxiliary tasks (see ``models.mtl``). An
``ensemble`` averages the CRF scores of trained members (``models.ensemble``);
it is assembled from trained runs (``bert_mtl_ner.ensemble``), never trained.
"""

from typing import Callable, Dict

from tensorflow.python.autograph.core import ag_ctx  # pylint: disable=g-direct-tensorflow-import

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models.bert_crf import build_bert_bilstm_crf, build_bert_crf
from bert_mtl_ner.models.bilstm_crf import build_bilstm_crf
from bert_mtl_ner.models.config import ModelConfig
from bert_mtl_ner.models.ensemble import build_ensemble
from bert_mtl_ner.models.mtl import build_mtl
from bert_mtl_ner.training import names

MODELS: Dict[str, Callable[[ModelConfig], keras.Model]] = {
    "bilstm_crf": build_bilstm_crf,
    "bert_crf": build_bert_crf,
    "bert_bilstm_crf": build_bert_bilstm_crf,
    "mtl": build_mtl,
    "ensemble": lambda config: build_ensemble(config, _build),
}

USES_BERT = names.USES_BERT
# What `train` trains: an ensemble is assembled from trained runs instead.
TRAINABLE = names.MODELS


def build_model(config: ModelConfig) -> keras.Model:
  """Builds the model named by ``config.model``.

  Autograph is off while the functional graph is built: the layers' calls have
  no Python control flow on tensors, and converting them (Keras does it to
  infer each layer's outputs) took most of the build, tens of seconds for a
  BERT model. Our ``tf.function``s trace with ``autograph=False`` likewise.
  TensorFlow offers this switch only internally.

  Raises:
    UsageError: for an unknown model name.
  """
  with ag_ctx.ControlStatusCtx(status=ag_ctx.Status.DISABLED):
    return _build(config)


def _build(config: ModelConfig) -> keras.Model:
  if config.model not in MODELS:
    raise UsageError(f"unknown model {config.model!r}; known models: "
                     f"{', '.join(MODELS)}")
  return MODELS[config.model](config)


__all__ = ["MODELS", "ModelConfig", "TRAINABLE", "USES_BERT", "build_model"]
