"""Corpus readers: one ``Sentence`` per sentence, streamed, with located errors.

Formats (``FORMATS``):

* ``msra``: ``char<TAB>tag`` per line, blank line between sentences. MSRA's train
  file has 57 lines that read ``0<TAB>`` (an empty tag, leftovers of markup): those
  tokens are dropped, counted in ``ReadReport.dropped_tokens`` and reported once per
  file. Dropping them is what the common MSRA split does, and it is the only choice
  that keeps the published split checksums (see ``msra_split``).
* ``peoples_daily``: ``char<SPACE>tag`` per line, blank line between sentences.
* ``conll``: whitespace-separated columns, the token first and the tag last. A token
  of several characters is expanded to one row per character (``B-X`` then ``I-X``).
* ``pair``: ``sentences.txt`` (characters separated by single spaces, one sentence a
  line) with ``tags.txt`` beside it (the tags, likewise). Give either file or their
  folder.
* ``cluener``: CLUENER2020 JSON lines, ``{"text": ..., "label": {type: {entity:
  [[start, end_inclusive], ...]}}}``; without ``label`` the line is unlabeled.
  Overlapping spans (train.json line 1507 nests a company inside a book title) are
  resolved by ``tags.resolve_overlaps``: the longest span is kept.
* ``doccano`` (JSONL) and ``label_studio`` (JSON export): what annotation tools
  write; see ``annotation``. Overlapping spans there are an error.

Every reader validates as it goes: a wrong column count, an unknown tag, invalid
UTF-8 or a CLUENER span that does not match its text raises ``DataError`` naming
file, line and content. An ``I-X`` that does not continue an ``X`` entity is
rewritten to ``B-X`` (IOB1 input is converted that way without complaint); the
repairs are counted and reported in one warning per file.
"""

import json
import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

from absl import logging

from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import ReadReport, Sentence
from bert_mtl_ner.errors import DataError
from bert_mtl_ner.io_utils import atomic_open

FORMATS = ("msra", "peoples_daily", "conll", "pair", "cluener") + \
    annotation.FORMATS


def iter_lines(path: str) -> Iterator[Tuple[int, str]]:
  """Yields (1-based line number, text without the line break) of a UTF-8 file.

  Raises:
    DataError: on a byte sequence that is not UTF-8, naming the line.
  """
  with open(path, "rb") as stream:
    for number, raw in enumerate(stream, 1):
      yield number, _decode_line(path, number, raw)


def _decode_line(path: str, number: int, raw: bytes) -> str:
  """One line of ``path`` as text, without its line break (and, on line 1,
  without a byte order mark)."""
  try:
    line = raw.decode("utf-8")
  except UnicodeDecodeError as err:
    raise DataError(path, number,
                    f"invalid UTF-8 at byte {err.start} of the line",
                    raw.decode("utf-8", "backslashreplace").rstrip("\r\n"))
  if number == 1:
    line = line.lstrip("\ufeff")
  return line.rstrip("\r\n")


def read_documents(stream, name: str) -> Iterator[Tuple[int, str]]:
  """(line number, text) of raw text, one document a line, from a binary
  stream: split on ``\n`` only, a trailing ``\r`` dropped; a bad UTF-8 line
  is a ``DataError`` naming ``name`` and the line."""
  for number, raw in enumerate(stream, 1):
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    try:
      yield number, raw.decode("utf-8")
    except UnicodeDecodeError as err:
      raise DataError(name, number, f"invalid UTF-8 at byte {err.start}",
                      raw.decode("utf-8", "backslashreplace")) from None


def _split_row(fmt: str, line: str) -> List[str]:
  if fmt == "msra":
    return line.split("\t")
  if fmt == "peoples_daily":
    return line.split(" ")
  return line.split()


_BLANK = "blank"  # a line between sentences
_DROPPED = "dropped"  # an MSRA token with an empty tag
_MAX_ROWS = 1 << 20  # distinct lines remembered: memory stays bounded


def _read_columns(path: str, fmt: str, scheme: str,
                  report: ReadReport) -> Iterator[Sentence]:
  """Reads the one-token-per-line formats (msra, peoples_daily, conll).

  A corpus repeats few distinct lines (MSRA's train file: 2.2 million lines,
  11170 distinct), so each distinct line is decoded and checked once
  (``_row``), keyed by its bytes; the rest is a dictionary lookup per line.
  A file of more distinct lines than ``_MAX_ROWS`` has the rest checked
  each time they occur.
  """
  rows: Dict[bytes, Union[str, Tuple[str, str]]] = {}
  tokens: List[str] = []
  raw_tags: List[str] = []
  start_line = 0
  with open(path, "rb") as stream:
    for number, raw in enumerate(stream, 1):
      row = rows.get(raw)
      if row is None:
        row = _row(path, number, raw, fmt, scheme)
        if number > 1 and len(rows) < _MAX_ROWS:  # line 1 may have a BOM
          rows[raw] = row
      if row is _BLANK:
        if tokens:
          yield _finish(path, start_line, tokens, raw_tags, scheme, report)
          tokens, raw_tags = [], []
        continue
      if row is _DROPPED:
        report.dropped_tokens += 1
        report.dropped_lines.append(number)
        continue
      if not tokens:
        start_line = number
      tokens.append(row[0])
      raw_tags.append(row[1])
  if tokens:
    yield _finish(path, start_line, tokens, raw_tags, scheme, report)


def _row(path: str, number: int, raw: bytes, fmt: str, scheme: str
         ) -> Union[str, Tuple[str, str]]:
  """What one line of a column file holds: ``_BLANK``, ``_DROPPED`` or
  (token, tag).

  Raises:
    DataError: naming the line, when it is not of the format.
  """
  line = _decode_line(path, number, raw)
  if not line.strip():
    return _BLANK
  fields = _split_row(fmt, line)
  if fmt == "conll":
    ok = len(fields) >= 2
  else:
    ok = len(fields) == 2 and fields[0] != ""
  if not ok:
    raise DataError(path, number, f"expected {_LAYOUT[fmt]}, found "
                    f"{len(fields)} column(s)", line)
  token, tag = fields[0], fields[-1]
  if tag == "" and fmt == "msra":
    return _DROPPED
  try:
    tags_lib.parse_tag(tag, scheme)
  except ValueError as err:
    raise DataError(path, number, str(err), line) from None
  if len(token) != 1 and fmt != "conll":
    raise DataError(path, number,
                    f"expected one character, found {len(token)}", line)
  return token, tag


_LAYOUT = {
    "msra": "'char<TAB>tag'",
    "peoples_daily": "'char<SPACE>tag' (one space)",
    "conll": "'token ... tag' columns separated by whitespace",
}


def _finish(path: str, line: int, tokens: Sequence[str],
            raw_tags: Sequence[str], scheme: str,
            report: ReadReport) -> Sentence:
  """Converts token tags to BIO and expands multi-character tokens."""
  bio, repairs = tags_lib.to_bio(raw_tags, scheme)
  report.repaired_tags += repairs
  report.sentences += 1
  if all(len(token) == 1 for token in tokens):
    return Sentence(tuple(tokens), tuple(bio), path, line)
  chars: List[str] = []
  char_tags: List[str] = []
  for token, tag in zip(tokens, bio):
    chars.extend(token)
    char_tags.append(tag)
    inside = "O" if tag == "O" else "I-" + tag[2:]
    char_tags.extend([inside] * (len(token) - 1))
  return Sentence(tuple(chars), tuple(char_tags), path, line)


def _pair_paths(path: str) -> Tuple[str, str]:
  folder = path if os.path.isdir(path) else os.path.dirname(path)
  return os.path.join(folder, "sentences.txt"), os.path.join(folder, "tags.txt")


def _read_pair(path: str, scheme: str, report: ReadReport) -> Iterator[Sentence]:
  sentences_path, tags_path = _pair_paths(path)
  for missing in (sentences_path, tags_path):
    if not os.path.exists(missing):
      raise DataError(missing, None, "file not found (the pair format needs "
                      "sentences.txt and tags.txt side by side)")
  tag_lines = iter_lines(tags_path)
  for number, line in iter_lines(sentences_path):
    tag_item = next(tag_lines, None)
    if tag_item is None:
      raise DataError(tags_path, number,
                      f"ends before {sentences_path} (no tags for this line)")
    chars = line.split(" ") if line else []
    raw_tags = tag_item[1].split(" ") if tag_item[1] else []
    if any(len(c) != 1 for c in chars):
      raise DataError(sentences_path, number,
                      "expected single characters separated by single spaces",
                      line)
    if len(chars) != len(raw_tags):
      raise DataError(tags_path, number,
                      f"{len(raw_tags)} tags for {len(chars)} characters",
                      tag_item[1])
    if not chars:
      continue
    for tag in raw_tags:
      try:
        tags_lib.parse_tag(tag, scheme)
      except ValueError as err:
        raise DataError(tags_path, number, str(err), tag_item[1]) from None
    yield _finish(sentences_path, number, chars, raw_tags, scheme, report)
  extra = next(tag_lines, None)
  if extra is not None:
    raise DataError(tags_path, extra[0],
                    f"has more lines than {sentences_path}", extra[1])


def _read_cluener(path: str, report: ReadReport) -> Iterator[Sentence]:
  for number, line in iter_lines(path):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
    except json.JSONDecodeError as err:
      raise DataError(path, number, f"invalid JSON ({err.msg})", line) from None
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
      raise DataError(path, number, "expected an object with a string 'text'",
                      line)
    if not text:
      continue
    chars = tuple(text)
    if "label" not in record:
      report.sentences += 1
      yield Sentence(chars, None, path, number)
      continue
    spans = _cluener_spans(path, number, line, text, record["label"])
    kept, dropped = tags_lib.resolve_overlaps(spans)
    report.overlapping_spans += len(dropped)
    for span in dropped:
      report.dropped_spans[span.type] += 1
    report.sentences += 1
    yield Sentence(chars, tuple(tags_lib.spans_to_tags(len(text), kept)), path,
                   number)


def _cluener_spans(path, number, line, text, label) -> List[tags_lib.Span]:
  if not isinstance(label, dict):
    raise DataError(path, number, "'label' must be an object {type: {entity: "
                    "[[start, end], ...]}}", line)
  spans = []
  for etype, entities in label.items():
    if not isinstance(entities, dict) or not etype or any(
        c.isspace() for c in etype):
      raise DataError(path, number, f"bad entity type or entities for {etype!r}",
                      line)
    for entity, positions in entities.items():
      for pos in positions if isinstance(positions, list) else [None]:
        ok = (isinstance(pos, list) and len(pos) == 2 and
              all(isinstance(p, int) for p in pos) and 0 <= pos[0] <= pos[1] <
              len(text))
        if not ok:
          raise DataError(path, number, f"span {pos!r} of {etype} {entity!r} is "
                          f"not [start, end] inside a text of {len(text)} "
                          "characters", line)
        if text[pos[0]:pos[1] + 1] != entity:
          raise DataError(path, number, f"span {pos} of {etype} {entity!r} "
                          f"covers {text[pos[0]:pos[1] + 1]!r} in the text",
                          line)
        spans.append(tags_lib.Span(pos[0], pos[1] + 1, etype))
  return spans


def detect_format(path: str) -> str:
  """Guesses the format of a corpus file from its name and first non-blank line.

  Raises:
    DataError: when the file is empty or its first line fits no format.
  """
  if os.path.isdir(path) or os.path.basename(path) in ("sentences.txt",
                                                       "tags.txt"):
    return "pair"
  for number, line in iter_lines(path):
    if not line.strip():
      continue
    if line.lstrip().startswith("["):
      return "label_studio"
    if line.lstrip().startswith("{"):
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        return "cluener"
      if isinstance(record, dict) and (
          isinstance(record.get("label"), list) or "entities" in record):
        return "doccano"
      if isinstance(record, dict) and "data" in record:
        return "label_studio"
      return "cluener"
    if line.count("\t") == 1 and len(line.split("\t")[0]) == 1:
      return "msra"
    fields = line.split(" ")
    if len(fields) == 2 and len(fields[0]) == 1:
      return "peoples_daily"
    if len(line.split()) >= 2:
      return "conll"
    raise DataError(path, number, "cannot tell the format of this file; give "
                    f"--file_format (one of {', '.join(FORMATS)})", line)
  raise DataError(path, None, "file is empty")


def read_file(path: str, fmt: Optional[str] = None, scheme: str = "bio",
              report: Optional[ReadReport] = None) -> Iterator[Sentence]:
  """Streams the sentences of one corpus file.

  Args:
    path: the file (or, for ``pair``, the folder or either file of the pair).
    fmt: one of ``FORMATS``; detected from the content when None.
    scheme: tag scheme of the file (``bio``, ``iob1``, ``bioes``); the output is
      always BIO.
    report: where the counts of repairs and drops are added; a fresh one is used
      (and still logged) when None.

  Yields:
    ``Sentence`` records in file order.

  Raises:
    DataError: on the first malformed line, or when the file does not exist.
  """
  if not os.path.exists(path):
    raise DataError(path, None, "file not found")
  if fmt is None:
    fmt = detect_format(path)
  if fmt not in FORMATS:
    raise DataError(path, None, f"unknown format {fmt!r}; expected one of "
                    f"{', '.join(FORMATS)}")
  file_report = ReadReport()
  if fmt == "cluener":
    sentences = _read_cluener(path, file_report)
  elif fmt == "doccano":
    sentences = annotation.read_doccano(path, file_report)
  elif fmt == "label_studio":
    sentences = annotation.read_label_studio(path, file_report)
  elif fmt == "pair":
    sentences = _read_pair(path, scheme, file_report)
  else:
    sentences = _read_columns(path, fmt, scheme, file_report)
  yield from sentences
  _log_report(path, file_report)
  if report is not None:
    report.add(file_report)


def _log_report(path: str, report: ReadReport) -> None:
  if report.repaired_tags:
    logging.warning("%s: %d I- tag(s) did not continue an entity of their type "
                    "and were rewritten to B-", path, report.repaired_tags)
  if report.dropped_tokens:
    logging.warning("%s: dropped %d token(s) with an empty tag", path,
                    report.dropped_tokens)
  if report.overlapping_spans:
    logging.warning("%s: dropped %d span(s) overlapping a longer one (%s)", path,
                    report.overlapping_spans,
                    ", ".join(f"{k} {v}" for k, v in
                              sorted(report.dropped_spans.items())))


def write_pair(folder: str, sentences: Sequence[Sentence]) -> None:
  """Writes sentences in the pair format, atomically (see ``io_utils``)."""
  with atomic_open(os.path.join(folder, "sentences.txt")) as out:
    for sentence in sentences:
      out.write(" ".join(sentence.chars) + "\n")
  with atomic_open(os.path.join(folder, "tags.txt")) as out:
    for sentence in sentences:
      out.write(" ".join(sentence.tags) + "\n")
