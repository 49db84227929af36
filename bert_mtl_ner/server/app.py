"""The HTTP service (Starlette on uvicorn): routes, limits, health and metrics.

Routes:

* ``GET /``: the page (``page.html``): type text, see its entities.
* ``POST /v1/ner`` and ``POST /v1/models/<name>:predict``: see ``api``.
* ``GET /v1/models/<name>``: TF Serving's model status.
* ``GET /v1/types``: the entity types, in label order (the page's legend).
* ``GET /healthz``: 200 once the model has loaded and answered a warm-up call,
  503 before (and 500 if loading failed).
* ``GET /metrics``: Prometheus text format (``metrics``).

The model is loaded in a thread after the server starts, so health checks
answer while it loads. Texts go through one ``DynamicBatcher``; a full queue is
a 503 with ``Retry-After``. Every refusal is a 4xx with a one-line JSON
``{"error": ...}``; nothing a client sends reaches the model unchecked.
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional

from absl import logging
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bert_mtl_ner import serving
from bert_mtl_ner.server import api
from bert_mtl_ner.server.batching import DynamicBatcher, QueueFull
from bert_mtl_ner.server.metrics import CONTENT_TYPE, Metrics

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")
WARM_UP = "张三在北京大学工作。"
# An oversized body is read and dropped up to this size before the 413.
DRAIN_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class ServerConfig:
  """Attributes:
    model_name: the name in ``/v1/models/<name>``.
    limits: request limits.
    max_batch: the most texts in one model call.
    max_wait_ms: how long a text waits for others to share its call.
    max_queue: the most texts waiting; more get 503.
    retry_after: seconds a 503 asks the client to wait.
    call_cost: a model call's fixed cost in padded characters, for cutting a
      batch by length (``batching.length_groups``; 0: never cut).
    model_threads: model calls that may run at once.
  """
  model_name: str = "ner"
  limits: api.Limits = api.Limits()
  max_batch: int = 32
  max_wait_ms: float = 5.0
  max_queue: int = 1024
  retry_after: int = 1
  call_cost: float = 400.0
  model_threads: int = 2


def _json(value: Any, status: int = 200,
          headers: Optional[Dict[str, str]] = None) -> Response:
  return Response(json.dumps(value, ensure_ascii=False) + "\n", status,
                  headers=headers, media_type="application/json")


def _error(status: int, message: str,
           headers: Optional[Dict[str, str]] = None) -> Response:
  return Response(api.error_body(message), status, headers=headers,
                  media_type="application/json")


class NerServer:
  """The service around a tagger that ``load()`` returns.

  Args:
    load: returns a ``serving.SavedModelTagger`` (or anything with
      ``outputs(texts)`` and ``types``); called once, in a thread.
    config: the server's settings.
  """

  def __init__(self, load: Callable[[], Any], config: ServerConfig):
    self.load = load
    self.config = config
    self.metrics = Metrics()
    self.tagger = None
    self.state = "loading"
    self.failure = ""
    self.batcher = DynamicBatcher(
        self._run, config.max_batch, config.max_wait_ms, config.max_queue,
        on_batch=self.metrics.batch_size.observe,
        on_depth=self.metrics.queue_depth.set, call_cost=config.call_cost,
        model_threads=config.model_threads)
    with open(PAGE, encoding="utf-8") as stream:
      self.page = stream.read()
    self.app = Starlette(routes=[
        Route("/", self.index, methods=["GET"]),
        Route("/healthz", self.healthz, methods=["GET"]),
        Route("/metrics", self.prometheus, methods=["GET"]),
        Route("/v1/types", self.types, methods=["GET"]),
        Route("/v1/ner", self.ner, methods=["POST"]),
        Route("/v1/models/{spec}", self.model_status, methods=["GET"]),
        Route("/v1/models/{spec}", self.predict, methods=["POST"]),
    ], lifespan=self._lifespan)

  def _run(self, texts: List[str]) -> List[Dict]:
    return self.tagger.outputs(texts)

  def _load(self) -> None:
    try:
      tagger = self.load()
      tagger.outputs([WARM_UP])
      self.tagger = tagger
      self.state = "ready"
      logging.info("model ready")
    except Exception as err:  # pylint: disable=broad-except
      logging.exception("loading the model failed")
      self.state, self.failure = "failed", f"{type(err).__name__}: {err}"

  @contextlib.asynccontextmanager
  async def _lifespan(self, app):
    del app
    self.batcher.start()
    loading = asyncio.get_running_loop().run_in_executor(None, self._load)
    try:
      yield
    finally:
      await self.batcher.close()
      await loading

  async def _guarded(self, endpoint: str, handle, request: Request
                     ) -> Response:
    """Runs ``handle(request)``, turning every failure into an answer, and
    counts it."""
    start = time.perf_counter()
    try:
      response = await handle(request)
    except api.RequestError as err:
      response = _error(err.status, err.message)
    except QueueFull as err:
      response = _error(503, f"busy: {err}; retry later",
                        {"Retry-After": str(self.config.retry_after)})
    except ClientDisconnect:
      response = Response(status_code=499)  # nobody to answer
    except Exception:  # pylint: disable=broad-except
      logging.exception("%s failed", endpoint)
      response = _error(500, "internal error")
    self.metrics.observe(endpoint, response.status_code,
                         time.perf_counter() - start)
    return response

  async def _body(self, request: Request) -> Any:
    """The request's JSON, read to at most ``max_body_bytes``. A larger body
    is read to its end and dropped (up to ``DRAIN_BYTES``) before the 413, so
    the client, still sending, gets the answer rather than a reset."""
    limit = self.config.limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
      if int(declared) <= DRAIN_BYTES:
        await self._drain(request)
      raise api.RequestError(413, f"the body has {declared} bytes; at most "
                             f"{limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
      size += len(chunk)
      if size > limit:
        await self._drain(request, size)
        raise api.RequestError(413, f"the body is over {limit} bytes")
      chunks.append(chunk)
    return api.parse_body(b"".join(chunks))

  @staticmethod
  async def _drain(request: Request, seen: int = 0) -> None:
    async for chunk in request.stream():
      seen += len(chunk)
      if seen > DRAIN_BYTES:
        return

  def _check_ready(self) -> None:
    if self.state == "loading":
      raise QueueFull("the model is still loading")
    if self.state == "failed":
      raise api.RequestError(500, f"the model failed to load: {self.failure}")

  async def _outputs(self, texts: List[str]) -> List[Dict]:
    self._check_ready()
    if not texts:
      return []
    return await self.batcher.submit(texts)

  async def index(self, request: Request) -> Response:
    del request
    return HTMLResponse(self.page)

  async def healthz(self, request: Request) -> Response:
    del request
    status = {"ready": 200, "loading": 503, "failed": 500}[self.state]
    body = {"status": self.state}
    if self.failure:
      body["error"] = self.failure
    return _json(body, status)

  async def prometheus(self, request: Request) -> Response:
    del request
    return Response(self.metrics.render(), media_type=CONTENT_TYPE)

  async def types(self, request: Request) -> Response:
    async def handle(_):
      self._check_ready()
      return _json({"types": self.tagger.types})
    return await self._guarded("types", handle, request)

  async def ner(self, request: Request) -> Response:
    async def handle(request):
      texts = api.parse_ner(await self._body(request), self.config.limits)
      outputs = await self._outputs(texts)
      return _json({"results": [
          {"entities": serving.entities_of(text, out)}
          for text, out in zip(texts, outputs)]})
    return await self._guarded("ner", handle, request)

  def _model_name(self, spec: str, verb: str) -> None:
    name, _, found = spec.partition(":")
    if name != self.config.model_name:
      raise api.RequestError(404, f"no model {name!r}; this server has "
                             f"{self.config.model_name!r}")
    if found != verb:
      raise api.RequestError(404 if found else 405, f"unsupported method "
                             f"{found or '(none)'!r}; use :{verb}")

  async def predict(self, request: Request) -> Response:
    async def handle(request):
      self._model_name(request.path_params["spec"], "predict")
      texts, columnar = api.parse_tf_serving(await self._body(request),
                                             self.config.limits)
      outputs = await self._outputs(texts)
      return _json(api.tf_serving_response(outputs, columnar))
    return await self._guarded("predict", handle, request)

  async def model_status(self, request: Request) -> Response:
    async def handle(request):
      self._model_name(request.path_params["spec"], "")
      state = {"ready": "AVAILABLE", "loading": "LOADING",
               "failed": "END"}[self.state]
      return _json({"model_version_status": [{
          "version": "1", "state": state,
          "status": {"error_code": "OK" if state != "END" else "UNKNOWN",
                     "error_message": self.failure}}]})
    return await self._guarded("status", handle, request)


def saved_model_loader(export_dir: str) -> Callable[[], Any]:
  return lambda: serving.SavedModelTagger(export_dir)
