"""The common MSRA train/dev split (the paper's 42000 / 3000, Table 2).

``msra_train_bio`` holds 45000 sentences. The split used by the public
BERT-NER-pytorch code and reproduced here: ``random.seed(2019)``, shuffle
``range(45000)`` with Python's ``random``, the first 42000 indices are train and the
rest dev, after dropping the 57 tokens whose tag is empty (see ``readers``). The
files that split writes in the pair format have published sha256 sums, which the
tests check byte for byte.
"""

import bisect
import functools
import os
import random
from typing import List, Optional, Tuple

from bert_mtl_ner.data import readers
from bert_mtl_ner.data.records import ReadReport, Sentence
from bert_mtl_ner.errors import DataError

SEED = 2019
TOTAL = 45000
TRAIN_SIZE = 42000


def split_msra(sentences: List[Sentence], seed: int = SEED,
               train_size: int = TRAIN_SIZE
               ) -> Tuple[List[Sentence], List[Sentence]]:
  """Shuffles sentence indices with ``random.seed(seed)`` and cuts at train_size.

  Returns:
    (train, dev), each in shuffled order.
  """
  order = list(range(len(sentences)))
  random.Random(seed).shuffle(order)
  return ([sentences[i] for i in order[:train_size]],
          [sentences[i] for i in order[train_size:]])


@functools.lru_cache(maxsize=2)
def _load_split(path: str, mtime: float, size: int):
  del mtime, size  # part of the cache key only.
  report = ReadReport()
  sentences = list(readers.read_file(path, "msra", report=report))
  if len(sentences) != TOTAL:
    raise DataError(path, None, f"expected {TOTAL} sentences for the MSRA split, "
                    f"found {len(sentences)}; is this msra_train_bio?")
  train, dev = split_msra(sentences)
  # Each dropped token belongs to the sentence that starts last before it.
  starts = [s.line for s in sentences]
  owners = [starts[bisect.bisect_right(starts, line) - 1]
            for line in report.dropped_lines]
  return tuple(train), tuple(dev), _report_of(train, owners, report), \
      _report_of(dev, owners, report)


def _report_of(part: List[Sentence], owners: List[int],
               report: ReadReport) -> ReadReport:
  """The share of the file's report that belongs to the sentences of ``part``."""
  mine = {s.line for s in part}
  lines = [line for line, owner in zip(report.dropped_lines, owners)
           if owner in mine]
  return ReadReport(sentences=len(part), dropped_tokens=len(lines),
                    dropped_lines=lines)


def load_msra_split(path: str, train_report: Optional[ReadReport] = None,
                    dev_report: Optional[ReadReport] = None
                    ) -> Tuple[Tuple[Sentence, ...], Tuple[Sentence, ...]]:
  """Reads ``msra_train_bio`` and returns its (train, dev) split.

  The result is cached per file (path, modification time and size), so reading
  train and then dev parses the file once.

  Args:
    path: the ``msra_train_bio`` file.
    train_report: receives the reader's counts for the train sentences (the
      dropped empty-tag tokens that were inside them).
    dev_report: the same for the dev sentences.

  Returns:
    (train, dev) sentences, in the split's shuffled order.
  """
  stat = os.stat(path)
  train, dev, train_counts, dev_counts = _load_split(
      os.path.abspath(path), stat.st_mtime, stat.st_size)
  for report, counts in ((train_report, train_counts), (dev_report, dev_counts)):
    if report is not None:
      report.add(counts)
  return train, dev
