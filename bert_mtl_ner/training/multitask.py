"""The tasks of a multi-task epoch, with their per-sample weights recomputed.

``EpochTasks`` is the ``epoch -> tasks`` callable that ``Trainer.fit`` takes. Before
an epoch (every ``every`` epochs) it

* weights each auxiliary sentence by its similarity to the main corpus
  (``sample_weights.similarity_weights``), from sentence vectors of the shared
  encoder (the features every task's hidden layer reads). When weights are
  recomputed every epoch, only the sentences the epoch draws are weighed (the
  task's ``weigh``, called by the trainer at the epoch's start, with the same
  model): under ``aux_ratio`` that is a fraction of the auxiliary corpora;
* pseudo-labels the unlabeled sentences with the main task's CRF (best path),
  weights each by ``confid(x)`` from the two best paths, and drops those under
  the confidence floor. They train the main task's head.

Main-task sentences keep weight 1.
"""

import dataclasses
import functools
from typing import Dict, List, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from bert_mtl_ner import tokenization
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import crf as crf_lib
from bert_mtl_ner.training import sample_weights
from bert_mtl_ner.training.trainer import Task


@dataclasses.dataclass
class WeightingConfig:
  """Attributes:
    similarity: weight auxiliary samples by similarity (else all 1).
    c: the C of ``fun(x, IN)``.
    d: the d of ``fun(x, IN)``.
    confidence_floor: pseudo-labeled samples under it are dropped.
    every: recompute every this many epochs.
    max_seq_len: tokens per row.
    batch_size: rows per forward pass.
  """
  similarity: bool = True
  c: float = 1.0
  d: float = 1.0
  confidence_floor: float = 0.5
  every: int = 1
  max_seq_len: int = 150
  batch_size: int = 64


class EpochTasks:
  """Builds the tasks of each epoch (see the module docstring).

  Args:
    model: the ``mtl`` model.
    tokenizer: its tokenizer.
    main: (name, sentences, label names) of the main task.
    aux: (name, sentences, label names) of each auxiliary task.
    unlabeled: sentences without tags, or empty.
    config: weighting settings.
  """

  def __init__(self, model: keras.Model, tokenizer: tokenization.CharTokenizer,
               main, aux: Sequence, unlabeled: Sequence[Sentence],
               config: WeightingConfig):
    self.model = model
    self.tokenizer = tokenizer
    self.config = config
    self.main_name, main_sentences, self.main_labels = main
    self.main_corpus = self._encode(main_sentences, self.main_labels)
    self.aux = [(name, self._encode(sentences, labels)) for name, sentences,
                labels in aux]
    self.unlabeled = list(unlabeled)
    self.unlabeled_corpus = self._encode(self.unlabeled, self.main_labels) \
        if self.unlabeled else None
    features = model.get_layer(f"{self.main_name}_hidden").input
    self.features_model = keras.Model(model.input, features)
    self.emission_model = keras.Model(model.input,
                                      model.get_layer("emissions").output)
    self.crf = model.get_layer("crf")
    # Compiled once per padded length bucket (shapes relaxed after a few):
    # eager forward passes made the per-epoch reweighting slower than training.
    self._sentence_vectors = tf.function(self._sentence_vectors_graph,
                                         reduce_retracing=True,
                                         autograph=False)
    self._decode_top2 = tf.function(self._decode_top2_graph,
                                    reduce_retracing=True, autograph=False)
    self._cache: Optional[List[Task]] = None
    self.last_stats: Dict = {}

  def _encode(self, sentences, labels, weights=None):
    return pipeline.encode(sentences, self.tokenizer,
                           {t: i for i, t in enumerate(labels)},
                           self.config.max_seq_len, weights)

  def _batches_by_length(self, corpus: pipeline.EncodedCorpus):
    """``corpus``'s rows in batches, shortest first, for forward passes.

    A batch pads to its longest row: consecutive rows of mixed lengths are
    mostly padding, sorted ones hardly any (``bench/reweighting.py``).

    Returns:
      The rows' order (row ``order[k]`` of ``corpus`` is the ``k``-th row the
      batches give) and the batches.
    """
    order = np.argsort(corpus.lengths, kind="stable")
    return order, pipeline.make_dataset(corpus.select(order),
                                        self.config.batch_size,
                                        bucket_boundaries=None)

  def _sentence_vectors_graph(self, input_ids, attention_mask):
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    hidden = self.features_model(inputs, training=False)
    return sample_weights.sentence_vectors(hidden, attention_mask)

  def _decode_top2_graph(self, input_ids, attention_mask):
    """Best path, its length and ``confid`` from the two best path scores."""
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    emissions = self.emission_model(inputs, training=False)
    tags, _ = self.crf.decode(emissions, attention_mask)
    constrained, transitions = self.crf.decoding_parameters(emissions)
    lengths = crf_lib.lengths_from_mask(attention_mask)
    best, second = crf_lib.crf_top2_scores(constrained, transitions, lengths)
    return tags, lengths, crf_lib.path_confidence(best, second)

  def _vectors(self, corpus) -> np.ndarray:
    """The sentence vector of each row of ``corpus``, in its order."""
    order, batches = self._batches_by_length(corpus)
    rows = np.concatenate([self._sentence_vectors(
        batch["input_ids"], batch["attention_mask"]).numpy()
                           for batch in batches])
    vectors = np.empty_like(rows)
    vectors[order] = rows
    return vectors

  def _similarity(self, name: str, corpus: pipeline.EncodedCorpus,
                  center: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``fun(x, IN)`` of ``corpus``'s ``rows`` against the main centroid."""
    if not len(rows):
      return np.zeros([0], np.float32)
    weights = sample_weights.similarity_weights(
        self._vectors(corpus.select(rows)), center, self.config.c,
        self.config.d)
    self.last_stats[f"{name}_weighed"] = len(rows)
    self.last_stats[f"{name}_mean_weight"] = float(weights.mean())
    logging.info("%s: weighed %d of %d sentences, mean weight %.4f", name,
                 len(rows), len(corpus), self.last_stats[f"{name}_mean_weight"])
    return weights

  def _pseudo_label(self):
    order, batches = self._batches_by_length(self.unlabeled_corpus)
    tags_out: List[Optional[List[str]]] = [None] * len(order)
    confidence = np.empty([len(order)], np.float32)
    done = 0
    for batch in batches:
      tags, lengths, confid = self._decode_top2(batch["input_ids"],
                                                batch["attention_mask"])
      rows = order[done:done + len(confid)]
      done += len(rows)
      confidence[rows] = confid.numpy()
      for i, row, n in zip(rows, tags.numpy(), lengths.numpy()):
        tags_out[i] = [self.main_labels[t] for t in row[1:n - 1]]
    keep, weights = sample_weights.keep_confident(
        confidence, self.config.confidence_floor)
    limit = tokenization.max_chars(self.config.max_seq_len)
    sentences = [Sentence(self.unlabeled[i].chars[:limit], tuple(tags_out[i]),
                          self.unlabeled[i].source, self.unlabeled[i].line)
                 for i in keep]
    self.last_stats["pseudo_labeled"] = len(sentences)
    self.last_stats["mean_confidence"] = float(confidence.mean())
    return sentences, weights

  def __call__(self, epoch: int) -> List[Task]:
    if self._cache is not None and (epoch - 1) % self.config.every:
      return self._cache
    self.last_stats = {}
    tasks = [Task(self.main_name, self.main_corpus)]
    center = None
    if self.config.similarity and self.aux:
      center = sample_weights.centroid(self._vectors(self.main_corpus))
    for name, corpus in self.aux:
      task = Task(name, corpus, f"{name}_emissions", f"{name}_crf")
      if center is not None:
        weigh = functools.partial(self._similarity, name, corpus, center)
        if self.config.every == 1:  # weighed for the rows the epoch draws
          task = dataclasses.replace(task, weigh=weigh)
        else:  # every row, as the weights outlive this epoch's model
          task = dataclasses.replace(task, corpus=dataclasses.replace(
              corpus, sample_weights=weigh(np.arange(len(corpus)))))
      tasks.append(task)
    if self.unlabeled_corpus is not None:
      sentences, weights = self._pseudo_label()
      if sentences:
        tasks.append(Task("unlabeled", self._encode(sentences, self.main_labels,
                                                    weights)))
    logging.info("epoch %d tasks: %s; %s", epoch,
                 {t.name: len(t.corpus) for t in tasks}, self.last_stats)
    self._cache = tasks
    return tasks
