"""One training run from its config: data, vocabulary, model, tasks, loop.

``train(TrainRun)`` is what ``python -m bert_mtl_ner.train`` runs; the experiment
grid calls it in-process for each cell.
"""

import dataclasses
import os
import re
from typing import Dict, Optional

from absl import logging
import tensorflow as tf

from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import overlap
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data import vocab as vocab_lib
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.models import USES_BERT, ModelConfig, build_model
from bert_mtl_ner.training import cluster
from bert_mtl_ner.training import distribution
from bert_mtl_ner.training import multitask
from bert_mtl_ner.training import optimization
from bert_mtl_ner.training import precision
from bert_mtl_ner.training import trainer as trainer_lib
from bert_mtl_ner.training.run_config import TrainRun


def check_flags(run: TrainRun) -> None:
  """Refuses flags that contradict each other, before anything is loaded.

  Raises:
    UsageError: naming the flags and the fix.
  """
  if run.dataset and (run.train_file or run.dev_file):
    raise UsageError("give --dataset or --train_file/--dev_file, not both")
  if not run.dataset and not run.train_file:
    raise UsageError("nothing to train on: give --dataset, or --train_file and "
                     "--dev_file")
  if run.max_seq_len <= tokenization.SPECIALS:
    raise UsageError(f"--max_seq_len must be over {tokenization.SPECIALS}")
  if run.embeddings_file and run.model != "bilstm_crf":
    raise UsageError("--embeddings_file is for --model=bilstm_crf only")
  if run.bigram_buckets and run.model != "bilstm_crf":
    raise UsageError("--bigram_buckets is for --model=bilstm_crf only")
  if run.char_dropout and run.model != "bilstm_crf":
    raise UsageError("--char_dropout is for --model=bilstm_crf only")
  if not 0 <= run.char_dropout < 1:
    raise UsageError(f"--char_dropout={run.char_dropout}: must be in [0, 1)")
  if run.model != "mtl" and (run.aux_tasks or run.unlabeled
                             or run.aux_exclude):
    raise UsageError("--aux_tasks, --unlabeled and --aux_exclude need "
                     "--model=mtl")
  if not run.model_dir:
    raise UsageError("--model_dir is required: where the run is kept")


def load_sentences(run: TrainRun, split_name: str, file_flag: Optional[str],
                   limit: int, dataset: Optional[str] = None):
  """Sentences of a --dataset split or of a file flag, checked non-empty."""
  dataset = dataset or run.dataset
  if dataset:
    source = f"{dataset}:{split_name}"
    stream = registry.read_split(dataset, split_name, run.data_dir)
  elif file_flag:
    source = file_flag
    stream = readers.read_file(file_flag, run.file_format, run.tag_scheme)
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


def resolve_vocab_file(run: TrainRun) -> str:
  if run.vocab_file:
    return run.vocab_file
  bert_vocab = os.path.join(run.bert_model, "vocab.txt")
  if run.model in USES_BERT and os.path.isfile(bert_vocab):
    return bert_vocab
  return vocab_lib.DEFAULT_CHAR_VOCAB


def bert_choice(run: TrainRun, vocab_size: int) -> bert_encoder.BertChoice:
  """The encoder ``--bert_model`` and the size flags describe; without weights
  under ``--bert_random_init``.

  Raises:
    UsageError: the vocabulary is larger than the encoder's.
  """
  choice = bert_encoder.resolve_bert(
      run.bert_model, vocab_size, need_weights=not run.bert_random_init,
      hidden_size=run.bert_hidden_size, num_layers=run.bert_num_layers,
      num_heads=run.bert_num_heads,
      intermediate_size=run.bert_intermediate_size)
  if run.bert_random_init:
    choice = dataclasses.replace(choice, weights=None, from_pt=False)
  if choice.config["vocab_size"] < vocab_size:
    raise UsageError(f"the vocabulary has {vocab_size} tokens but "
                     f"the BERT encoder only {choice.config['vocab_size']}; "
                     "use the vocab.txt that came with the checkpoint")
  return choice


def model_config(run: TrainRun, labels, tokenizer,
                 aux_labels=None) -> ModelConfig:
  """The ModelConfig the flags describe."""
  choice = bert_encoder.BertChoice(None)
  if run.model in USES_BERT:
    choice = bert_choice(run, tokenizer.vocab_size)
  return ModelConfig(
      main_task=main_task_name(run), aux_labels=aux_labels or {},
      use_attention=run.use_attention, attention_heads=run.attention_heads,
      task_hidden_units=run.task_hidden_units,
      model=run.model, labels=labels, vocab_size=tokenizer.vocab_size,
      max_seq_len=run.max_seq_len, embedding_dim=run.embedding_dim,
      embeddings_file=run.embeddings_file, vocab_file=resolve_vocab_file(run),
      bigram_buckets=run.bigram_buckets, bigram_dim=run.bigram_dim,
      char_dropout=run.char_dropout, lstm_units=run.lstm_units,
      lstm_layers=0 if run.model == "bert_crf" else run.lstm_layers,
      dropout=run.dropout, bert_config=choice.config,
      bert_weights=choice.weights, bert_from_pt=choice.from_pt,
      constrain_bio=run.constrain_bio)


def train_config(run: TrainRun, tasks) -> trainer_lib.TrainConfig:
  config = trainer_lib.TrainConfig(
      epochs=run.epochs, batch_size=run.batch_size, patience=run.patience,
      seed=run.seed, log_every=run.log_every, progress=run.progress,
      schedule=run.task_schedule, temperature=run.task_temperature,
      aux_ratio=run.aux_ratio,
      jit_compile=run.jit_compile, mixed_precision=run.mixed_precision)
  steps = trainer_lib.steps_per_epoch(tasks, config) * run.epochs
  return dataclasses.replace(
      config,
      optimizer=optimization.OptimizerConfig(
          learning_rate=run.learning_rate,
          bert_learning_rate=run.bert_learning_rate,
          warmup_ratio=run.warmup_ratio, total_steps=steps,
          schedule=run.lr_schedule, clip_norm=run.clip_norm))


def load_aux_task(run: TrainRun, spec: str):
  """(task name, sentences, labels) of an --aux_tasks entry."""
  if spec in registry.DATASETS:
    name, sentences = spec, load_sentences(run, "train", None, run.train_limit,
                                           dataset=spec)
  elif os.path.isfile(spec):
    name = re.sub(r"\W", "_", os.path.splitext(os.path.basename(spec))[0])
    sentences = list(readers.read_file(spec, None, run.tag_scheme))
    sentences = sentences[:run.train_limit or None]
  else:
    raise UsageError(f"--aux_tasks entry {spec!r} is neither a registered "
                     f"dataset ({', '.join(registry.DATASETS)}) nor a file")
  if name == main_task_name(run):
    raise UsageError(f"--aux_tasks names the main task {name!r} again")
  return name, sentences, tags_lib.label_list(
      tags_lib.entity_types(s.tags for s in sentences))


def main_task_name(run: TrainRun) -> str:
  return run.dataset or "main"


def load_unlabeled(run: TrainRun, spec: str, limit: int):
  """Unlabeled sentences from ``dataset:split`` or a text file (one a line)."""
  dataset, sep, split = spec.partition(":")
  if sep and dataset in registry.DATASETS:
    stream = registry.read_split(dataset, split, run.data_dir)
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


def exclude_evaluation_text(run: TrainRun, aux, unlabeled):
  """``aux`` and ``unlabeled`` without the sentences entangled with
  ``--aux_exclude``'s (``overlap.entangled``).

  Returns:
    (aux tasks, unlabeled sentences, {corpus: sentences removed}).
  """
  if not run.aux_exclude:
    return aux, unlabeled, {}
  reference = overlap.reference_texts(
      overlap.parse_refs(",".join(run.aux_exclude)), run.data_dir)
  removed, kept_aux = {}, []
  for name, sentences, labels in aux:
    flags = overlap.entangled([s.text for s in sentences], reference)
    removed[name] = sum(flags)
    kept_aux.append((name, [s for s, f in zip(sentences, flags) if not f],
                     labels))
  if unlabeled:
    flags = overlap.entangled([s.text for s in unlabeled], reference)
    removed["unlabeled"] = sum(flags)
    unlabeled = [s for s, f in zip(unlabeled, flags) if not f]
  logging.info("--aux_exclude=%s removed %s", ",".join(run.aux_exclude),
               removed)
  return kept_aux, unlabeled, removed


def seed_everything(seed: int, deterministic: bool) -> None:
  """Seeds Python, numpy and TF; dropout draws from generator variables that the
  checkpoints save, so a resumed run continues the same random stream."""
  keras.backend.experimental.enable_tf_random_generator()
  keras.utils.set_random_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()


def training_tasks(run: TrainRun, model, tokenizer, train, labels, aux,
                   unlabeled):
  """(what ``Trainer.fit`` takes, the tasks of the first epoch for sizing)."""
  if run.model != "mtl":
    corpus = pipeline.encode(train, tokenizer,
                             {t: i for i, t in enumerate(labels)},
                             run.max_seq_len)
    return corpus, [trainer_lib.Task("main", corpus)]
  tasks = multitask.EpochTasks(
      model, tokenizer, (main_task_name(run), train, labels), aux, unlabeled,
      multitask.WeightingConfig(
          similarity=run.similarity_weights, c=run.similarity_c,
          d=run.similarity_d, confidence_floor=run.confidence_floor,
          every=run.reweight_every, max_seq_len=run.max_seq_len,
          batch_size=run.eval_batch_size))
  sizes = [trainer_lib.Task(main_task_name(run), tasks.main_corpus)] + [
      trainer_lib.Task(n, c) for n, c in tasks.aux]
  if tasks.unlabeled_corpus is not None:
    sizes.append(trainer_lib.Task("unlabeled", tasks.unlabeled_corpus))
  return tasks, sizes


def train(run: TrainRun) -> Optional[Dict]:
  """Trains (or resumes) the run described by ``run``.

  Returns:
    The best epoch's record (``epoch``, ``dev_f1``) with ``epochs_run``,
    ``stopped_by`` (``early_stopping`` or ``cap``), ``dev_curve`` (dev F1
    of every epoch), ``earlier_seconds`` (the time of the epochs that earlier
    processes trained, before this one resumed), with ``--aux_exclude`` also ``aux_removed`` (sentences
    removed from each auxiliary corpus and the unlabeled text), or None if no
    epoch finished.
  """
  check_flags(run)
  seed_everything(run.seed, run.deterministic)
  train = load_sentences(run, run.train_split, run.train_file, run.train_limit)
  dev = load_sentences(run, run.dev_split, run.dev_file, run.dev_limit)
  vocab_file = resolve_vocab_file(run)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(
      vocab_file, do_lower_case=run.do_lower_case)
  labels = tags_lib.label_list(tags_lib.entity_types(s.tags for s in train))
  aux = [load_aux_task(run, spec) for spec in run.aux_tasks]
  unlabeled = load_unlabeled(run, run.unlabeled, run.unlabeled_limit) \
      if run.unlabeled else []
  aux, unlabeled, removed = exclude_evaluation_text(run, aux, unlabeled)
  config = model_config(run, labels, tokenizer, {n: l for n, _, l in aux})
  run_dir.check_compatible(run.model_dir, config, vocab_file)
  precision.set_policy(run.mixed_precision)
  strategy = distribution.make_strategy(run.distribution_strategy, run.tpu,
                                        run.worker_timeout)
  role = (cluster.read_tf_config()
          if run.distribution_strategy == "multi_worker_mirrored" else None)
  # The chief writes --model_dir; another worker a folder of its own.
  out_dir = cluster.write_dir(run.model_dir, role)
  try:
    best = _train(run, strategy, out_dir, config, vocab_file, tokenizer,
                  train, dev, labels, aux, unlabeled)
    if best is not None and run.aux_exclude:
      best["aux_removed"] = removed
    return best
  except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as err:
    if role is None:
      raise
    raise cluster.lost_peer_error(role, run.model_dir, err) from None
  finally:
    cluster.remove_write_dir(run.model_dir, out_dir)


def _train(run: TrainRun, strategy, out_dir: str, config: ModelConfig,
           vocab_file: str, tokenizer, train, dev, labels, aux, unlabeled
           ) -> Optional[Dict]:
  """Builds the model under ``strategy`` and trains it, writing ``out_dir``
  and resuming from ``run.model_dir``."""
  run_dir.save_setup(out_dir, dataclasses.asdict(run), config, vocab_file)
  with strategy.scope():  # variables and optimizer states live on its devices
    model = build_model(config)
    tasks, sizes = training_tasks(run, model, tokenizer, train, labels, aux,
                                  unlabeled)
    logging.info("training %s on %d sentences (%d labels), dev %d sentences, "
                 "%d replica(s)", config.model, len(train), len(labels),
                 len(dev), strategy.num_replicas_in_sync)
    tagger = inference.Tagger(model, tokenizer, labels, run.max_seq_len,
                              batch_size=run.eval_batch_size)
    trainer = trainer_lib.Trainer(
        model, train_config(run, sizes), out_dir,
        lambda: evaluation.evaluate_sentences(tagger, dev)[0], strategy,
        labels=labels, restore_dir=run.model_dir)
  history = trainer.fit(tasks)
  if not run_dir.best_weights(out_dir):
    return None
  best = run_dir.read_json(os.path.join(out_dir, run_dir.BEST_POINTER))
  best["epochs_run"] = len(history)
  best["stopped_by"] = trainer.stopped_by
  best["dev_curve"] = [round(r["dev"]["f1"], 2) for r in history]
  # Records written before ``epoch_seconds`` existed count training only.
  best["earlier_seconds"] = round(sum(
      r.get("epoch_seconds", r["train_seconds"])
      for r in history[:trainer.resumed_after]), 1)
  return best


