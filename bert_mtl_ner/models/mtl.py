"""The multi-task BERT-BiLSTM-AM-CRF model (the paper's contribution).

Hard parameter sharing: BERT and a BiLSTM are shared by every task; each task has
its own hidden layer (dense, tanh), emission layer and CRF. The auxiliary tasks'
hidden features reach the main task through ``keras.layers.MultiHeadAttention``
(the "AM"): the main task's hidden features are the query, the auxiliary tasks'
hidden features (all of them, concatenated along time, padding masked) the keys and
values. Fusion (our choice; the paper does not say): residual add and layer
normalisation, ``LayerNorm(main + attention)``, so that without useful auxiliary
signal the main path is unchanged. The main task's CRF decodes the fused features.

Layer names: ``bert_encoder``, ``bilstm_0``..., ``{task}_hidden`` for every task,
``aux_attention`` and ``fusion_norm``; the main task's head is ``emissions`` and
``crf`` (as in the single-task models, so evaluation and export work unchanged),
an auxiliary task's head ``{task}_emissions`` and ``{task}_crf``.
Outputs: ``emissions`` and ``tags`` of the main task, ``{task}_emissions`` and
``{task}_tags`` of each auxiliary task.
"""

import dataclasses

import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models import heads
from bert_mtl_ner.models.bert_crf import bert_encoder
from bert_mtl_ner.models.config import ModelConfig


def build_mtl(config: ModelConfig) -> keras.Model:
  """Builds the multi-task model of ``config`` (``main_task``, ``aux_labels``).

  Returns:
    A functional model ``{input_ids, attention_mask}`` -> the outputs named in the
    module docstring.

  Raises:
    UsageError: the main task also named as an auxiliary task.
  """
  if config.main_task in config.aux_labels:
    raise UsageError(f"task {config.main_task!r} is both the main and an "
                     "auxiliary task")
  inputs = heads.model_inputs()
  mask = inputs["attention_mask"]
  shared = bert_encoder(config)((inputs["input_ids"], mask))
  shared = heads.bilstm_stack(shared, mask, config)

  def hidden(task):
    return keras.layers.Dense(config.task_hidden_units, activation="tanh",
                              name=f"{task}_hidden")(shared)

  main = hidden(config.main_task)
  aux = {task: hidden(task) for task in config.aux_labels}
  if config.use_attention and aux:
    values = keras.layers.Concatenate(axis=1, name="aux_features")(
        list(aux.values())) if len(aux) > 1 else next(iter(aux.values()))
    value_mask = keras.layers.Concatenate(axis=1, name="aux_mask")(
        [mask] * len(aux)) if len(aux) > 1 else mask
    attention_mask = keras.layers.Lambda(
        lambda m: tf.cast(m[0][:, :, None] * m[1][:, None, :], tf.bool),
        name="attention_mask_2d")([mask, value_mask])
    attended = keras.layers.MultiHeadAttention(
        config.attention_heads,
        key_dim=max(1, config.task_hidden_units // config.attention_heads),
        dropout=config.dropout, name="aux_attention")(
            main, values, values, attention_mask=attention_mask)
    main = keras.layers.LayerNormalization(name="fusion_norm")(
        keras.layers.Add(name="fusion_add")([main, attended]))
  outputs = heads.crf_outputs(main, mask, config)
  for task, labels in config.aux_labels.items():
    head = heads.crf_outputs(aux[task], mask,
                             dataclasses.replace(config, labels=list(labels)),
                             prefix=f"{task}_")
    outputs[f"{task}_emissions"] = head["emissions"]
    outputs[f"{task}_tags"] = head["tags"]
  return keras.Model(inputs, outputs, name="mtl")
