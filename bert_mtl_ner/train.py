r"""Trains a single-task tagger (BiLSTM-CRF, BERT-CRF or BERT-BiLSTM-CRF).

  python -m bert_mtl_ner.train --flagfile=configs/msra_bilstm_crf.cfg --model_dir=runs/m
  python -m bert_mtl_ner.train --model=bert_crf --dataset=cluener --bert_model=DIR \
      --model_dir=runs/c --epochs=3

Running it again with the same ``--model_dir`` resumes after the last finished
epoch. See ``bert_mtl_ner.run_dir`` for what the directory holds.
"""

import os
import pathlib

from absl import flags
from absl import logging
import tensorflow as tf

from bert_mtl_ner import cli
from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.models import MODELS, USES_BERT, ModelConfig, build_model
from bert_mtl_ner.training import optimization
from bert_mtl_ner.training import trainer as trainer_lib

DEFAULT_CHAR_VOCAB = str(pathlib.Path(__file__).resolve().parent.parent /
                         "vocab" / "chars.txt")

# What to train on.
flags.DEFINE_enum("model", "bert_bilstm_crf", list(MODELS), "Model to build.")
flags.DEFINE_string("dataset", None, "Registered dataset (msra, peoples_daily, "
                    "cluener); or give --train_file and --dev_file.")
flags.DEFINE_string("data_dir", None, "Data folder of the registered datasets.")
flags.DEFINE_string("train_split", "train", "Split of --dataset to train on.")
flags.DEFINE_string("dev_split", "dev", "Split of --dataset for early stopping.")
flags.DEFINE_string("train_file", None, "A corpus file to train on.")
flags.DEFINE_string("dev_file", None, "A corpus file for early stopping.")
flags.DEFINE_enum("file_format", None, list(readers.FORMATS),
                  "Format of --train_file/--dev_file (detected when unset).")
flags.DEFINE_enum("tag_scheme", "bio", list(tags_lib.SCHEMES),
                  "Tag scheme of --train_file/--dev_file.")
flags.DEFINE_integer("train_limit", 0, "Use only the first N training sentences "
                     "(0: all).")
flags.DEFINE_integer("dev_limit", 0, "Use only the first N dev sentences.")
flags.DEFINE_string("model_dir", None, "Where the run lives (resumed if present).")
# Tokens.
flags.DEFINE_string("vocab_file", None, "Vocabulary; default: the BERT "
                    "directory's vocab.txt, else vocab/chars.txt.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case characters before lookup.")
flags.DEFINE_integer("max_seq_len", 150, "Tokens per window, [CLS] and [SEP] "
                     "included.")
# Model.
flags.DEFINE_string("bert_model", "tiny", "tiny (random init, size flags), a "
                    "local directory with config.json and TF or PyTorch weights, "
                    "or a hub name such as bert-base-chinese (online only).")
flags.DEFINE_integer("bert_hidden_size", 64, "tiny BERT: hidden size.")
flags.DEFINE_integer("bert_num_layers", 2, "tiny BERT: layers.")
flags.DEFINE_integer("bert_num_heads", 2, "tiny BERT: attention heads.")
flags.DEFINE_integer("bert_intermediate_size", 256, "tiny BERT: FFN size.")
flags.DEFINE_integer("embedding_dim", 128, "bilstm_crf: embedding size.")
flags.DEFINE_string("embeddings_file", None, "bilstm_crf: word2vec-format text "
                    "file of pretrained character vectors.")
flags.DEFINE_integer("lstm_units", 128, "Units per direction of each BiLSTM.")
flags.DEFINE_integer("lstm_layers", 1, "BiLSTM layers (bert_crf has none).")
flags.DEFINE_float("dropout", 0.1, "Dropout rate.")
flags.DEFINE_bool("constrain_bio", True, "Forbid invalid BIO paths in decoding.")
# Optimisation (the paper's Table 3).
flags.DEFINE_integer("epochs", 50, "Most epochs.")
flags.DEFINE_integer("batch_size", 32, "Sentences per step.")
flags.DEFINE_float("learning_rate", 1e-3, "Peak learning rate (task layers).")
flags.DEFINE_float("bert_learning_rate", 3e-5, "Peak learning rate of BERT.")
flags.DEFINE_float("warmup_ratio", 0.1, "Share of steps of linear warmup.")
flags.DEFINE_float("clip_norm", 5.0, "Global gradient norm clip (0: none).")
flags.DEFINE_integer("patience", 5, "Epochs without a better dev F1 before "
                     "stopping (0: never).")
flags.DEFINE_integer("seed", 42, "Seed of initialisation and data order.")
flags.DEFINE_bool("deterministic", True, "Deterministic ops (same seed, same "
                  "result on CPU).")
flags.DEFINE_integer("log_every", 50, "Steps between TensorBoard summaries.")
flags.DEFINE_integer("eval_batch_size", 64, "Windows per prediction call.")
flags.DEFINE_bool("progress", True, "Show a progress bar.")

flags.mark_flag_as_required("model_dir")
FLAGS = flags.FLAGS


def load_sentences(split_name: str, file_flag: str, limit: int):
  """Sentences of a --dataset split or of a file flag, checked non-empty."""
  if FLAGS.dataset and FLAGS.train_file:
    raise UsageError("give --dataset or --train_file/--dev_file, not both")
  if FLAGS.dataset:
    source = f"{FLAGS.dataset}:{split_name}"
    stream = registry.read_split(FLAGS.dataset, split_name, FLAGS.data_dir)
  elif file_flag:
    source = file_flag
    stream = readers.read_file(file_flag, FLAGS.file_format, FLAGS.tag_scheme)
  else:
    raise UsageError("nothing to train on: give --dataset, or --train_file and "
                     "--dev_file")
  sentences = []
  for sentence in stream:
    if sentence.tags is None:
      raise UsageError(f"{source} has no labels; it cannot train or evaluate")
    sentences.append(sentence)
    if limit and len(sentences) >= limit:
      break
  if not sentences:
    raise UsageError(f"{source} holds no sentences")
  return sentences


def resolve_vocab_file() -> str:
  if FLAGS.vocab_file:
    return FLAGS.vocab_file
  bert_vocab = os.path.join(FLAGS.bert_model, "vocab.txt")
  if FLAGS.model in USES_BERT and os.path.isfile(bert_vocab):
    return bert_vocab
  return DEFAULT_CHAR_VOCAB


def model_config(labels, tokenizer) -> ModelConfig:
  """The ModelConfig the flags describe."""
  choice = bert_encoder.BertChoice(None)
  if FLAGS.model in USES_BERT:
    choice = bert_encoder.resolve_bert(
        FLAGS.bert_model, tokenizer.vocab_size,
        hidden_size=FLAGS.bert_hidden_size, num_layers=FLAGS.bert_num_layers,
        num_heads=FLAGS.bert_num_heads,
        intermediate_size=FLAGS.bert_intermediate_size)
    if choice.config["vocab_size"] < tokenizer.vocab_size:
      raise UsageError(f"the vocabulary has {tokenizer.vocab_size} tokens but "
                       f"the BERT encoder only {choice.config['vocab_size']}; "
                       "use the vocab.txt that came with the checkpoint")
  if FLAGS.embeddings_file and FLAGS.model != "bilstm_crf":
    raise UsageError("--embeddings_file is for --model=bilstm_crf only")
  return ModelConfig(
      model=FLAGS.model, labels=labels, vocab_size=tokenizer.vocab_size,
      max_seq_len=FLAGS.max_seq_len, embedding_dim=FLAGS.embedding_dim,
      embeddings_file=FLAGS.embeddings_file, vocab_file=resolve_vocab_file(),
      lstm_units=FLAGS.lstm_units,
      lstm_layers=0 if FLAGS.model == "bert_crf" else FLAGS.lstm_layers,
      dropout=FLAGS.dropout, bert_config=choice.config,
      bert_weights=choice.weights, bert_from_pt=choice.from_pt,
      constrain_bio=FLAGS.constrain_bio)


def train_config(corpus: pipeline.EncodedCorpus) -> trainer_lib.TrainConfig:
  steps = pipeline.num_batches(corpus, FLAGS.batch_size) * FLAGS.epochs
  return trainer_lib.TrainConfig(
      epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, patience=FLAGS.patience,
      seed=FLAGS.seed, log_every=FLAGS.log_every, progress=FLAGS.progress,
      optimizer=optimization.OptimizerConfig(
          learning_rate=FLAGS.learning_rate,
          bert_learning_rate=FLAGS.bert_learning_rate,
          warmup_ratio=FLAGS.warmup_ratio, total_steps=steps,
          clip_norm=FLAGS.clip_norm))


def seed_everything(seed: int, deterministic: bool) -> None:
  """Seeds Python, numpy and TF; dropout draws from generator variables that the
  checkpoints save, so a resumed run continues the same random stream."""
  keras.backend.experimental.enable_tf_random_generator()
  keras.utils.set_random_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()


def main(argv) -> None:
  del argv
  seed_everything(FLAGS.seed, FLAGS.deterministic)
  if FLAGS.max_seq_len <= tokenization.SPECIALS:
    raise UsageError(f"--max_seq_len must be over {tokenization.SPECIALS}")
  train = load_sentences(FLAGS.train_split, FLAGS.train_file, FLAGS.train_limit)
  dev = load_sentences(FLAGS.dev_split, FLAGS.dev_file, FLAGS.dev_limit)
  vocab_file = resolve_vocab_file()
  tokenizer = tokenization.CharTokenizer.from_vocab_file(
      vocab_file, do_lower_case=FLAGS.do_lower_case)
  labels = tags_lib.label_list(tags_lib.entity_types(s.tags for s in train))
  config = model_config(labels, tokenizer)
  run_dir.check_compatible(FLAGS.model_dir, config, vocab_file)
  run_dir.save_setup(FLAGS.model_dir, cli.app_flag_values("model_dir"), config,
                     vocab_file)
  label_to_id = {t: i for i, t in enumerate(labels)}
  corpus = pipeline.encode(train, tokenizer, label_to_id, FLAGS.max_seq_len)
  model = build_model(config)
  tagger = inference.Tagger(model, tokenizer, labels, FLAGS.max_seq_len,
                            batch_size=FLAGS.eval_batch_size)
  logging.info("training %s on %d sentences (%d labels), dev %d sentences",
               config.model, len(train), len(labels), len(dev))
  trainer = trainer_lib.Trainer(
      model, train_config(corpus), FLAGS.model_dir,
      lambda: evaluation.evaluate_sentences(tagger, dev)[0])
  history = trainer.fit(corpus)
  best = run_dir.read_json(os.path.join(FLAGS.model_dir, run_dir.BEST_POINTER)) \
      if run_dir.best_weights(FLAGS.model_dir) else None
  if best:
    print(f"best dev F1 {best['dev_f1']:.2f} at epoch {best['epoch']} "
          f"({len(history)} epochs); model in {FLAGS.model_dir}")


if __name__ == "__main__":
  cli.run(main)
