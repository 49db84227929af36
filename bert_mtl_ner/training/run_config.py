"""The config of one training run: every knob of the train app.

``TrainRun`` is the single definition: the train app declares its flags from it
(``config_flags.define_flags``), and the experiment grid builds it in code.
"""

import dataclasses
from typing import List, Optional

from bert_mtl_ner import config_flags
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.training import names


@dataclasses.dataclass
class TrainRun:
  """One training run (each field is also a flag of the train app)."""
  # What to train on.
  model: str = config_flags.field(
      "bert_bilstm_crf", choices=list(names.MODELS), help="Model to build.")
  dataset: Optional[str] = config_flags.field(
      None,
      help="Registered dataset (msra, peoples_daily, cluener); or give "
           "--train_file and --dev_file.")
  data_dir: Optional[str] = config_flags.field(
      None, help="Data folder of the registered datasets.")
  train_split: str = config_flags.field(
      "train", help="Split of --dataset to train on.")
  dev_split: str = config_flags.field(
      "dev", help="Split of --dataset for early stopping.")
  train_file: Optional[str] = config_flags.field(
      None, help="A corpus file to train on.")
  dev_file: Optional[str] = config_flags.field(
      None, help="A corpus file for early stopping.")
  file_format: Optional[str] = config_flags.field(
      None, choices=list(readers.FORMATS),
      help="Format of --train_file/--dev_file (detected when unset).")
  tag_scheme: str = config_flags.field(
      "bio", choices=list(tags_lib.SCHEMES),
      help="Tag scheme of --train_file/--dev_file.")
  train_limit: int = config_flags.field(
      0, help="Use only the first N training sentences (0: all).")
  dev_limit: int = config_flags.field(
      0, help="Use only the first N dev sentences.")
  model_dir: Optional[str] = config_flags.field(
      None, help="Where the run lives (resumed if present).")
  # Tokens.
  vocab_file: Optional[str] = config_flags.field(
      None,
      help="Vocabulary; default: the BERT directory's vocab.txt, else "
           "the package's vocab/chars.txt.")
  do_lower_case: bool = config_flags.field(
      True, help="Lower-case characters before lookup.")
  max_seq_len: int = config_flags.field(
      150, help="Tokens per window, [CLS] and [SEP] included.")
  # Model.
  bert_model: str = config_flags.field(
      "tiny",
      help="tiny (random init, size flags), a local directory with "
           "config.json and TF or PyTorch weights, or a hub name such as "
           "bert-base-chinese (online only).")
  bert_random_init: bool = config_flags.field(
      False,
      help="Build the --bert_model directory's architecture and vocabulary "
           "with random weights: the same model without pretraining, to "
           "measure what pretraining adds.")
  bert_hidden_size: int = config_flags.field(64, help="tiny BERT: hidden size.")
  bert_num_layers: int = config_flags.field(2, help="tiny BERT: layers.")
  bert_num_heads: int = config_flags.field(
      2, help="tiny BERT: attention heads.")
  bert_intermediate_size: int = config_flags.field(
      256, help="tiny BERT: FFN size.")
  embedding_dim: int = config_flags.field(
      128, help="bilstm_crf: embedding size.")
  embeddings_file: Optional[str] = config_flags.field(
      None,
      help="bilstm_crf: word2vec-format text file of pretrained character "
           "vectors.")
  bigram_buckets: int = config_flags.field(
      0,
      help="bilstm_crf: hashed character-bigram embedding rows (0: no bigram "
           "features).")
  bigram_dim: int = config_flags.field(
      64, help="bilstm_crf: size of a bigram embedding.")
  char_dropout: float = config_flags.field(
      0.0,
      help="bilstm_crf: share of the input characters read as [UNK] in "
           "training (word dropout: tagging from the context, for names never "
           "seen); 0 for none.")
  lstm_units: int = config_flags.field(
      128, help="Units per direction of each BiLSTM.")
  lstm_layers: int = config_flags.field(
      1, help="BiLSTM layers (bert_crf has none).")
  dropout: float = config_flags.field(0.1, help="Dropout rate.")
  constrain_bio: bool = config_flags.field(
      True, help="Forbid invalid BIO paths in decoding.")
  # Multi-task (--model=mtl).
  aux_tasks: List[str] = config_flags.list_field(
      "mtl: auxiliary tasks: registered dataset names (their train split) or "
      "corpus files.")
  use_attention: bool = config_flags.field(
      True,
      help="mtl: fuse auxiliary features through multi-head attention (off: "
           "plain hard sharing).")
  attention_heads: int = config_flags.field(4, help="mtl: attention heads.")
  task_hidden_units: int = config_flags.field(
      256, help="mtl: each task's hidden layer.")
  task_schedule: str = config_flags.field(
      "proportional", choices=names.TASK_SCHEDULES,
      help="mtl: how batches pick a task.")
  task_temperature: float = config_flags.field(
      2.0, help="mtl: T of --task_schedule=temperature.")
  aux_ratio: float = config_flags.field(
      0.0,
      help="mtl: at most this many auxiliary batches per main-task batch in "
           "an epoch, shared among the other tasks as the schedule shares "
           "them (0: no cap). Auxiliary corpora larger than the main one "
           "otherwise multiply an epoch's steps.")
  similarity_weights: bool = config_flags.field(
      True,
      help="mtl: weight auxiliary samples by similarity to the main corpus "
           "(off: all 1).")
  similarity_c: float = config_flags.field(1.0, help="mtl: C of fun(x, IN).")
  similarity_d: float = config_flags.field(1.0, help="mtl: d of fun(x, IN).")
  unlabeled: Optional[str] = config_flags.field(
      None,
      help="mtl: unlabeled text for pseudo-labels: dataset:split (e.g. "
           "cluener:test) or a text file, one sentence a line.")
  unlabeled_limit: int = config_flags.field(
      0, help="mtl: use only N unlabeled sentences.")
  aux_exclude: List[str] = config_flags.list_field(
      "mtl: dataset:split references (e.g. msra:dev,msra:test); every "
      "auxiliary and unlabeled sentence that contains, or is contained in, "
      "one of their sentences (normalized, as data --action=overlap) is "
      "removed, so that no task trains on the main task's evaluation text.")
  confidence_floor: float = config_flags.field(
      0.5,
      help="mtl: pseudo-labeled sentences under this confidence are dropped.")
  reweight_every: int = config_flags.field(
      1, help="mtl: recompute sample weights and pseudo-labels every N epochs.")
  # Optimisation (the paper's Table 3).
  epochs: int = config_flags.field(50, help="Most epochs.")
  batch_size: int = config_flags.field(32, help="Sentences per step.")
  learning_rate: float = config_flags.field(
      0.001, help="Peak learning rate (task layers).")
  bert_learning_rate: float = config_flags.field(
      3e-05, help="Peak learning rate of BERT.")
  warmup_ratio: float = config_flags.field(
      0.1, help="Share of steps of linear warmup.")
  lr_schedule: str = config_flags.field(
      "linear", choices=names.LR_SCHEDULES,
      help="After warmup: linear (decay to 0 at the last epoch, the paper's) "
      "or constant (the peak rate until early stopping; with linear, the cap "
      "favours the last epochs).")
  clip_norm: float = config_flags.field(
      5.0, help="Global gradient norm clip (0: none).")
  patience: int = config_flags.field(
      5, help="Epochs without a better dev F1 before stopping (0: never).")
  seed: int = config_flags.field(
      42, help="Seed of initialisation and data order.")
  deterministic: bool = config_flags.field(
      True, help="Deterministic ops (same seed, same result on CPU).")
  # Scale.
  mixed_precision: str = config_flags.field(
      "none", choices=names.PRECISION_POLICIES,
      help="Compute in 16 bits (variables, emissions and the CRF stay float32).")
  jit_compile: bool = config_flags.field(
      False, help="Compile the forward and backward pass with XLA.")
  distribution_strategy: str = config_flags.field(
      "one_device", choices=names.STRATEGIES,
      help="tf.distribute strategy: one_device, mirrored (local GPUs or CPU "
           "devices), multi_worker_mirrored (TF_CONFIG), tpu (--tpu).")
  tpu: Optional[str] = config_flags.field(
      None, help="TPU name or address for --distribution_strategy=tpu.")
  worker_timeout: float = config_flags.field(
      600.0, help="multi_worker_mirrored: seconds to wait for every worker "
                  "that TF_CONFIG names to come up, then stop with an error "
                  "naming the unreachable ones (0: wait forever).")
  log_every: int = config_flags.field(
      50, help="Steps between TensorBoard summaries.")
  eval_batch_size: int = config_flags.field(
      64, help="Windows per prediction call.")
  progress: bool = config_flags.field(True, help="Show a progress bar.")
