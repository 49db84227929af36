"""doccano and Label Studio files: reading both forms, located errors, format
detection, and writing pre-annotations that read back to the same spans."""

import io
import json

import pytest

from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import DataError

TEXT = "张三在北京工作。"


def _spans(sentence):
  return [(s.start, s.end, s.type) for s in tags_lib.tags_to_spans(
      sentence.tags)]


def _label_studio(tasks):
  return json.dumps(tasks, ensure_ascii=False)


def test_doccano_both_forms_and_unlabeled(write):
  path = write("a.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
      {"id": 1, "text": TEXT, "label": [[3, 5, "LOC"], [0, 2, "PER"]]},
      {"text": TEXT, "entities": [{"id": 7, "start_offset": 0,
                                   "end_offset": 2, "label": "PER"}]},
      {"text": "没有标注。"},
      {"text": ""}]) + "\n")
  assert readers.detect_format(path) == "doccano"
  sentences = list(readers.read_file(path))
  assert [_spans(s) for s in sentences[:2]] == [
      [(0, 2, "PER"), (3, 5, "LOC")], [(0, 2, "PER")]]
  assert sentences[2].tags is None and len(sentences) == 3
  assert sentences[1].line == 2


def test_label_studio_annotations_first_then_unlabeled(write):
  region = lambda s, e, t: {"id": "x", "from_name": "label", "to_name": "text",
                            "type": "labels",
                            "value": {"start": s, "end": e, "labels": [t]}}
  path = write("export.json", _label_studio([
      {"id": 10, "data": {"text": TEXT},
       "annotations": [{"was_cancelled": True, "result": [region(0, 1, "PER")]},
                       {"result": [region(0, 2, "PER"), region(3, 5, "LOC"),
                                   {"type": "relation", "from_id": "a"}]}],
       "predictions": [{"result": [region(3, 5, "LOC")]}]},
      {"id": 11, "data": {"text": TEXT},
       "predictions": [{"result": [region(3, 5, "LOC")]}]}]))
  assert readers.detect_format(path) == "label_studio"
  first, second = readers.read_file(path)
  assert _spans(first) == [(0, 2, "PER"), (3, 5, "LOC")]
  assert second.tags is None
  _, guessed = annotation.read_label_studio(path, use_predictions=True)
  assert _spans(guessed) == [(3, 5, "LOC")]


@pytest.mark.parametrize("label, problem", [
    ([[0, 2, "PER"], [1, 3, "LOC"]], "overlap"),
    ([[2, 2, "PER"]], "empty"),
    ([[3, 1, "PER"]], "reversed"),
    ([[5, 40, "PER"]], "out of range"),
    ([[0, "2", "PER"]], "not integers"),
    ([[0, 2, ""]], "bad entity type"),
    ("PER", "must be a list"),
])
def test_doccano_errors_name_the_record(write, label, problem):
  good = json.dumps({"text": TEXT, "label": [[0, 2, "PER"]]},
                    ensure_ascii=False)
  bad = json.dumps({"text": TEXT, "label": label}, ensure_ascii=False)
  path = write("bad.jsonl", good + "\n" + bad + "\n")
  with pytest.raises(DataError) as err:
    list(readers.read_file(path, "doccano"))
  message = str(err.value)
  assert "bad.jsonl" in message and "line 2" in message and problem in message
  assert "\n" not in message.strip()


def test_label_studio_errors_name_the_task(write):
  path = write("ls.json", _label_studio([
      {"id": 3, "data": {"text": TEXT}, "annotations": []},
      {"id": 4, "data": {"text": TEXT}, "annotations": [{"result": [
          {"type": "labels", "value": {"start": 0, "end": 2,
                                       "labels": ["PER"]}},
          {"type": "labels", "value": {"start": 1, "end": 4,
                                       "labels": ["LOC"]}}]}]}]))
  with pytest.raises(DataError, match=r"ls.json.*task 1 \(id 4\).*overlap"):
    list(readers.read_file(path))
  broken = write("broken.json", '[{"data": {"text": 1}}]')
  with pytest.raises(DataError, match=r"task 0: expected data.text"):
    list(readers.read_file(broken, "label_studio"))
  truncated = write("truncated.json", '[{"data": ')
  with pytest.raises(DataError, match="invalid JSON"):
    list(readers.read_file(truncated, "label_studio"))


@pytest.mark.parametrize("fmt", annotation.FORMATS)
def test_written_pre_annotations_read_back(tmp_path, fmt):
  rows = [(TEXT, [{"start": 0, "end": 2, "type": "PER", "text": "张三",
                   "score": 0.91},
                  {"start": 3, "end": 5, "type": "LOC", "text": "北京",
                   "score": 0.42}]),
          ("什么也没有", [])]
  stream = io.StringIO()
  writer = annotation.AnnotationWriter(stream, fmt, "model-a")
  for text, entities in rows:
    writer.write(text, entities)
  writer.close()
  path = tmp_path / f"out.{fmt}"
  path.write_text(stream.getvalue(), encoding="utf-8")
  if fmt == "label_studio":
    tasks = json.loads(stream.getvalue())
    assert tasks[0]["predictions"][0]["score"] == 0.42
    assert tasks[0]["predictions"][0]["result"][0]["score"] == 0.91
    assert tasks[0]["predictions"][0]["model_version"] == "model-a"
    back = list(annotation.read_label_studio(str(path), use_predictions=True))
  else:
    back = list(readers.read_file(str(path)))
  assert [_spans(s) for s in back] == [
      [(e["start"], e["end"], e["type"]) for e in entities]
      for _, entities in rows]


def test_an_empty_label_studio_array_is_valid_json():
  stream = io.StringIO()
  annotation.AnnotationWriter(stream, "label_studio").close()
  assert json.loads(stream.getvalue()) == []
