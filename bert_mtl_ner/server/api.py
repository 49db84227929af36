"""What the server accepts and answers, as pure functions (no HTTP here).

Two request formats:

* ``POST /v1/ner``: ``{"texts": ["...", ...]}`` -> ``{"results": [{"entities":
  [{"start", "end", "type", "text"}]}]}``, the spans ``predict`` gives.
* ``POST /v1/models/<name>:predict``: TF Serving's REST format. Row format
  ``{"instances": [...]}`` answers ``{"predictions": [{output: value}, ...]}``;
  columnar ``{"inputs": ...}`` answers ``{"outputs": {output: [...]}}``. An
  instance is a string, ``{"text": string}``, or either with ``{"b64": ...}``
  for the string (TF Serving's binary encoding). Outputs are padded to the
  longest text and entity count of the request, as TF Serving's batch of that
  request would be.

Every refusal is a ``RequestError`` with an HTTP status and a one-line message.
"""

import base64
import binascii
import dataclasses
import json
from typing import Any, Dict, List, Sequence, Tuple

# TF Serving pads string outputs with "" and integer ones with -1.
PAD = {"tags": "", "tag_ids": -1, "entity_start": -1, "entity_end": -1,
       "entity_type": "", "entity_score": -1.0}


@dataclasses.dataclass(frozen=True)
class Limits:
  """Attributes:
    max_body_bytes: the largest request body.
    max_texts: the most texts in one request.
    max_chars: the longest text, in characters.
  """
  max_body_bytes: int = 1 << 20
  max_texts: int = 64
  max_chars: int = 10000


class RequestError(Exception):
  """A refused request: ``status`` and a one-line ``message``."""

  def __init__(self, status: int, message: str):
    super().__init__(message)
    self.status = status
    self.message = message.replace("\n", " ")


def parse_body(body: bytes) -> Any:
  """The JSON value of a request body (strict UTF-8).

  Raises:
    RequestError: 400 for invalid UTF-8 or JSON.
  """
  try:
    text = body.decode("utf-8")
  except UnicodeDecodeError as err:
    raise RequestError(400, f"the body is not valid UTF-8 (byte "
                       f"{err.start})") from None
  try:
    return json.loads(text)
  except ValueError as err:
    raise RequestError(400, f"the body is not valid JSON: {err}") from None


def check_texts(texts: Sequence[Any], limits: Limits, where: str) -> List[str]:
  """``texts`` checked against their types and ``limits``.

  Raises:
    RequestError: 400 for a text that is not a string, 413 for too many or too
      long texts.
  """
  if len(texts) > limits.max_texts:
    raise RequestError(413, f"{len(texts)} texts in {where}; at most "
                       f"{limits.max_texts} per request")
  for i, text in enumerate(texts):
    if not isinstance(text, str):
      raise RequestError(400, f"{where}[{i}] is {type(text).__name__}, not a "
                         "string")
    if len(text) > limits.max_chars:
      raise RequestError(413, f"{where}[{i}] has {len(text)} characters; at "
                         f"most {limits.max_chars}")
  return list(texts)


def parse_ner(payload: Any, limits: Limits) -> List[str]:
  """The texts of a ``/v1/ner`` request."""
  if not isinstance(payload, dict) or "texts" not in payload:
    raise RequestError(400, 'expected {"texts": ["...", ...]}')
  if not isinstance(payload["texts"], list):
    raise RequestError(400, '"texts" must be a list of strings')
  return check_texts(payload["texts"], limits, "texts")


def _instance_text(value: Any, where: str) -> Any:
  """A string from an instance: "...", {"b64": ...} or {"text": either}."""
  if isinstance(value, dict) and set(value) == {"text"}:
    value = value["text"]
  if isinstance(value, dict) and set(value) == {"b64"}:
    try:
      raw = base64.b64decode(str(value["b64"]), validate=True)
      return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
      raise RequestError(400, f"{where}: b64 is not base64 of UTF-8 "
                         "text") from None
  if isinstance(value, (dict, list)):
    raise RequestError(400, f"{where}: expected a string, {{\"text\": "
                       f"string}} or {{\"b64\": ...}}")
  return value


def parse_tf_serving(payload: Any, limits: Limits) -> Tuple[List[str], bool]:
  """(texts, columnar) of a TF Serving predict request."""
  if not isinstance(payload, dict):
    raise RequestError(400, 'expected {"instances": [...]} or {"inputs": ...}')
  signature = payload.get("signature_name", "serving_default")
  if signature != "serving_default":
    raise RequestError(400, f"unknown signature_name {signature!r}; this "
                       "server has serving_default")
  if ("instances" in payload) == ("inputs" in payload):
    raise RequestError(400, 'give exactly one of "instances" and "inputs"')
  columnar = "inputs" in payload
  values = payload["inputs" if columnar else "instances"]
  if columnar and isinstance(values, dict):
    if set(values) != {"text"}:
      raise RequestError(400, 'the only input is "text"')
    values = values["text"]
  if not isinstance(values, list):
    raise RequestError(400, "instances/inputs must be a list")
  where = "inputs" if columnar else "instances"
  texts = [_instance_text(v, f"{where}[{i}]") for i, v in enumerate(values)]
  return check_texts(texts, limits, where), columnar


def _padded(outputs: Sequence[Dict], name: str) -> List[Any]:
  width = max((len(o[name]) for o in outputs), default=0)
  return [o[name] + [PAD[name]] * (width - len(o[name])) for o in outputs]


def tf_serving_response(outputs: Sequence[Dict], columnar: bool) -> Dict:
  """TF Serving's answer for per-text outputs (``serving.trim_outputs``)."""
  columns = {name: _padded(outputs, name) for name in PAD
             if not outputs or name in outputs[0]}
  columns["entity_count"] = [o["entity_count"] for o in outputs]
  if columnar:
    return {"outputs": columns}
  return {"predictions": [{name: columns[name][i] for name in columns}
                          for i in range(len(outputs))]}


def error_body(message: str) -> bytes:
  return (json.dumps({"error": message}, ensure_ascii=False) + "\n").encode()
