"""The cells of the experiment grid and how each is scored.

Baselines (BiLSTM-CRF, BERT-CRF, BERT-BiLSTM-CRF, and BERT-BiLSTM-CRF from
random weights when the BERT rows use a pretrained encoder) on each corpus; the multi-task
model with each corpus as the main task (MSRA with People's Daily, People's Daily
with MSRA, CLUENER2020 with both plus CLUENER2020's unlabeled test text); and the
ablations of the CLUENER2020 multi-task model: without the attention layer (plain
hard sharing), without sample weights, without unlabeled data.

MSRA is scored on test, People's Daily on test and on test without the sentences
that occur in MSRA's train file (``msra:train_full``), CLUENER2020 on dev (its test
is unlabeled), as in the paper.
"""

import dataclasses
import hashlib
import re
from typing import Dict, Optional, Sequence, Tuple

from bert_mtl_ner.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Scoring:
  """One evaluation of a cell: a split, optionally de-duplicated."""
  dataset: str
  split: str
  dedup_against: Tuple[str, ...] = ()

  @property
  def key(self) -> str:
    return f"{self.dataset}_{self.split}" + ("_dedup" if self.dedup_against
                                             else "")


@dataclasses.dataclass(frozen=True)
class Cell:
  """One row of the grid.

  Attributes:
    dataset: the (main) task's dataset.
    variant: ``bilstm_crf``, ``bert_crf``, ``bert_bilstm_crf``, ``mtl`` or an
      ``mtl_no_*`` ablation.
    label: the row's name in the report.
    overrides: ``TrainRun`` fields that make this cell.
  """
  dataset: str
  variant: str
  label: str
  overrides: Tuple[Tuple[str, object], ...] = ()

  @property
  def name(self) -> str:
    return f"{self.dataset}/{self.variant}"

  @property
  def scorings(self) -> Tuple[Scoring, ...]:
    return SCORINGS[self.dataset]


# The corpora of the grid, by the names the report and README give them.
CORPORA = {"msra": "MSRA", "peoples_daily": "People's Daily",
           "cluener": "CLUENER2020"}

SCORINGS: Dict[str, Tuple[Scoring, ...]] = {
    "msra": (Scoring("msra", "test"),),
    "peoples_daily": (Scoring("peoples_daily", "test"),
                      Scoring("peoples_daily", "test", ("msra:train_full",))),
    "cluener": (Scoring("cluener", "dev"),),
}

BASELINES = (("bilstm_crf", "BiLSTM-CRF"), ("bert_crf", "BERT-CRF"),
             ("bert_bilstm_crf", "BERT-BiLSTM-CRF"))

MTL_SETUPS = {
    "msra": (("aux_tasks", ("peoples_daily",)),),
    "peoples_daily": (("aux_tasks", ("msra",)),),
    "cluener": (("aux_tasks", ("msra", "peoples_daily")),
                ("unlabeled", "cluener:test")),
}

ABLATIONS = (
    ("mtl_no_attention", "MTL w/o attention (hard sharing)",
     (("use_attention", False),)),
    ("mtl_no_weights", "MTL w/o sample weights",
     (("similarity_weights", False), ("confidence_floor", 0.0))),
    ("mtl_no_unlabeled", "MTL w/o unlabeled data", (("unlabeled", None),)),
)


def _mtl_label(dataset: str) -> str:
  aux = dict(MTL_SETUPS[dataset])["aux_tasks"]
  names = {"msra": "MSRA", "peoples_daily": "PD", "cluener": "CLUENER"}
  extra = " + unlabeled" if dict(MTL_SETUPS[dataset]).get("unlabeled") else ""
  return "MTL (+" + ", ".join(names[a] for a in aux) + extra + ")"


# With a pretrained encoder: the same BERT-BiLSTM-CRF from random weights.
RANDOM_INIT = ("bert_bilstm_crf_random", "BERT-BiLSTM-CRF (random init)",
               (("model", "bert_bilstm_crf"), ("bert_random_init", True)))


def _mtl_overrides(dataset: str, changes=()) -> Tuple[Tuple[str, object], ...]:
  merged = dict((("model", "mtl"),) + MTL_SETUPS[dataset])
  merged.update(changes)
  return tuple(merged.items())


def _clean(dataset: str) -> Cell:
  """The multi-task cell whose auxiliary (and unlabeled) corpora lose every
  sentence entangled with the main task's dev or test (``--aux_exclude``)."""
  label = _mtl_label(dataset)
  return Cell(dataset, "mtl_clean", label[:-1] + ", clean)",
              _mtl_overrides(dataset, (("aux_exclude",
                                        (f"{dataset}:dev", f"{dataset}:test")),)))


# Cells a preset may add (``Preset.extra_cells``), by name:
# ``mtl_uncapped``: the People's Daily and CLUENER2020 multi-task models with
# every auxiliary batch of an epoch (proportional sampling, no ``aux_ratio``
# cap), to measure what the cap costs; ``mtl_clean``: the MSRA and People's
# Daily multi-task models without the auxiliary sentences that hold (or are
# part of) their own dev and test text. The paper did not de-duplicate; CLUENER2020's dev
# overlaps nothing.
EXTRA_CELLS = {
    "mtl_uncapped": tuple(
        Cell(dataset, "mtl_uncapped",
             _mtl_label(dataset) + ", no cap on auxiliary batches",
             _mtl_overrides(dataset, (("aux_ratio", 0.0),)))
        for dataset in ("peoples_daily", "cluener")),
    "mtl_clean": (_clean("msra"), _clean("peoples_daily")),
}


def build_grid(random_init_rows: bool = True,
               extra: Sequence[str] = ()) -> Tuple[Cell, ...]:
  """Every cell, in report order.

  Args:
    random_init_rows: include BERT-BiLSTM-CRF with random init next to the
      pretrained one (a grid whose encoder is random init anyway leaves it out).
    extra: names of ``EXTRA_CELLS`` to add.
  """
  cells = []
  for dataset in SCORINGS:
    for model, label in BASELINES:
      cells.append(Cell(dataset, model, label, (("model", model),)))
    if random_init_rows:
      cells.append(Cell(dataset, *RANDOM_INIT))
    cells.append(Cell(dataset, "mtl", _mtl_label(dataset),
                      _mtl_overrides(dataset)))
    cells += [c for name, group in EXTRA_CELLS.items() if name in extra
              for c in group if c.dataset == dataset]
  for variant, label, changes in ABLATIONS:
    cells.append(Cell("cluener", variant, label,
                      _mtl_overrides("cluener", changes)))
  return tuple(cells)


# The paper's published numbers (Tang et al. 2022), for the reference column.
# Only numbers quoted in DEVELOPERS.md and the issues are listed; None elsewhere.
PAPER = {
    ("msra", "mtl"): {"precision": 95.73, "recall": 96.01, "f1": 95.86},
    ("msra", "bilstm_crf"): {"f1": 85.09},
    ("cluener", "mtl"): {"macro_f1": 71.61},
    # CLUENER2020's own baselines, as the paper's Table 6 quotes them.
    ("cluener", "bilstm_crf"): {"macro_f1": 70.00},
    ("cluener", "bert_crf"): {"macro_f1": 78.82},
}
PAPER_NOTES = (
    "Paper column: Tang et al. 2022 where quoted in our notes (MSRA MTL: Table 4; "
    "MSRA BiLSTM-CRF; CLUENER2020 MTL macro F1). CLUENER2020 BiLSTM-CRF 70.00 and "
    "BERT-base 78.82 are the CLUENER2020 benchmark's baselines (BERT-base is a "
    "softmax tagger, shown against our BERT-CRF). '—': no published number "
    "in our notes.")


def check_selection(pattern: str, names: Sequence[str]) -> None:
  """``pattern`` (``--cells``) is a regular expression that matches one of
  the cells ``names``, else a UsageError says what is wrong."""
  if not pattern:
    return
  try:
    matched = [n for n in names if re.search(pattern, n)]
  except re.error as e:
    raise UsageError(f"--cells={pattern}: not a regular expression ({e})")
  if not matched:
    raise UsageError(f"--cells={pattern} matches no cell of this grid; its "
                     f"cells: {', '.join(names)}")


def parse_shard(value: str) -> Optional[Tuple[int, int]]:
  """``--shard=I/N`` as (I, N); None for an empty value.

  Raises:
    UsageError: not two integers with 0 <= I < N.
  """
  if not value:
    return None
  match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
  if not match or not int(match.group(1)) < int(match.group(2)):
    raise UsageError(f"--shard={value}: give I/N with 0 <= I < N, e.g. 0/4 "
                     "(a Slurm array's $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_"
                     "TASK_COUNT, a Kubernetes Job's $JOB_COMPLETION_INDEX/"
                     "its completions)")
  return int(match.group(1)), int(match.group(2))


def shard_of(cell_name: str, seed: int, count: int) -> int:
  """The part (of ``count``) that trains a run: a stable hash of the run's
  name and seed, the same on every machine and whatever the grid's order."""
  digest = hashlib.sha256(f"{cell_name}/seed{seed}".encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") % count
