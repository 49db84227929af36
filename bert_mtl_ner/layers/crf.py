"""A linear-chain CRF layer on top of ``tensorflow_addons.text``.

Functions first (``bio_allowed_transitions``), the layer second: ``CRF`` owns the
transition matrix as a weight, scores gold paths with ``crf_log_likelihood`` for
training and decodes with ``crf_decode`` (Viterbi). Padded positions are ignored by
giving each sequence its length (the count of ones in its mask).

With ``labels`` given and ``constrain_bio`` on, decoding never produces an invalid
BIO path: ``O -> I-X``, ``B-X -> I-Y``, ``I-Y -> I-X`` (X != Y) and an ``I-X`` at the
first position get a large negative score. Training is not constrained: the gold
paths are valid, and the learnt transitions stay comparable to an unconstrained CRF.
"""

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_addons as tfa

from bert_mtl_ner.keras import keras

FORBIDDEN = -1e4


def bio_allowed_transitions(labels: Sequence[str]) -> np.ndarray:
  """``allowed[i, j]`` is True when label j may follow label i in BIO.

  Args:
    labels: label names (``O``, ``B-X``, ``I-X``), in id order.

  Returns:
    A bool matrix [len(labels), len(labels)].
  """
  n = len(labels)
  allowed = np.ones([n, n], bool)
  for j, target in enumerate(labels):
    if target.startswith("I-"):
      for i, source in enumerate(labels):
        allowed[i, j] = source in ("B-" + target[2:], target)
  return allowed


def bio_allowed_starts(labels: Sequence[str]) -> np.ndarray:
  """``allowed[j]`` is True when a sequence may start with label j."""
  return np.array([not label.startswith("I-") for label in labels])


def inside_tag_ids(labels: Sequence[str]) -> np.ndarray:
  """For each label id, the id of its type's ``I-`` label (``B-X`` and ``I-X``
  both give ``I-X``'s); 0 for ``O``, which begins no span."""
  index = {label: i for i, label in enumerate(labels)}
  return np.array([index.get("I-" + label[2:], 0) if label != "O" else 0
                   for label in labels], np.int32)


def lengths_from_mask(mask: tf.Tensor) -> tf.Tensor:
  """Sequence lengths [batch] of a 0/1 mask [batch, time] whose ones come first."""
  return tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)


def crf_log_likelihood(emissions: tf.Tensor, tags: tf.Tensor,
                       lengths: tf.Tensor, transitions: tf.Tensor) -> tf.Tensor:
  """Log-probability [batch] of ``tags`` under the CRF, from ``tfa.text`` parts.

  ``tfa.text.crf_log_likelihood`` without its ``tf.cond`` on a time dimension of
  one, which XLA cannot compile (``--jit_compile``): the gold path's unary and
  binary scores minus the log-partition from the forward algorithm (a
  ``tf.scan``). A time dimension of one falls back to tfa's own function.

  Args:
    emissions: float32 [batch, time, num_tags].
    tags: int32 [batch, time] gold ids.
    lengths: int32 [batch] sequence lengths.
    transitions: float32 [num_tags, num_tags].
  """
  if emissions.shape[1] == 1:
    return tfa.text.crf_log_likelihood(emissions, tags, lengths,
                                       transitions)[0]
  score = (tfa.text.crf_unary_score(tags, lengths, emissions) +
           tfa.text.crf_binary_score(tags, lengths, transitions))
  alphas = tfa.text.crf_forward(emissions[:, 1:, :], emissions[:, 0, :],
                                transitions, lengths)
  log_norm = tf.where(lengths <= 0, tf.zeros_like(score),
                      tf.reduce_logsumexp(alphas, axis=1))
  return score - log_norm


@keras.utils.register_keras_serializable(package="bert_mtl_ner")
class CRF(keras.layers.Layer):
  """Linear-chain CRF: transitions as a weight, log-likelihood and Viterbi decode.

  Called on ``(emissions, mask)`` it returns the best tag ids [batch, time] (0 on
  padded positions). Training code calls ``log_likelihood``.

  Args:
    num_tags: number of labels.
    labels: label names in id order; needed for ``constrain_bio``.
    constrain_bio: forbid invalid BIO paths in decoding.

  Example:
    >>> crf = CRF(5, labels=["O", "B-LOC", "I-LOC", "B-PER", "I-PER"])
    >>> tags = crf((emissions, mask))          # decode
    >>> nll = -crf.log_likelihood(emissions, gold, mask)
  """

  def __init__(self, num_tags: int, labels: Optional[Sequence[str]] = None,
               constrain_bio: bool = True, **kwargs):
    kwargs.setdefault("dtype", "float32")  # kept in float32 under mixed precision
    super().__init__(**kwargs)
    if labels is not None and len(labels) != num_tags:
      raise ValueError(f"{len(labels)} labels for {num_tags} tags")
    self.num_tags = num_tags
    self.labels = list(labels) if labels is not None else None
    self.constrain_bio = constrain_bio and labels is not None
    if self.constrain_bio:
      self._transition_penalty = tf.constant(np.where(
          bio_allowed_transitions(self.labels), 0.0, FORBIDDEN), tf.float32)
      self._start_penalty = tf.constant(np.where(
          bio_allowed_starts(self.labels), 0.0, FORBIDDEN), tf.float32)

  def build(self, input_shape):
    self.transitions = self.add_weight(
        name="transitions", shape=[self.num_tags, self.num_tags],
        initializer=keras.initializers.GlorotUniform(), dtype=tf.float32)
    super().build(input_shape)

  def log_likelihood(self, emissions: tf.Tensor, tags: tf.Tensor,
                     mask: tf.Tensor) -> tf.Tensor:
    """Log-probability [batch] of the gold ``tags`` under the CRF.

    Args:
      emissions: float [batch, time, num_tags].
      tags: int [batch, time] gold label ids.
      mask: 0/1 [batch, time], ones first.
    """
    return crf_log_likelihood(tf.cast(emissions, tf.float32),
                              tf.cast(tags, tf.int32), lengths_from_mask(mask),
                              self.transitions)

  def decoding_parameters(self, emissions: tf.Tensor, temperature=None):
    """Emissions and transitions with the BIO constraints applied.

    Args:
      emissions: float [batch, time, num_tags].
      temperature: optional scalar dividing emissions and transitions (the
        whole path score) before the constraints are added; it changes the
        path probabilities, never the best path.
    """
    emissions = tf.cast(emissions, tf.float32)
    transitions = self.transitions
    if temperature is not None:
      temperature = tf.cast(temperature, tf.float32)
      emissions, transitions = emissions / temperature, transitions / temperature
    if self.constrain_bio:
      transitions = transitions + self._transition_penalty
      first = emissions[:, :1, :] + self._start_penalty
      emissions = tf.concat([first, emissions[:, 1:, :]], axis=1)
    return emissions, transitions

  def decode(self, emissions: tf.Tensor, mask: tf.Tensor):
    """Viterbi: (best tag ids [batch, time], their scores [batch])."""
    emissions, transitions = self.decoding_parameters(emissions)
    lengths = lengths_from_mask(mask)
    tags, scores = tfa.text.crf_decode(emissions, transitions, lengths)
    valid = tf.sequence_mask(lengths, tf.shape(tags)[1])
    return tf.where(valid, tags, tf.zeros_like(tags)), scores

  def span_probabilities(self, emissions: tf.Tensor, mask: tf.Tensor,
                         rows: tf.Tensor, starts: tf.Tensor, ends: tf.Tensor,
                         begin_tags: tf.Tensor, temperature=None) -> tf.Tensor:
    """Marginal probability of each entity under the decoder's CRF.

    Forward-backward over the BIO-constrained scores (``decoding_parameters``):
    the probability, over all tag paths, that the tags of tokens
    ``1 .. length-2`` read as entities (``tags_to_spans``) include exactly
    tokens ``starts[k]:ends[k]`` of sequence ``rows[k]`` with the type of
    ``begin_tags[k]`` (a ``B-X`` id). The first and last tokens are the
    specials ([CLS], [SEP]) whose tags nobody reads, so an entity may also
    continue into them: the probability sums ``span_log_marginals`` of the
    span and, where it touches a special, of the span extended over it.

    Args:
      emissions: float [batch, time, num_tags].
      mask: 0/1 [batch, time], ones first.
      rows, starts, ends, begin_tags: int [spans]; ``ends`` exclusive, and
        ``1 <= starts < ends <= length - 1``.
      temperature: optional scalar (see ``decoding_parameters``).

    Returns:
      float32 [spans] in [0, 1].
    """
    if not self.labels:
      raise ValueError("span_probabilities needs the CRF's labels")
    begin_tags = tf.cast(begin_tags, tf.int32)
    inside_tags = tf.gather(tf.constant(inside_tag_ids(self.labels), tf.int32),
                            begin_tags)
    starts, ends = tf.cast(starts, tf.int32), tf.cast(ends, tf.int32)
    emissions, transitions = self.decoding_parameters(emissions, temperature)
    lengths = lengths_from_mask(mask)
    forward_backward = crf_forward_backward(emissions, transitions, lengths)
    at_first = starts == 1
    at_last = ends == tf.gather(lengths, rows) - 1
    terms = []
    for into_first, into_last in ((0, 0), (1, 0), (0, 1), (1, 1)):
      log_p = span_log_marginals(
          emissions, transitions, lengths, rows, starts - into_first,
          ends + into_last, begin_tags, inside_tags, forward_backward)
      used = (at_first | (into_first == 0)) & (at_last | (into_last == 0))
      terms.append(tf.where(used, log_p, -np.inf))
    log_p = tf.reduce_logsumexp(tf.stack(terms), axis=0)
    return tf.exp(tf.minimum(log_p, 0.0))

  def call(self, inputs):
    emissions, mask = inputs
    tags, _ = self.decode(emissions, mask)
    return tags

  def compute_output_shape(self, input_shape):
    return input_shape[0][:-1]

  def get_config(self):
    config = super().get_config()
    config.update(num_tags=self.num_tags, labels=self.labels,
                  constrain_bio=self.constrain_bio)
    return config


def crf_top2_scores(emissions: tf.Tensor, transitions: tf.Tensor,
                    lengths: tf.Tensor):
  """Scores of the best and the second-best tag paths (2-best Viterbi).

  For each tag j and step t it keeps the two best scores of paths ending in j; a
  step extends all ``2 * num_tags`` of them and keeps the top two per tag.

  Args:
    emissions: float [batch, time, num_tags].
    transitions: float [num_tags, num_tags].
    lengths: int [batch] sequence lengths (at least 1).

  Returns:
    (best [batch], second [batch]); ``second`` is -inf when only one path exists
    (one position and one tag).
  """
  emissions = tf.cast(emissions, tf.float32)
  num_tags = tf.shape(emissions)[2]
  neg_inf = tf.constant(-np.inf, tf.float32)
  first = emissions[:, 0, :]                               # [B, L]
  state = tf.stack([first, tf.fill(tf.shape(first), neg_inf)], axis=2)

  def step(state, inputs):
    emission, active = inputs                              # [B, L], [B]
    # candidates[b, j, (i, r)] = state[b, i, r] + transitions[i, j]
    extended = state[:, :, :, None] + transitions[None, :, None, :]
    candidates = tf.reshape(tf.transpose(extended, [0, 3, 1, 2]),
                            [tf.shape(state)[0], num_tags, 2 * num_tags])
    top = tf.math.top_k(candidates, k=2).values + emission[:, :, None]
    return tf.where(active[:, None, None], top, state)

  time_major = tf.transpose(emissions[:, 1:, :], [1, 0, 2])
  steps = tf.range(1, tf.shape(emissions)[1])
  active = tf.transpose(steps[None, :] < tf.cast(lengths, tf.int32)[:, None])
  state = tf.foldl(lambda s, x: step(s, x), (time_major, active),
                   initializer=state) if emissions.shape[1] != 1 else state
  final = tf.reshape(state, [tf.shape(state)[0], 2 * num_tags])
  best_two = tf.math.top_k(final, k=2).values
  return best_two[:, 0], best_two[:, 1]


def path_confidence(best: tf.Tensor, second: tf.Tensor) -> tf.Tensor:
  """``confid(x) = (p1 - p2) / p1`` from the two best path scores.

  The paper's ratio of best and second-best path scores, taken on path
  probabilities (``p = exp(score - log Z)``; ``Z`` cancels), so it is defined for
  any sign of the raw scores: ``1 - exp(second - best)``, in [0, 1]; 1 when there
  is no second path.
  """
  return 1.0 - tf.exp(tf.minimum(second - best, 0.0))


def crf_forward_backward(emissions: tf.Tensor, transitions: tf.Tensor,
                         lengths: tf.Tensor):
  """Forward and backward log-scores of a linear-chain CRF.

  Args:
    emissions: float [batch, time, num_tags].
    transitions: float [num_tags, num_tags].
    lengths: int [batch] sequence lengths (at least 1).

  Returns:
    ``(log_alpha, log_beta, log_z)``: ``log_alpha[b, t, j]`` sums the paths of
    positions ``0..t`` ending in tag j (emission at t included);
    ``log_beta[b, t, j]`` sums the continuations ``t+1..length-1`` from tag j
    at t (0 at the last position); ``log_z`` [batch] is the log-partition.
    Positions past a sequence's length hold its last values.
  """
  emissions = tf.cast(emissions, tf.float32)
  lengths = tf.cast(lengths, tf.int32)
  steps = tf.range(1, tf.shape(emissions)[1])
  later = tf.transpose(emissions[:, 1:, :], [1, 0, 2])          # [T-1, B, L]
  active = tf.transpose(steps[None, :] < lengths[:, None])        # [T-1, B]

  def forward(previous, inputs):
    emission, on = inputs
    new = tf.reduce_logsumexp(previous[:, :, None] + transitions[None], 1)
    return tf.where(on[:, None], new + emission, previous)

  alphas = tf.scan(forward, (later, active), initializer=emissions[:, 0, :])
  log_alpha = tf.concat([emissions[:, :1, :],
                         tf.transpose(alphas, [1, 0, 2])], axis=1)
  # Backward over t = T-2 .. 0, from the emission at t+1.
  on_back = tf.transpose(steps[None, :] < lengths[:, None])[::-1]  # t+1 < len

  def backward(following, inputs):
    emission, on = inputs
    new = tf.reduce_logsumexp(
        transitions[None] + (emission + following)[:, None, :], 2)
    return tf.where(on[:, None], new, tf.zeros_like(new))

  last = tf.zeros_like(emissions[:, 0, :])
  betas = tf.scan(backward, (later[::-1], on_back), initializer=last)
  log_beta = tf.concat([tf.transpose(betas[::-1], [1, 0, 2]), last[:, None]],
                       axis=1)
  log_z = tf.reduce_logsumexp(log_alpha[:, -1, :], axis=1)
  return log_alpha, log_beta, log_z


def span_log_marginals(emissions: tf.Tensor, transitions: tf.Tensor,
                       lengths: tf.Tensor, rows: tf.Tensor, starts: tf.Tensor,
                       ends: tf.Tensor, begin_tags: tf.Tensor,
                       inside_tags: tf.Tensor, forward_backward=None
                       ) -> tf.Tensor:
  """Log-probability that exactly a span carries a type, over all tag paths.

  For span k (sequence ``rows[k]``, characters ``starts[k]:ends[k]``) the
  probability of the paths with ``begin_tags[k]`` (``B-X``) at the start,
  ``inside_tags[k]`` (``I-X``) over the rest of the span, and anything but
  ``I-X`` after it: the forward score up to the start, the span's own chain,
  the backward score after it, over the partition. Give the decoder's
  constrained emissions and transitions (``CRF.decoding_parameters``) to
  score under the same BIO constraints.

  Args:
    forward_backward: ``crf_forward_backward``'s result for these
      arguments, when already computed.

  Returns:
    float [spans].
  """
  emissions = tf.cast(emissions, tf.float32)
  rows, starts, ends, begin, inside = (tf.cast(x, tf.int32) for x in (
      rows, starts, ends, begin_tags, inside_tags))
  log_alpha, log_beta, log_z = forward_backward or crf_forward_backward(
      emissions, transitions, lengths)
  at = lambda tensor, t, tags: tf.gather_nd(tensor, tf.stack([rows, t, tags],
                                                             1))
  size = ends - starts
  # The chain sums emissions after a span's first token, never position 0,
  # whose constrained emissions (-1e4 for I-) would cost float32 precision.
  cumulative = tf.cumsum(tf.concat([tf.zeros_like(emissions[:, :1]),
                                    emissions[:, 1:]], axis=1), axis=1)
  chain = tf.where(
      size >= 2,
      tf.gather_nd(transitions, tf.stack([begin, inside], 1)) +
      tf.cast(size - 2, tf.float32) *
      tf.gather_nd(transitions, tf.stack([inside, inside], 1)) +
      at(cumulative, tf.maximum(ends - 1, starts), inside) -
      at(cumulative, starts, inside), 0.0)
  last = tf.where(size >= 2, inside, begin)
  following = tf.minimum(ends, tf.shape(emissions)[1] - 1)
  after = (tf.gather(transitions, last) +
           tf.gather_nd(emissions, tf.stack([rows, following], 1)) +
           tf.gather_nd(log_beta, tf.stack([rows, following], 1)))
  after = tf.where(tf.one_hot(inside, tf.shape(emissions)[2]) > 0,
                   tf.constant(-np.inf, tf.float32), after)
  tail = tf.where(ends < tf.gather(tf.cast(lengths, tf.int32), rows),
                  tf.reduce_logsumexp(after, axis=1), 0.0)
  return at(log_alpha, starts, begin) + chain + tail - tf.gather(log_z, rows)
