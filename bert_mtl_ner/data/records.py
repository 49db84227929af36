"""The typed record every reader yields: one sentence of characters and tags."""

import collections
import dataclasses
from typing import Dict, List, Optional, Tuple


@dataclasses.dataclass(frozen=True)
class Sentence:
  """One sentence of a corpus.

  Attributes:
    chars: the characters, one string of length 1 each (a Unicode code point).
    tags: one BIO tag per character, or None for unlabeled text.
    source: the file the sentence was read from.
    line: 1-based line of that file where the sentence starts.
  """
  chars: Tuple[str, ...]
  tags: Optional[Tuple[str, ...]]
  source: str
  line: int

  def __post_init__(self):
    if self.tags is not None and len(self.tags) != len(self.chars):
      raise ValueError(
          f"{self.source}:{self.line}: {len(self.chars)} characters but "
          f"{len(self.tags)} tags")

  @property
  def text(self) -> str:
    """The sentence as one string."""
    return "".join(self.chars)

  @property
  def labeled(self) -> bool:
    return self.tags is not None

  def __len__(self) -> int:
    return len(self.chars)


@dataclasses.dataclass
class ReadReport:
  """What a reader fixed or dropped while reading one or more files.

  Attributes:
    sentences: sentences yielded.
    repaired_tags: ``I-X`` tags that did not continue an ``X`` entity, rewritten
      to ``B-X``.
    dropped_tokens: tokens dropped on purpose (MSRA's empty-tag tokens).
    dropped_lines: the lines of those tokens.
    overlapping_spans: CLUENER spans dropped because they overlap a kept span.
    dropped_spans: those dropped spans counted by entity type.
  """
  sentences: int = 0
  repaired_tags: int = 0
  dropped_tokens: int = 0
  dropped_lines: List[int] = dataclasses.field(default_factory=list)
  overlapping_spans: int = 0
  dropped_spans: Dict[str, int] = dataclasses.field(
      default_factory=collections.Counter)

  def add(self, other: "ReadReport") -> None:
    """Adds the counts of ``other`` to this report."""
    for field in dataclasses.fields(self):
      mine = getattr(self, field.name)
      if isinstance(mine, dict):
        mine.update(getattr(other, field.name))
      else:
        setattr(self, field.name, mine + getattr(other, field.name))
