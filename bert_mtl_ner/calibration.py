"""Calibration of entity scores: reliability tables, ECE and temperature.

An entity score (``inference.Tagger``) claims a probability that the entity is
right. Here "right" is what seqeval's strict mode counts as a true positive:
same start, end and type as a gold entity. ``reliability`` bins the scores of
all predicted entities and sets each bin's mean score beside the precision of
its entities; the expected calibration error (ECE) is the mean gap, weighted by
the bin sizes.

Temperature scaling divides the CRF's scores (emissions and transitions) by one
scalar ``T`` fitted on a development split: ``fit_temperature`` minimises the
log-loss of the entity scores against their correctness. It never changes the
decoded path, so F1 stays the same. The fitted ``T`` is kept in the model
directory as ``calibration.json``; ``inference.Tagger.from_model_dir`` and
``export`` use it.
"""

import json
import math
import os
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import DataError
from bert_mtl_ner.io_utils import atomic_write_text, save_figure

FILE = "calibration.json"
BINS = 10


def read_temperature(model_dir: str) -> float:
  """The temperature of ``model_dir/calibration.json``; 1.0 without one.

  Raises:
    DataError: the file is not JSON with a positive ``temperature``.
  """
  path = os.path.join(model_dir, FILE)
  if not os.path.exists(path):
    return 1.0
  with open(path, encoding="utf-8") as stream:
    text = stream.read()
  try:
    value = float(json.loads(text)["temperature"])
  except (ValueError, KeyError, TypeError) as err:
    raise DataError(path, 1, f"not a calibration record ({err})",
                    text[:80]) from None
  if not value > 0 or math.isinf(value):
    raise DataError(path, 1, f"temperature must be positive, got {value}",
                    text[:80])
  return value


def write_record(model_dir: str, record: Dict) -> str:
  """Writes ``record`` (with ``temperature``) as ``model_dir``'s
  calibration, atomically; returns the path."""
  path = os.path.join(model_dir, FILE)
  atomic_write_text(path, json.dumps(record, indent=1) + "\n")
  return path


def correctness(gold: Sequence[Sequence[str]],
                spans: Sequence[Sequence[tags_lib.Span]]) -> List[List[bool]]:
  """For each predicted span, whether a gold entity has its start, end and
  type (``gold``: valid BIO tags per sentence)."""
  result = []
  for tags, predicted in zip(gold, spans):
    truth = {(s.start, s.end, s.type) for s in tags_lib.tags_to_spans(tags)}
    result.append([(s.start, s.end, s.type) in truth for s in predicted])
  return result


def flatten(nested: Sequence[Sequence]) -> np.ndarray:
  return np.array([x for row in nested for x in row], np.float64)


def reliability(scores: np.ndarray, correct: np.ndarray,
                bins: int = BINS) -> List[Dict]:
  """Equal-width confidence bins over (0, 1].

  Args:
    scores: entity scores.
    correct: 1 where the entity is right, else 0.
    bins: number of bins; bin i holds scores in ``(i/bins, (i+1)/bins]``
      (the first also holds 0).

  Returns:
    One row per bin: ``{"low", "high", "count", "confidence", "precision"}``
    (mean score and precision are None for an empty bin).
  """
  index = np.clip(np.ceil(scores * bins).astype(int) - 1, 0, bins - 1)
  rows = []
  for i in range(bins):
    members = index == i
    count = int(members.sum())
    rows.append({"low": i / bins, "high": (i + 1) / bins, "count": count,
                 "confidence": float(scores[members].mean()) if count else None,
                 "precision": float(correct[members].mean()) if count else None})
  return rows


def expected_calibration_error(table: Sequence[Dict]) -> float:
  """ECE of a ``reliability`` table: sum over bins of
  ``count / total * |precision - confidence|``; 0 for no entities."""
  total = sum(row["count"] for row in table)
  if not total:
    return 0.0
  return float(sum(row["count"] / total *
                   abs(row["precision"] - row["confidence"])
                   for row in table if row["count"]))


def log_loss(scores: np.ndarray, correct: np.ndarray) -> float:
  """Mean binary cross-entropy of scores against correctness."""
  if not len(scores):
    return 0.0
  p = np.clip(scores, 1e-7, 1 - 1e-7)
  return float(-np.mean(correct * np.log(p) + (1 - correct) * np.log1p(-p)))


def summary(scores: np.ndarray, correct: np.ndarray,
            bins: int = BINS) -> Dict:
  """``{"entities", "ece", "log_loss", "mean_score", "precision",
  "reliability"}`` of one set of scored entities."""
  table = reliability(scores, correct, bins)
  return {"entities": int(len(scores)),
          "ece": expected_calibration_error(table),
          "log_loss": log_loss(scores, correct),
          "mean_score": float(scores.mean()) if len(scores) else None,
          "precision": float(correct.mean()) if len(scores) else None,
          "reliability": table}


def fit_temperature(scores_at: Callable[[float], np.ndarray],
                    correct: np.ndarray, low: float = 0.05,
                    high: float = 20.0, steps: int = 40) -> Tuple[float, float]:
  """The temperature that minimises ``log_loss(scores_at(T), correct)``.

  A golden-section search over ``log T`` in ``[low, high]`` (the loss of a
  single scalar temperature is unimodal in practice).

  Args:
    scores_at: entity scores at a temperature.
    correct: their correctness (1/0).

  Returns:
    (temperature, its log-loss).
  """
  loss = lambda log_t: log_loss(scores_at(math.exp(log_t)), correct)
  a, b = math.log(low), math.log(high)
  ratio = (math.sqrt(5) - 1) / 2
  c, d = b - ratio * (b - a), a + ratio * (b - a)
  fc, fd = loss(c), loss(d)
  for _ in range(steps):
    if fc <= fd:
      b, d, fd = d, c, fc
      c = b - ratio * (b - a)
      fc = loss(c)
    else:
      a, c, fc = c, d, fd
      d = a + ratio * (b - a)
      fd = loss(d)
  best = c if fc <= fd else d
  return math.exp(best), min(fc, fd)


def format_table(table: Sequence[Dict], title: str = "") -> str:
  """A plain-text reliability table."""
  lines = [title] if title else []
  lines.append(f"{'bin':>11s} {'entities':>9s} {'score':>7s} {'precision':>9s}")
  for row in table:
    mean = "-" if row["confidence"] is None else f"{row['confidence']:.3f}"
    precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
    lines.append(f"({row['low']:.1f}, {row['high']:.1f}] {row['count']:9d} "
                 f"{mean:>7s} {precision:>9s}")
  return "\n".join(lines)


def plot(before: Dict, after: Dict, title: str, path: str) -> None:
  """A reliability diagram of both tables (written atomically)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(5.2, 5.0), dpi=110)
  axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
  for summary, label in ((before, "temperature 1"), (after, after["label"])):
    rows = [r for r in summary["reliability"] if r["count"]]
    axes.plot([r["confidence"] for r in rows], [r["precision"] for r in rows],
              marker="o", label=f"{label}: ECE {summary['ece']:.3f}")
  axes.set_xlim(0, 1)
  axes.set_ylim(0, 1)
  axes.set_xlabel("entity score (bin mean)")
  axes.set_ylabel("precision of the bin's entities")
  axes.set_title(title, fontsize=10)
  axes.grid(alpha=0.3)
  axes.legend(loc="upper left", fontsize=8)
  figure.tight_layout()
  save_figure(figure, path)


def render(summary: Dict) -> str:
  """REPORT.md of one calibration (``summary.json``'s content)."""
  before, after = summary["before"], summary["after"]
  lines = [f"# Calibration of entity scores: {summary['model']} on "
           f"{summary['dataset']} {summary['split']}", "",
           f"Generated by `{summary['command']}`; do not edit.", "",
           f"Temperature fitted on {summary['dataset']} "
           f"{summary['fit_split']} ({summary['fit_entities']} predicted "
           f"entities): **{summary['temperature']:.3f}** (log-loss "
           f"{summary['fit_log_loss_before']:.4f} → "
           f"{summary['fit_log_loss_after']:.4f}).", ""]
  if summary["cross_fitted"]:
    lines += [f"The split is also the fitting split, so the figures after "
              f"scaling are cross-fitted (each half of the sentences at the "
              f"temperature of the other half: "
              f"{', '.join(f'{t:.3f}' for t in summary['cross_fit_temperatures'])}).",
              ""]
  lines += ["| | entities | mean score | precision | ECE | log-loss |",
            "|---|---:|---:|---:|---:|---:|"]
  for name, s in (("temperature 1", before), (after["label"], after)):
    lines.append(f"| {name} | {s['entities']} | {s['mean_score']:.4f} | "
                 f"{s['precision']:.4f} | {s['ece']:.4f} | "
                 f"{s['log_loss']:.4f} |")
  lines += ["", "Reliability (bins of entity score):", "",
            "| bin | entities | score (T=1) | precision (T=1) | entities "
            "(after) | score (after) | precision (after) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
  fmt = lambda v: "–" if v is None else f"{v:.3f}"
  for b, a in zip(before["reliability"], after["reliability"]):
    lines.append(f"| ({b['low']:.1f}, {b['high']:.1f}] | {b['count']} | "
                 f"{fmt(b['confidence'])} | {fmt(b['precision'])} | "
                 f"{a['count']} | {fmt(a['confidence'])} | "
                 f"{fmt(a['precision'])} |")
  lines += ["", "![reliability diagram](reliability.png)", ""]
  return "\n".join(lines)


class ScoredSplit:
  """A split decoded once; its entity scores at any temperature.

  Args:
    tagger: an ``inference.Tagger`` (its own temperature is not used).
    sentences: labelled sentences.
    chunk: sentences per decoding pass.
    progress: show a bar.
  """

  def __init__(self, tagger, sentences, chunk: int = 512,
               progress: bool = False):
    self.tagger = tagger
    self.decoded: List = []
    with progress_lib.bar(len(sentences), "decoding", enabled=progress) as bar:
      for begin in range(0, len(sentences), chunk):
        part = sentences[begin:begin + chunk]
        self.decoded.append(tagger.decode([s.chars for s in part]))
        bar.update(len(part))
    spans = [row for d in self.decoded for row in d.spans]
    correct = correctness([s.tags for s in sentences], spans)
    self.correct = flatten(correct)
    # Which sentence each entity belongs to, for the cross-fit halves.
    self.sentence_of = np.array([i for i, row in enumerate(correct)
                                 for _ in row], np.int64)

  def scores(self, temperature: float) -> np.ndarray:
    return flatten([row for d in self.decoded for row in
                                self.tagger.entity_scores(d, temperature)])


def cross_fitted(split: ScoredSplit) -> Dict:
  """Scores of each parity half at the temperature fitted on the other."""
  scores = np.zeros_like(split.correct)
  temperatures = []
  for half in (0, 1):
    fit = split.sentence_of % 2 != half
    temperature, _ = fit_temperature(
        lambda t: split.scores(t)[fit], split.correct[fit])
    temperatures.append(temperature)
    scores[~fit] = split.scores(temperature)[~fit]
  return {"scores": scores, "temperatures": temperatures}
