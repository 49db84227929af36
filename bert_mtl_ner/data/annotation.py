"""Annotation tools' formats: doccano JSONL and Label Studio JSON, both ways.

Reading (``read_doccano``, ``read_label_studio``; ``readers.read_file`` with
``--file_format=doccano|label_studio``):

* doccano JSONL, one record a line: ``{"text": ..., "label": [[start, end,
  "TYPE"], ...]}`` (sequence-labeling export), or the newer ``{"text": ...,
  "entities": [{"start_offset", "end_offset", "label"}, ...]}``. A record with
  neither key is unlabeled.
* Label Studio's JSON export: an array of tasks ``{"data": {"text": ...},
  "annotations": [{"result": [{"type": "labels", "value": {"start", "end",
  "labels": ["TYPE"]}}, ...]}]}``. The first annotation that was not cancelled
  counts; a task without one is unlabeled (its ``predictions`` are a model's
  guesses, read only with ``use_predictions``).

Offsets are in characters (code points) with ``end`` exclusive, as both tools
write them. An empty, reversed or out-of-range span, a span over only
whitespace, overlapping spans and malformed records raise ``DataError`` naming
the file and the record (the line for doccano, the task's index and id for
Label Studio).

Writing (``doccano_record``, ``label_studio_task``, ``AnnotationWriter``):
pre-annotations that the tools import. Label Studio gets ``predictions`` with
a ``score`` per region and per task (the lowest region score), so its
"prediction score" column sorts the least certain tasks first.
"""

import json
from typing import Any, Dict, Iterator, List, Optional, Sequence, TextIO

from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import ReadReport, Sentence
from bert_mtl_ner.errors import DataError

FORMATS = ("doccano", "label_studio")
LABEL_STUDIO_FROM = "label"  # the <Labels name="label"> of the NER template
LABEL_STUDIO_TO = "text"     # the <Text name="text" value="$text"> it labels


def _checked_spans(path: str, line: Optional[int], where: str, text: str,
                   raw: Sequence[Any], content: Optional[str]
                   ) -> List[tags_lib.Span]:
  """Spans of ``(start, end, type)`` triples, each checked against ``text``;
  overlapping spans are an error (an annotator's choice we cannot make)."""
  spans = []
  for start, end, etype in raw:
    ok = (isinstance(start, int) and isinstance(end, int) and
          not isinstance(start, bool) and not isinstance(end, bool))
    if not ok:
      raise DataError(path, line, f"{where}: span offsets {start!r}, {end!r} "
                      "are not integers", content)
    if not isinstance(etype, str) or not etype or any(c.isspace()
                                                       for c in etype):
      raise DataError(path, line, f"{where}: bad entity type {etype!r}",
                      content)
    if not 0 <= start < end <= len(text):
      problem = "empty" if start == end else (
          "reversed" if start > end else "out of range")
      raise DataError(path, line, f"{where}: span [{start}, {end}) of {etype} "
                      f"is {problem} (text of {len(text)} characters)",
                      content)
    if not text[start:end].strip():
      raise DataError(path, line, f"{where}: span [{start}, {end}) of {etype} "
                      "covers only whitespace", content)
    spans.append(tags_lib.Span(start, end, etype))
  spans.sort(key=lambda s: (s.start, s.end))
  for a, b in zip(spans, spans[1:]):
    if b.start < a.end:
      raise DataError(path, line, f"{where}: spans [{a.start}, {a.end}) "
                      f"{a.type} and [{b.start}, {b.end}) {b.type} overlap",
                      content)
  return spans


def _sentence(text: str, spans: Optional[List[tags_lib.Span]], path: str,
              line: Optional[int]) -> Sentence:
  tags = None if spans is None else tuple(tags_lib.spans_to_tags(len(text),
                                                                 spans))
  return Sentence(tuple(text), tags, path, line or 0)


def read_doccano(path: str, report: Optional[ReadReport] = None
                 ) -> Iterator[Sentence]:
  """Streams a doccano JSONL file (see the module docstring).

  Raises:
    DataError: naming the file and line of the first bad record.
  """
  report = report if report is not None else ReadReport()
  with open(path, "rb") as stream:
    for number, raw in enumerate(stream, 1):
      try:
        line = raw.decode("utf-8").rstrip("\r\n")
      except UnicodeDecodeError as err:
        raise DataError(path, number, f"invalid UTF-8 at byte {err.start}",
                        raw.decode("utf-8", "backslashreplace")) from None
      if not line.strip():
        continue
      where = f"record on line {number}"
      try:
        record = json.loads(line)
      except json.JSONDecodeError as err:
        raise DataError(path, number, f"{where}: invalid JSON ({err.msg})",
                        line) from None
      text = record.get("text") if isinstance(record, dict) else None
      if not isinstance(text, str):
        raise DataError(path, number, f"{where}: expected an object with a "
                        "string 'text'", line)
      if not text:
        continue
      if "label" in record:
        raw_spans = record["label"]
        if not isinstance(raw_spans, list) or not all(
            isinstance(s, list) and len(s) == 3 for s in raw_spans):
          raise DataError(path, number, f"{where}: 'label' must be a list of "
                          "[start, end, TYPE]", line)
      elif "entities" in record:
        if not isinstance(record["entities"], list) or not all(
            isinstance(e, dict) and {"start_offset", "end_offset",
                                     "label"} <= set(e)
            for e in record["entities"]):
          raise DataError(path, number, f"{where}: 'entities' must be a list "
                          "of {start_offset, end_offset, label}", line)
        raw_spans = [[e["start_offset"], e["end_offset"], e["label"]]
                     for e in record["entities"]]
      else:
        raw_spans = None
      spans = None if raw_spans is None else _checked_spans(
          path, number, where, text, raw_spans, line)
      report.sentences += 1
      yield _sentence(text, spans, path, number)


def _load_tasks(path: str) -> List[Any]:
  try:
    with open(path, encoding="utf-8") as stream:
      tasks = json.load(stream)
  except UnicodeDecodeError as err:
    raise DataError(path, None, f"invalid UTF-8 at byte {err.start}") from None
  except json.JSONDecodeError as err:
    raise DataError(path, err.lineno, f"invalid JSON ({err.msg})") from None
  if isinstance(tasks, dict):  # a single task
    tasks = [tasks]
  if not isinstance(tasks, list):
    raise DataError(path, None, "expected Label Studio's JSON export: an array "
                    "of tasks")
  return tasks


def _label_studio_spans(path: str, where: str, text: str,
                        results: Any) -> List[tags_lib.Span]:
  if not isinstance(results, list):
    raise DataError(path, None, f"{where}: 'result' must be a list")
  raw = []
  for region in results:
    if not isinstance(region, dict) or region.get("type", "labels") != "labels":
      continue  # relations, choices, text areas: not spans
    value = region.get("value")
    labels = value.get("labels") if isinstance(value, dict) else None
    if not isinstance(labels, list) or len(labels) != 1 or not {
        "start", "end"} <= set(value):
      raise DataError(path, None, f"{where}: a region needs value.start, "
                      "value.end and one value.labels entry",
                      json.dumps(region, ensure_ascii=False)[:200])
    raw.append([value["start"], value["end"], labels[0]])
  return _checked_spans(path, None, where, text, raw, None)


def read_label_studio(path: str, report: Optional[ReadReport] = None,
                      use_predictions: bool = False) -> Iterator[Sentence]:
  """The tasks of a Label Studio JSON export (see the module docstring).

  Args:
    path: the export.
    report: where the sentence count is added.
    use_predictions: read a task without an annotation as its first
      prediction (pre-annotations that nobody has reviewed yet).

  Raises:
    DataError: naming the file and the task (index and id) of the first bad
      record.
  """
  report = report if report is not None else ReadReport()
  for index, task in enumerate(_load_tasks(path)):
    where = f"task {index}" + (f" (id {task['id']})" if isinstance(
        task, dict) and "id" in task else "")
    data = task.get("data") if isinstance(task, dict) else None
    text = data.get(LABEL_STUDIO_TO) if isinstance(data, dict) else None
    if not isinstance(text, str):
      raise DataError(path, None, f"{where}: expected data.{LABEL_STUDIO_TO} "
                      "to be a string")
    if not text:
      continue
    done = [a for a in task.get("annotations") or []
            if isinstance(a, dict) and not a.get("was_cancelled")]
    if not done and use_predictions:
      done = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    spans = _label_studio_spans(path, where, text, done[0].get(
        "result")) if done else None
    report.sentences += 1
    yield _sentence(text, spans, path, None)


def doccano_record(text: str, entities: Sequence[Dict]) -> Dict:
  """A doccano JSONL record: ``{"text", "label": [[start, end, TYPE]]}``."""
  return {"text": text,
          "label": [[e["start"], e["end"], e["type"]] for e in entities]}


def label_studio_task(text: str, entities: Sequence[Dict],
                      model_version: str) -> Dict:
  """A Label Studio task with the entities as a scored prediction."""
  scores = [e["score"] for e in entities if "score" in e]
  result = [{"id": f"r{i}", "from_name": LABEL_STUDIO_FROM,
             "to_name": LABEL_STUDIO_TO, "type": "labels",
             "value": {"start": e["start"], "end": e["end"], "text": e["text"],
                       "labels": [e["type"]]},
             **({"score": e["score"]} if "score" in e else {})}
            for i, e in enumerate(entities)]
  prediction = {"model_version": model_version, "result": result}
  if scores:
    prediction["score"] = min(scores)
  return {"data": {LABEL_STUDIO_TO: text}, "predictions": [prediction]}


class AnnotationWriter:
  """Writes records one by one as doccano JSONL or a Label Studio array.

  Args:
    stream: an open text stream.
    fmt: ``doccano`` or ``label_studio``.
    model_version: Label Studio's ``model_version`` of the predictions.
  """

  def __init__(self, stream: TextIO, fmt: str, model_version: str = ""):
    if fmt not in FORMATS:
      raise ValueError(f"unknown annotation format {fmt!r}")
    self.stream, self.fmt, self.model_version = stream, fmt, model_version
    self.count = 0

  def write(self, text: str, entities: Sequence[Dict]) -> None:
    if self.fmt == "doccano":
      self.stream.write(json.dumps(doccano_record(text, entities),
                                   ensure_ascii=False) + "\n")
    else:
      self.stream.write(("[\n" if not self.count else ",\n") + json.dumps(
          label_studio_task(text, entities, self.model_version),
          ensure_ascii=False))
    self.count += 1

  def close(self) -> None:
    """Ends the Label Studio array (an empty one when nothing was written)."""
    if self.fmt == "label_studio":
      self.stream.write("[\n]\n" if not self.count else "\n]\n")
