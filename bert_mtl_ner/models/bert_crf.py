"""BERT-CRF and BERT-BiLSTM-CRF: the wrapped BERT encoder, an optional BiLSTM,
dropout 0.1, a dense emission layer and the CRF."""

import dataclasses

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers.bert_encoder import BertEncoder
from bert_mtl_ner.models import heads
from bert_mtl_ner.models.config import ModelConfig


def bert_encoder(config: ModelConfig) -> BertEncoder:
  """The encoder layer of a config, checked against ``max_seq_len``.

  Raises:
    UsageError: no BERT config, or ``max_seq_len`` over the encoder's positions.
  """
  if not config.bert_config:
    raise UsageError(f"model {config.model} needs a BERT (--bert_model)")
  positions = config.bert_config.get("max_position_embeddings", 512)
  if config.max_seq_len > positions:
    raise UsageError(f"--max_seq_len={config.max_seq_len} is over the "
                     f"{positions} positions of the BERT encoder; lower it")
  return BertEncoder(config.bert_config, weights=config.bert_weights,
                     from_pt=config.bert_from_pt, name="bert_encoder")


def build_bert_bilstm_crf(config: ModelConfig) -> keras.Model:
  """Builds BERT(-BiLSTM)-CRF; ``config.lstm_layers == 0`` gives BERT-CRF.

  Returns:
    A functional model ``{input_ids, attention_mask}`` -> ``{emissions, tags}``.
  """
  inputs = heads.model_inputs()
  features = bert_encoder(config)((inputs["input_ids"],
                                   inputs["attention_mask"]))
  features = heads.bilstm_stack(features, inputs["attention_mask"], config)
  outputs = heads.crf_outputs(features, inputs["attention_mask"], config)
  name = "bert_bilstm_crf" if config.lstm_layers else "bert_crf"
  return keras.Model(inputs, outputs, name=name)


def build_bert_crf(config: ModelConfig) -> keras.Model:
  """BERT-CRF: BERT-BiLSTM-CRF without the BiLSTM."""
  return build_bert_bilstm_crf(dataclasses.replace(config, lstm_layers=0))
