"""Prometheus metrics of one server (``prometheus_client``, its own registry)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
  """Requests by endpoint and status, request latency, model-call batch sizes
  and the queue depth."""

  def __init__(self):
    self.registry = CollectorRegistry()
    self.requests = Counter(
        "bert_mtl_ner_requests", "HTTP requests by endpoint and status.",
        ["endpoint", "status"], registry=self.registry)
    self.latency = Histogram(
        "bert_mtl_ner_request_seconds", "Request latency by endpoint.",
        ["endpoint"], registry=self.registry,
        buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
    self.batch_size = Histogram(
        "bert_mtl_ner_batch_size", "Texts per model call.",
        registry=self.registry,
        buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
    self.queue_depth = Gauge(
        "bert_mtl_ner_queue_depth", "Texts waiting for a model call.",
        registry=self.registry)

  def observe(self, endpoint: str, status: int, seconds: float) -> None:
    self.requests.labels(endpoint, str(status)).inc()
    self.latency.labels(endpoint).observe(seconds)

  def render(self) -> bytes:
    return generate_latest(self.registry)
