r"""Serves a model over HTTP: TF Serving's REST API, a simple NER API, a page.

  python -m bert_mtl_ner.serve --saved_model=EXPORT [--port=8501] [--model_name=ner]
  python -m bert_mtl_ner.serve --model_dir=DIR      # serves its export graph in memory
  python -m bert_mtl_ner.serve --model=msra         # a shipped model, likewise

  curl -s localhost:8501/v1/ner -d '{"texts": ["张三在北京大学工作。"]}'
  curl -s localhost:8501/v1/models/ner:predict -d '{"instances": ["张三在北京大学工作。"]}'

Starlette on uvicorn (see ``bert_mtl_ner.server``). Concurrent requests are
batched (``--max_batch``, ``--max_wait_ms``) in a bounded queue
(``--max_queue``: beyond it, 503 with Retry-After); bad or oversized requests
get a 4xx with a one-line JSON error. ``GET /healthz`` is ready once the model
has loaded and answered a warm-up call; ``GET /metrics`` is Prometheus text.
SIGTERM (or Ctrl-C) lets requests in flight finish, then exits 0.
"""

import os
import signal

from absl import flags
from absl import logging

from bert_mtl_ner import cli
from bert_mtl_ner import shipped
from bert_mtl_ner.errors import UsageError

flags.DEFINE_string("saved_model", None, "A SavedModel written by export.")
flags.DEFINE_string("model_dir", None, "A model directory written by train "
                    "(exported to a temporary folder first).")
shipped.define_flag(flags, "--model_dir or --saved_model")
flags.DEFINE_string("host", "127.0.0.1", "Address to listen on.")
flags.DEFINE_integer("port", 8501, "Port (TF Serving's REST port by default).")
flags.DEFINE_string("model_name", "ner", "The name in /v1/models/<name>.")
flags.DEFINE_integer("max_batch", 32, "Most texts in one model call.")
flags.DEFINE_float("max_wait_ms", 5.0, "How long a text waits for others to "
                   "share its model call.")
flags.DEFINE_integer("max_queue", 1024, "Most texts waiting; more get 503.")
flags.DEFINE_float("call_cost", 400.0, "A model call's fixed cost in padded "
                   "characters: a batch is cut into calls of similar length "
                   "where that saves more padding (0: one call a batch).")
flags.DEFINE_integer("model_threads", 2, "Model calls that may run at once "
                     "(threads; on a CPU two small calls use the cores better "
                     "than one).")
flags.DEFINE_integer("max_body_bytes", 1 << 20, "Largest request body.")
flags.DEFINE_integer("max_texts", 64, "Most texts per request.")
flags.DEFINE_integer("max_chars", 10000, "Longest text, in characters.")
flags.DEFINE_integer("graceful_seconds", 30, "On SIGTERM, how long requests "
                     "in flight may take to finish.")
flags.DEFINE_bool("access_log", False, "Log every request.")
FLAGS = flags.FLAGS


def _module_loader(model_dir: str):
  """Builds the serving module of ``model_dir`` and serves its ``serve_text``
  graph in memory (in the load thread): the graph an export would save,
  without writing and reloading it, which took most of a minute."""
  def load():
    from bert_mtl_ner import serving  # pylint: disable=g-import-not-at-top
    return serving.ModuleTagger(serving.module_from_model_dir(model_dir))
  return load


def main(argv) -> None:
  del argv
  import uvicorn  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.server import api  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.server import app as app_lib  # pylint: disable=g-import-not-at-top
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model,
                                FLAGS.saved_model, takes_saved_model=True)
  if FLAGS.saved_model:
    if not os.path.isdir(FLAGS.saved_model):
      raise UsageError(f"--saved_model={FLAGS.saved_model}: no such directory")
    load = app_lib.saved_model_loader(FLAGS.saved_model)
  else:
    if not os.path.isdir(model_dir):
      raise UsageError(f"--model_dir={model_dir}: no such directory")
    load = _module_loader(model_dir)
  config = app_lib.ServerConfig(
      model_name=FLAGS.model_name,
      limits=api.Limits(FLAGS.max_body_bytes, FLAGS.max_texts,
                        FLAGS.max_chars),
      max_batch=FLAGS.max_batch, max_wait_ms=FLAGS.max_wait_ms,
      max_queue=FLAGS.max_queue, call_cost=FLAGS.call_cost,
      model_threads=FLAGS.model_threads)
  server = app_lib.NerServer(load, config)
  # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal
  # again with the handler it found: with these, that ends in exit status 0.
  for number in (signal.SIGTERM, signal.SIGINT):
    signal.signal(number, lambda *_: None)
  logging.info("serving %s on http://%s:%d", FLAGS.model_name, FLAGS.host,
               FLAGS.port)
  uvicorn.Server(uvicorn.Config(
      server.app, host=FLAGS.host, port=FLAGS.port, log_level="warning",
      access_log=FLAGS.access_log,
      timeout_graceful_shutdown=FLAGS.graceful_seconds)).run()


if __name__ == "__main__":
  cli.run(main)
