"""The model config: everything a builder needs, resolved once from the flags."""

import dataclasses
from typing import Any, Dict, List, Optional


@dataclasses.dataclass
class ModelConfig:
  """What to build.

  Attributes:
    model: builder name (see ``models.MODELS``).
    labels: label names in id order (``O`` first).
    vocab_size: size of the token vocabulary.
    max_seq_len: tokens per window, ``[CLS]`` and ``[SEP]`` included.
    embedding_dim: character embedding size (``bilstm_crf``).
    embeddings_file: word2vec-format text file of pretrained character vectors
      (``bilstm_crf``); None for random init. Needs ``vocab_file``.
    vocab_file: the vocabulary (to match ``embeddings_file`` rows to ids).
    bigram_buckets: ``bilstm_crf``: rows of the hashed character-bigram table
      (``layers.bigram_embedding``); 0 for no bigram features.
    bigram_dim: ``bilstm_crf``: size of one bigram vector.
    char_dropout: ``bilstm_crf``: share of the input characters read as
      ``[UNK]`` in training (``layers.token_dropout``); 0 for none. Needs
      ``vocab_file``.
    lstm_units: units per direction of each BiLSTM layer.
    lstm_layers: BiLSTM layers (0 for none).
    dropout: dropout rate before the emission layer (and between BiLSTM layers).
    bert_config: ``transformers.BertConfig`` dict of the encoder (BERT models).
    bert_weights: where pretrained BERT weights come from; None for random init.
    bert_from_pt: ``bert_weights`` are PyTorch weights.
    constrain_bio: forbid invalid BIO paths when decoding.
    main_task: ``mtl``: name of the main task (its labels are ``labels``).
    aux_labels: ``mtl``: auxiliary task name -> its label names.
    use_attention: ``mtl``: fuse the auxiliary features into the main task through
      multi-head attention (False: plain hard sharing).
    attention_heads: ``mtl``: heads of that attention.
    task_hidden_units: ``mtl``: size of each task's own hidden layer.
    members: ``ensemble``: the members' configs (dicts), in order
      (``models.ensemble``).
  """
  model: str
  labels: List[str]
  vocab_size: int
  max_seq_len: int = 150
  embedding_dim: int = 128
  embeddings_file: Optional[str] = None
  vocab_file: Optional[str] = None
  bigram_buckets: int = 0
  bigram_dim: int = 64
  char_dropout: float = 0.0
  lstm_units: int = 128
  lstm_layers: int = 1
  dropout: float = 0.1
  bert_config: Optional[Dict[str, Any]] = None
  bert_weights: Optional[str] = None
  bert_from_pt: bool = False
  constrain_bio: bool = True
  main_task: str = "main"
  aux_labels: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
  use_attention: bool = True
  attention_heads: int = 4
  task_hidden_units: int = 256
  members: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

  @property
  def num_labels(self) -> int:
    return len(self.labels)

  def to_dict(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: Dict[str, Any]) -> "ModelConfig":
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})
