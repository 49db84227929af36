"""An ensemble of trained taggers that share labels and vocabulary: the CRF
scores of its members averaged, decoded by one CRF.

A linear-chain CRF scores a tag path as the sum of its emissions and
transitions. The ensemble's emissions are the mean of its members' emissions,
and its CRF's transitions the mean of theirs (set when the ensemble is
assembled, ``bert_mtl_ner.ensemble``): the score of every path is the mean of
the members' scores of it (a product of experts), and one Viterbi pass finds
the best. Each member keeps its own architecture and features; only its
emission layer's output is used, so its own CRF decodes nothing.
"""

from typing import Callable, List

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers.crf import CRF
from bert_mtl_ner.models import heads
from bert_mtl_ner.models.config import ModelConfig


def member_configs(config: ModelConfig) -> List[ModelConfig]:
  """The members' configs, built from their own settings with the ensemble's
  labels, vocabulary and window; no pretrained vectors or encoder are read
  (the trained weights replace them).

  Raises:
    UsageError: fewer than two members, or a member that is an ensemble.
  """
  if len(config.members) < 2:
    raise UsageError(f"an ensemble needs at least 2 members, got "
                     f"{len(config.members)}")
  members = []
  for values in config.members:
    member = ModelConfig.from_dict(dict(
        values, labels=config.labels, vocab_size=config.vocab_size,
        max_seq_len=config.max_seq_len, vocab_file=config.vocab_file,
        embeddings_file=None, bert_weights=None))
    if member.model == "ensemble":
      raise UsageError("an ensemble cannot be a member of an ensemble")
    members.append(member)
  return members


def emission_scorer(model: keras.Model, name: str) -> keras.Model:
  """The part of a tagger from its inputs to its emissions: the first input
  of its CRF layer (named ``crf`` in every model of ``bert_mtl_ner.models``).

  Args:
    model: a tagger of ``bert_mtl_ner.models``.
    name: the scorer's name.

  Returns:
    A model ``{input_ids, attention_mask}`` -> emissions [batch, time,
    labels], sharing the tagger's layers and weights.
  """
  emissions = model.get_layer("crf").input[0]
  return keras.Model(model.inputs, emissions, name=name)


def build_ensemble(config: ModelConfig,
                   build_member: Callable[[ModelConfig], keras.Model]
                   ) -> keras.Model:
  """Builds the ensemble of ``config.members``.

  Args:
    config: ``model="ensemble"``, with ``labels``, ``vocab_size``,
      ``max_seq_len`` and ``members`` (each a ``ModelConfig`` dict).
    build_member: builds one member from its config (``models.build_model``).

  Returns:
    A functional model ``{input_ids, attention_mask}`` -> ``{emissions,
    tags}`` whose layers ``member_0``, ``member_1``, ... are the members'
    emission scorers and whose CRF is named ``crf``.
  """
  inputs = heads.model_inputs()
  scores = [emission_scorer(build_member(member), f"member_{i}")(inputs)
            for i, member in enumerate(member_configs(config))]
  emissions = keras.layers.Average(name="emissions", dtype="float32")(scores)
  tags = CRF(config.num_labels, labels=config.labels,
             constrain_bio=config.constrain_bio,
             name="crf")((emissions, inputs["attention_mask"]))
  return keras.Model(inputs, {"emissions": emissions, "tags": tags},
                     name="ensemble")
