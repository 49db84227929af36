"""Bulk tagging on Apache Beam: a corpus of any size through the raw-text
SavedModel, with Beam's RunInference (as TFX's BulkInferrer does).

The pipeline (``build``):

1. match ``--input`` and read every file line by line with its line number
   (``numbered_lines``), then spread the lines over the workers (Reshuffle);
2. ``ParseLine`` turns each line into ``(line id, text)``: the line itself for
   plain text, the ``--text_field`` of a JSON object for JSONL. A line that
   is not UTF-8 or not valid JSON, a record without the text field, or a text
   over ``--max_chars`` goes to the dead-letter output with its file, line and
   reason, and the pipeline goes on;
3. ``RunInference`` with ``SavedModelHandler``: Beam batches the texts
   (``BATCH``), and loads the SavedModel once per worker process, shared by
   every bundle and thread of that process;
4. the records, ``predict``'s ``{"text", "entities"}`` plus ``file`` and
   ``line``, are written as sharded JSONL under ``--output``; the dead letters
   beside them (``PREFIX-errors-*``).

It runs wherever Beam runs: the DirectRunner here, Dataflow, Flink or Spark on
a cluster (docs/serving.md#bulk-tagging-on-apache-beam).
"""

import json
from typing import Any, Dict, Iterable, Iterator, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.metrics import Metrics
from apache_beam.ml.inference import base as inference_base

NAMESPACE = "bert_mtl_ner"
DEAD_LETTERS = "dead_letters"
FORMATS = ("auto", "text", "jsonl")
# Documents per model call. Beam grows batches from the smallest towards the
# largest while that speeds calls up; 64 is predict's batch, beyond which a
# 2-core CPU gains nothing (bench/inference.py).
BATCH = {"min_batch_size": 8, "max_batch_size": 64}

LineId = Dict[str, Any]


def input_format(path: str, given: str) -> str:
  """``text`` or ``jsonl``: ``given``, or for ``auto`` by the file's ending."""
  if given != "auto":
    return given
  return "jsonl" if path.endswith((".jsonl", ".json", ".ndjson")) else "text"


def numbered_lines(readable: fileio.ReadableFile
                   ) -> Iterator[Tuple[str, int, bytes]]:
  """(file, 1-based line number, raw bytes without the line break) of every
  line of a matched file; split on ``\\n`` only, a trailing ``\\r`` dropped."""
  path = readable.metadata.path
  with readable.open(compression_type=beam.io.filesystem.CompressionTypes.AUTO
                     ) as stream:
    for number, raw in enumerate(stream, 1):
      raw = raw[:-1] if raw.endswith(b"\n") else raw
      yield path, number, raw[:-1] if raw.endswith(b"\r") else raw


def dead_letter(path: str, number: int, reason: str, content: str) -> Dict:
  """The dead-letter record of a line (its content cut to 200 characters)."""
  return {"file": path, "line": number, "reason": reason,
          "content": content if len(content) <= 200 else content[:197] + "..."}


class ParseLine(beam.DoFn):
  """(file, line, raw) -> ``(line id, text)``, or a dead letter on the
  ``DEAD_LETTERS`` output.

  Args:
    fmt: ``FORMATS``.
    text_field: JSONL: the field that holds the text.
    max_chars: longer texts are dead letters (0: no limit).
  """

  def __init__(self, fmt: str, text_field: str, max_chars: int):
    super().__init__()
    self.fmt, self.text_field, self.max_chars = fmt, text_field, max_chars
    self.dead = Metrics.counter(NAMESPACE, DEAD_LETTERS)

  def process(self, element: Tuple[str, int, bytes]):
    path, number, raw = element
    text, reason = self._text(path, raw)
    if reason is None and self.max_chars and len(text) > self.max_chars:
      reason = (f"text of {len(text)} characters is over --max_chars="
                f"{self.max_chars}")
    if reason is not None:
      self.dead.inc()
      yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead_letter(
          path, number, reason, raw.decode("utf-8", "backslashreplace")))
      return
    yield {"file": path, "line": number}, text

  def _text(self, path: str, raw: bytes) -> Tuple[Optional[str], Optional[str]]:
    """(text, None) or (None, why the line is a dead letter)."""
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
      return None, f"invalid UTF-8 at byte {err.start}"
    if input_format(path, self.fmt) == "text":
      return line, None
    try:
      record = json.loads(line)
    except json.JSONDecodeError as err:
      return None, f"not valid JSON: {err.msg} at character {err.pos}"
    if not isinstance(record, dict) or self.text_field not in record:
      return None, f"no \"{self.text_field}\" field (--text_field)"
    if not isinstance(record[self.text_field], str):
      return None, f"\"{self.text_field}\" is not a string"
    return record[self.text_field], None


class SavedModelHandler(inference_base.ModelHandler):
  """RunInference's handler for the raw-text SavedModel of ``export``: texts
  in, ``predict``'s entity lists out.

  Args:
    saved_model: the export's directory (any path the workers can read).
  """

  def __init__(self, saved_model: str):
    super().__init__()
    self.saved_model = saved_model

  def load_model(self):
    from bert_mtl_ner import serving  # pylint: disable=g-import-not-at-top
    return serving.SavedModelTagger(self.saved_model)

  def run_inference(self, batch: Sequence[str], model,
                    inference_args: Optional[Dict[str, Any]] = None
                    ) -> Iterable[inference_base.PredictionResult]:
    del inference_args
    return [inference_base.PredictionResult(text, entities)
            for text, entities in zip(batch, model.entities(list(batch)))]

  def batch_elements_kwargs(self) -> Dict[str, int]:
    return dict(BATCH)

  def get_num_bytes(self, batch: Sequence[str]) -> int:
    return sum(len(t.encode("utf-8")) for t in batch)

  def get_metrics_namespace(self) -> str:
    return NAMESPACE


def to_record(keyed: Tuple[LineId, inference_base.PredictionResult]) -> str:
  """One output line: the line id, then ``predict``'s record."""
  line_id, result = keyed
  return json.dumps({**line_id, "text": result.example,
                     "entities": result.inference}, ensure_ascii=False)


def build(pipeline: beam.Pipeline, saved_model: str, input_glob: str,
          output: str, fmt: str = "auto", text_field: str = "text",
          max_chars: int = 100000) -> None:
  """Adds the tagging pipeline to ``pipeline`` (see the module docstring).

  Args:
    pipeline: the Beam pipeline.
    saved_model: the export's directory.
    input_glob: files to tag (a glob).
    output: prefix of the output shards; dead letters go to
      ``OUTPUT-errors-*.jsonl``.
    fmt: ``FORMATS``.
    text_field: JSONL's text field.
    max_chars: longer texts are dead letters (0: no limit).
  """
  parsed = (
      pipeline
      | "Match" >> fileio.MatchFiles(input_glob)
      | "Open" >> fileio.ReadMatches()
      | "Lines" >> beam.FlatMap(numbered_lines)
      | "Spread" >> beam.Reshuffle()
      | "Parse" >> beam.ParDo(ParseLine(fmt, text_field, max_chars))
      .with_outputs(DEAD_LETTERS, main="texts"))
  _ = (parsed.texts
       | "Tag" >> inference_base.RunInference(
           inference_base.KeyedModelHandler(SavedModelHandler(saved_model)))
       | "Records" >> beam.Map(to_record)
       | "Write" >> beam.io.WriteToText(output, file_name_suffix=".jsonl"))
  _ = (parsed[DEAD_LETTERS]
       | "DeadLetterLines" >> beam.Map(json.dumps, ensure_ascii=False)
       | "WriteDeadLetters" >> beam.io.WriteToText(
           output + "-errors", file_name_suffix=".jsonl"))


def counts(result) -> Dict[str, Optional[int]]:
  """What a finished pipeline counted: ``tagged`` documents, ``dead_letters``
  and ``model_loads`` (one per worker process that tagged); None for what the
  runner does not report."""
  from apache_beam.metrics.metric import MetricsFilter  # pylint: disable=g-import-not-at-top
  try:
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
  except NotImplementedError:
    return {"tagged": None, "dead_letters": None, "model_loads": None}

  def total(kind, name, field=None):
    values = [m.committed if m.committed is not None else m.attempted
              for m in found[kind] if m.key.metric.name == name]
    if field:
      values = [getattr(v, field) for v in values if v is not None]
    return sum(v or 0 for v in values)

  return {"tagged": total("counters", "num_inferences"),
          "dead_letters": total("counters", DEAD_LETTERS),
          "model_loads": total("distributions",
                               "load_model_latency_milli_secs", "count")}
