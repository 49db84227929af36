"""Tag schemes: validation, conversion to BIO, repair, and spans <-> tags.

Inside the project every tag sequence is BIO (``O``, ``B-TYPE``, ``I-TYPE``).
Readers accept BIO, IOB1 (an entity may start with ``I-``; ``B-`` only separates two
adjacent entities of one type) and BIOES (``S-`` single, ``E-`` end) and convert.
"""

import dataclasses
import functools
import re
from typing import Iterable, List, Optional, Sequence, Tuple

SCHEMES = ("bio", "iob1", "bioes")

_TAG = re.compile(r"^(?:O|([BIES])-(\S+))$")


@dataclasses.dataclass(frozen=True)
class Span:
  """An entity: characters ``[start, end)`` of type ``type``."""
  start: int
  end: int
  type: str


@functools.lru_cache(maxsize=4096)  # a corpus has few distinct tags
def parse_tag(tag: str, scheme: str = "bio") -> Tuple[str, Optional[str]]:
  """Splits a tag into (prefix, type); ``("O", None)`` for outside.

  Args:
    tag: a tag such as ``B-PER`` or ``O``.
    scheme: ``bio``, ``iob1`` or ``bioes``; decides which prefixes are allowed.

  Returns:
    The prefix (``O``, ``B``, ``I``, ``E`` or ``S``) and the entity type.

  Raises:
    ValueError: when the tag is not of the scheme (for example ``X-FOO``).
  """
  match = _TAG.match(tag)
  if match is None:
    raise ValueError(f"unknown tag {tag!r} (expected O or B-/I-TYPE)")
  prefix, etype = match.group(1), match.group(2)
  if prefix is None:
    return "O", None
  if prefix in "ES" and scheme != "bioes":
    raise ValueError(f"tag {tag!r} is BIOES but the scheme is {scheme.upper()}")
  return prefix, etype


def to_bio(tags: Sequence[str], scheme: str = "bio") -> Tuple[List[str], int]:
  """Converts a tag sequence to valid BIO.

  An ``I-X`` that does not continue an entity of type X (after ``O``, another type,
  or at the start) becomes ``B-X``. For IOB1 input that is the conversion itself;
  for BIO input it is a repair, and the number of repairs is returned so that the
  caller can report it.

  Args:
    tags: the tags of one sentence.
    scheme: the scheme of ``tags``: ``bio``, ``iob1`` or ``bioes``.

  Returns:
    The BIO tags and the number of ``I-`` tags rewritten to ``B-`` (always 0 for
    IOB1, whose leading ``I-`` is not an error).

  Raises:
    ValueError: on a tag outside the scheme.
  """
  if scheme not in SCHEMES:
    raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")
  out: List[str] = []
  repairs = 0
  prev_type: Optional[str] = None  # type of the entity the previous tag is inside
  prev_closed = True  # BIOES: the previous tag ended its entity (E- or S-)
  for tag in tags:
    prefix, etype = parse_tag(tag, scheme)
    if prefix == "O":
      out.append("O")
      prev_type, prev_closed = None, True
      continue
    if prefix in ("B", "S"):
      out.append("B-" + etype)
    else:  # I or E continue an entity of the same type, else start one.
      continues = prev_type == etype and not (scheme == "bioes" and prev_closed)
      if continues:
        out.append("I-" + etype)
      else:
        out.append("B-" + etype)
        if scheme != "iob1":
          repairs += 1
    prev_type = etype
    prev_closed = prefix in ("E", "S")
  return out, repairs


def tags_to_spans(tags: Sequence[str]) -> List[Span]:
  """Entities of a BIO sequence; a stray ``I-X`` starts an entity (as seqeval's
  default mode reads it).

  Args:
    tags: BIO tags.

  Returns:
    The spans, in order of their start.
  """
  spans: List[Span] = []
  start, etype = None, None
  for i, tag in enumerate(list(tags) + ["O"]):
    prefix, this_type = ("O", None) if tag == "O" else (tag[0], tag[2:])
    if etype is not None and (prefix != "I" or this_type != etype):
      spans.append(Span(start, i, etype))
      start, etype = None, None
    if prefix == "B" or (prefix == "I" and etype is None):
      start, etype = i, this_type
  return spans


def spans_to_tags(length: int, spans: Iterable[Span]) -> List[str]:
  """BIO tags of ``length`` characters holding ``spans`` (which must not overlap).

  Raises:
    ValueError: when a span falls outside ``[0, length)``, is empty, or overlaps
      another.
  """
  tags = ["O"] * length
  for span in spans:
    if not 0 <= span.start < span.end <= length:
      raise ValueError(f"span {span} outside a text of {length} characters")
    if any(t != "O" for t in tags[span.start:span.end]):
      raise ValueError(f"span {span} overlaps another span")
    tags[span.start] = "B-" + span.type
    for i in range(span.start + 1, span.end):
      tags[i] = "I-" + span.type
  return tags


def resolve_overlaps(spans: Iterable[Span]) -> Tuple[List[Span], List[Span]]:
  """Keeps a set of non-overlapping spans: the longest first, then the earliest.

  Nested annotations (CLUENER has a company name inside a book title) keep the
  outer, longer entity, which is the one the annotation is about.

  Returns:
    (kept spans sorted by start, dropped spans).
  """
  ordered = sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.type))
  taken: List[Span] = []
  dropped: List[Span] = []
  for span in ordered:
    if any(span.start < k.end and k.start < span.end for k in taken):
      dropped.append(span)
    else:
      taken.append(span)
  return sorted(taken, key=lambda s: s.start), dropped


def entity_types(tag_sequences: Iterable[Sequence[str]]) -> List[str]:
  """Sorted entity types found in BIO tag sequences."""
  types = set()
  for tags in tag_sequences:
    for tag in tags:
      if tag != "O":
        types.add(tag[2:])
  return sorted(types)


def label_list(types: Iterable[str]) -> List[str]:
  """The label vocabulary of a set of entity types: ``O`` first (id 0, also the
  padding label), then ``B-T``, ``I-T`` for each type in sorted order."""
  labels = ["O"]
  for etype in sorted(set(types)):
    labels += ["B-" + etype, "I-" + etype]
  return labels
