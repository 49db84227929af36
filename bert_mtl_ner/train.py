r"""Trains a tagger: BiLSTM-CRF, BERT-CRF, BERT-BiLSTM-CRF, or the multi-task model.

  python -m bert_mtl_ner.train --flagfile=configs/msra_bilstm_crf.cfg --model_dir=runs/m
  python -m bert_mtl_ner.train --model=bert_crf --dataset=cluener --bert_model=DIR \
      --model_dir=runs/c --epochs=3
  python -m bert_mtl_ner.train --model=mtl --dataset=cluener --aux_tasks=msra \
      --unlabeled=cluener:test --model_dir=runs/mtl

With ``--model=mtl`` the main task is ``--dataset`` (evaluated and early-stopped
on), ``--aux_tasks`` are more registered datasets with their own heads, and
``--unlabeled`` adds pseudo-labeled text (see ``training.multitask``).

Running it again with the same ``--model_dir`` resumes after the last finished
epoch. See ``bert_mtl_ner.run_dir`` for what the directory holds.
"""

import dataclasses
import os
import pathlib
import re

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
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.models import MODELS, USES_BERT, ModelConfig, build_model
from bert_mtl_ner.training import multitask
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
# Multi-task (--model=mtl).
flags.DEFINE_list("aux_tasks", [], "mtl: auxiliary tasks: registered dataset "
                  "names (their train split) or corpus files.")
flags.DEFINE_bool("use_attention", True, "mtl: fuse auxiliary features through "
                  "multi-head attention (off: plain hard sharing).")
flags.DEFINE_integer("attention_heads", 4, "mtl: attention heads.")
flags.DEFINE_integer("task_hidden_units", 256, "mtl: each task's hidden layer.")
flags.DEFINE_enum("task_schedule", "proportional",
                  list(trainer_lib.SCHEDULES), "mtl: how batches pick a task.")
flags.DEFINE_float("task_temperature", 2.0, "mtl: T of --task_schedule="
                   "temperature.")
flags.DEFINE_bool("similarity_weights", True, "mtl: weight auxiliary samples by "
                  "similarity to the main corpus (off: all 1).")
flags.DEFINE_float("similarity_c", 1.0, "mtl: C of fun(x, IN).")
flags.DEFINE_float("similarity_d", 1.0, "mtl: d of fun(x, IN).")
flags.DEFINE_string("unlabeled", None, "mtl: unlabeled text for pseudo-labels: "
                    "dataset:split (e.g. cluener:test) or a text file, one "
                    "sentence a line.")
flags.DEFINE_integer("unlabeled_limit", 0, "mtl: use only N unlabeled sentences.")
flags.DEFINE_float("confidence_floor", 0.5, "mtl: pseudo-labeled sentences "
                   "under this confidence are dropped.")
flags.DEFINE_integer("reweight_every", 1, "mtl: recompute sample weights and "
                     "pseudo-labels every N epochs.")
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


def load_sentences(split_name: str, file_flag: str, limit: int,
                   dataset: str = None):
  """Sentences of a --dataset split or of a file flag, checked non-empty."""
  dataset = dataset or FLAGS.dataset
  if FLAGS.dataset and FLAGS.train_file:
    raise UsageError("give --dataset or --train_file/--dev_file, not both")
  if dataset:
    source = f"{dataset}:{split_name}"
    stream = registry.read_split(dataset, split_name, FLAGS.data_dir)
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


def model_config(labels, tokenizer, aux_labels=None) -> ModelConfig:
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
  if FLAGS.model != "mtl" and (FLAGS.aux_tasks or FLAGS.unlabeled):
    raise UsageError("--aux_tasks and --unlabeled need --model=mtl")
  return ModelConfig(
      main_task=main_task_name(), aux_labels=aux_labels or {},
      use_attention=FLAGS.use_attention, attention_heads=FLAGS.attention_heads,
      task_hidden_units=FLAGS.task_hidden_units,
      model=FLAGS.model, labels=labels, vocab_size=tokenizer.vocab_size,
      max_seq_len=FLAGS.max_seq_len, embedding_dim=FLAGS.embedding_dim,
      embeddings_file=FLAGS.embeddings_file, vocab_file=resolve_vocab_file(),
      lstm_units=FLAGS.lstm_units,
      lstm_layers=0 if FLAGS.model == "bert_crf" else FLAGS.lstm_layers,
      dropout=FLAGS.dropout, bert_config=choice.config,
      bert_weights=choice.weights, bert_from_pt=choice.from_pt,
      constrain_bio=FLAGS.constrain_bio)


def train_config(tasks) -> trainer_lib.TrainConfig:
  config = trainer_lib.TrainConfig(
      epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, patience=FLAGS.patience,
      seed=FLAGS.seed, log_every=FLAGS.log_every, progress=FLAGS.progress,
      schedule=FLAGS.task_schedule, temperature=FLAGS.task_temperature)
  steps = trainer_lib.steps_per_epoch(tasks, config) * FLAGS.epochs
  return dataclasses.replace(
      config,
      optimizer=optimization.OptimizerConfig(
          learning_rate=FLAGS.learning_rate,
          bert_learning_rate=FLAGS.bert_learning_rate,
          warmup_ratio=FLAGS.warmup_ratio, total_steps=steps,
          clip_norm=FLAGS.clip_norm))


def load_aux_task(spec: str):
  """(task name, sentences, labels) of an --aux_tasks entry."""
  if spec in registry.DATASETS:
    name, sentences = spec, load_sentences("train", None, FLAGS.train_limit,
                                           dataset=spec)
  elif os.path.isfile(spec):
    name = re.sub(r"\W", "_", os.path.splitext(os.path.basename(spec))[0])
    sentences = list(readers.read_file(spec, None, FLAGS.tag_scheme))
    sentences = sentences[:FLAGS.train_limit or None]
  else:
    raise UsageError(f"--aux_tasks entry {spec!r} is neither a registered "
                     f"dataset ({', '.join(registry.DATASETS)}) nor a file")
  if name == main_task_name():
    raise UsageError(f"--aux_tasks names the main task {name!r} again")
  return name, sentences, tags_lib.label_list(
      tags_lib.entity_types(s.tags for s in sentences))


def main_task_name() -> str:
  return FLAGS.dataset or "main"


def load_unlabeled(spec: str, limit: int):
  """Unlabeled sentences from ``dataset:split`` or a text file (one a line)."""
  dataset, sep, split = spec.partition(":")
  if sep and dataset in registry.DATASETS:
    stream = registry.read_split(dataset, split, FLAGS.data_dir)
  elif spec.endswith(".json"):
    stream = readers.read_file(spec, "cluener")
  else:
    if not os.path.exists(spec):
      raise UsageError(f"--unlabeled={spec}: no such file, and not a "
                       "dataset:split")
    stream = (Sentence(tuple(text), None, spec, number)
              for number, text in readers.iter_lines(spec) if text.strip())
  sentences = []
  for sentence in stream:
    sentences.append(dataclasses.replace(sentence, tags=None))
    if limit and len(sentences) >= limit:
      break
  return sentences


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
  aux = [load_aux_task(spec) for spec in FLAGS.aux_tasks]
  config = model_config(labels, tokenizer, {n: l for n, _, l in aux})
  run_dir.check_compatible(FLAGS.model_dir, config, vocab_file)
  run_dir.save_setup(FLAGS.model_dir, cli.app_flag_values("model_dir"), config,
                     vocab_file)
  model = build_model(config)
  tagger = inference.Tagger(model, tokenizer, labels, FLAGS.max_seq_len,
                            batch_size=FLAGS.eval_batch_size)
  if FLAGS.model == "mtl":
    unlabeled = load_unlabeled(FLAGS.unlabeled, FLAGS.unlabeled_limit) \
        if FLAGS.unlabeled else []
    tasks = multitask.EpochTasks(
        model, tokenizer, (main_task_name(), train, labels), aux, unlabeled,
        multitask.WeightingConfig(
            similarity=FLAGS.similarity_weights, c=FLAGS.similarity_c,
            d=FLAGS.similarity_d, confidence_floor=FLAGS.confidence_floor,
            every=FLAGS.reweight_every, max_seq_len=FLAGS.max_seq_len,
            batch_size=FLAGS.eval_batch_size))
    sizes = [trainer_lib.Task(main_task_name(), tasks.main_corpus)] + [
        trainer_lib.Task(n, c) for n, c in tasks.aux]
    if tasks.unlabeled_corpus is not None:
      sizes.append(trainer_lib.Task("unlabeled", tasks.unlabeled_corpus))
  else:
    tasks = pipeline.encode(train, tokenizer,
                            {t: i for i, t in enumerate(labels)},
                            FLAGS.max_seq_len)
    sizes = [trainer_lib.Task("main", tasks)]
  logging.info("training %s on %d sentences (%d labels), dev %d sentences",
               config.model, len(train), len(labels), len(dev))
  trainer = trainer_lib.Trainer(
      model, train_config(sizes), FLAGS.model_dir,
      lambda: evaluation.evaluate_sentences(tagger, dev)[0])
  history = trainer.fit(tasks)
  best = run_dir.read_json(os.path.join(FLAGS.model_dir, run_dir.BEST_POINTER)) \
      if run_dir.best_weights(FLAGS.model_dir) else None
  if best:
    print(f"best dev F1 {best['dev_f1']:.2f} at epoch {best['epoch']} "
          f"({len(history)} epochs); model in {FLAGS.model_dir}")


if __name__ == "__main__":
  cli.run(main)
