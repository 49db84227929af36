r"""Serving benchmark: a bounded load test of ``bert_mtl_ner.serve`` on loopback.

One model (untrained, at the chosen BERT size: speed does not depend on the
weights) is exported once. Side by side in one run:

* offline: the SavedModel on batches of MSRA test sentences sorted by length
  (``bench/inference.py``'s variant (a));
* the server (a child process, ``--max_batch`` and ``--max_wait_ms`` as given)
  under 1, 4, 16 and 64 concurrent clients, each level sending the same fixed
  number of ``POST /v1/ner`` requests of MSRA test sentences (one sentence a
  request); every request has a timeout, so the test ends by itself.

It prints, per level: requests/s, characters/s, p50/p95/p99 latency, the mean
texts per model call (from the server's ``/metrics``) and errors; then the
goals: no errors at any level; at 16 clients at least 2x the requests/s of one
client, and at least 0.7x the offline sentences/s.

  python bench/serving.py [--quick] [--output=docs/bench/serving.md]
"""

import asyncio
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from absl import app
from absl import flags
import tensorflow as tf

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import serving  # pylint: disable=g-bad-import-order
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.server import batching

flags.DEFINE_bool("quick", False, "Fewer requests (a few minutes).")
flags.DEFINE_integer("requests", 1000, "Requests per concurrency level.")
flags.DEFINE_list("clients", ["1", "4", "16", "64"], "Concurrency levels.")
flags.DEFINE_integer("max_batch", 64, "The server's --max_batch.")
flags.DEFINE_float("max_wait_ms", 5.0, "The server's --max_wait_ms.")
flags.DEFINE_float("call_cost", 400.0, "The server's --call_cost.")
flags.DEFINE_integer("model_threads", 2, "The server's --model_threads.")
flags.DEFINE_integer("batch_size", 64, "Offline sentences per call.")
flags.DEFINE_float("timeout", 60.0, "Seconds before a request counts as an "
                   "error.")
common.define_model_flags(flags)
FLAGS = flags.FLAGS


def _free_port() -> int:
  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


def offline_rate(export_dir: str, texts) -> float:
  """Sentences/s of the SavedModel on length-sorted batches (best of 2)."""
  serve = tf.saved_model.load(export_dir).signatures["serving_default"]
  ordered = sorted(texts, key=len)
  batches = [tf.constant([serving.to_utf8(t) for t in ordered[i:i + size]])
             for size in (FLAGS.batch_size,)
             for i in range(0, len(ordered), size)]
  serve(text=batches[0])
  seconds = common.median_seconds(lambda: [serve(text=b) for b in batches], 2,
                                  0)
  return len(texts) / seconds


def ceiling_rate(export_dir: str, texts, clients: int) -> float:
  """Sentences/s of the SavedModel, in this process, on the calls a server
  with ``clients`` requests in flight can make at best: consecutive groups of
  ``clients`` sentences in arrival order, cut by length as the server cuts
  them (``--call_cost``), ``--model_threads`` calls at once. No HTTP: the
  most any server could reach at that concurrency (best of 2)."""
  tagger = serving.SavedModelTagger(export_dir)
  calls = [[chunk[i] for i in group]
           for chunk in (texts[i:i + clients]
                         for i in range(0, len(texts), clients))
           for group in (batching.length_groups([len(t) for t in chunk],
                                                FLAGS.call_cost)
                         if FLAGS.call_cost > 0 else [range(len(chunk))])]
  tagger.outputs(calls[0])
  with concurrent.futures.ThreadPoolExecutor(FLAGS.model_threads) as pool:
    seconds = common.median_seconds(
        lambda: list(pool.map(tagger.outputs, calls)), 2, 0)
  return len(texts) / seconds


def _get(url: str):
  """(status, text) of a GET."""
  try:
    with urllib.request.urlopen(url, timeout=10) as answer:
      return answer.status, answer.read().decode()
  except urllib.error.HTTPError as err:
    return err.code, err.read().decode()


def _batch_stats(text: str):
  """(sum, count) of the server's batch-size histogram."""
  total = re.search(r"^bert_mtl_ner_batch_size_sum ([0-9.e+]+)$", text, re.M)
  count = re.search(r"^bert_mtl_ner_batch_size_count ([0-9.e+]+)$", text, re.M)
  return float(total.group(1)), float(count.group(1))


class Connection:
  """One keep-alive HTTP/1.1 connection, written by hand on asyncio streams:
  a load generator much lighter than a general client, so that on a small
  machine the clients take little of the cores the server needs."""

  def __init__(self, port: int):
    self.port = port
    self.reader = self.writer = None

  async def post(self, path: str, body: bytes):
    """(status, body)."""
    if self.writer is None:
      self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                               self.port)
    self.writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                      f"application/json\r\nContent-Length: {len(body)}"
                      "\r\n\r\n".encode() + body)
    await self.writer.drain()
    head = await self.reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    return status, await self.reader.readexactly(length)

  async def close(self):
    if self.writer is not None:
      self.writer.close()


async def load(port: int, texts, clients: int, requests: int):
  """Sends ``requests`` requests with ``clients`` at a time; returns
  (seconds, latencies, errors, characters)."""
  queue = [texts[i % len(texts)] for i in range(requests)]
  latencies, errors, chars = [], [], 0

  async def worker():
    nonlocal chars
    connection = Connection(port)
    try:
      while queue:
        text = queue.pop()
        body = json.dumps({"texts": [text]}, ensure_ascii=False).encode()
        start = time.perf_counter()
        try:
          status, answer = await asyncio.wait_for(
              connection.post("/v1/ner", body), FLAGS.timeout)
          if status != 200:
            errors.append(status)
            continue
          json.loads(answer)["results"][0]["entities"]  # pylint: disable=expression-not-assigned
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ValueError, KeyError) as err:
          errors.append(type(err).__name__)
          await connection.close()
          connection = Connection(port)
          continue
        latencies.append(time.perf_counter() - start)
        chars += len(text)
    finally:
      await connection.close()

  start = time.perf_counter()
  await asyncio.gather(*(worker() for _ in range(clients)))
  return time.perf_counter() - start, latencies, errors, chars


def percentile(values, q):
  ordered = sorted(values)
  return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main(argv) -> None:
  del argv
  requests = 200 if FLAGS.quick else FLAGS.requests
  sentences = list(registry.read_split("msra", "test", FLAGS.data_dir))
  texts = ["".join(s.chars) for s in sentences][:max(requests, 1000)]
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  labels = tags_lib.label_list(["LOC", "ORG", "PER"])
  model = build_model(ModelConfig(
      model="bert_bilstm_crf", labels=labels, vocab_size=tokenizer.vocab_size,
      lstm_units=128, bert_config=common.bert_config(
          tokenizer.vocab_size, FLAGS.bert_layers, FLAGS.bert_hidden)))
  export_dir = os.path.join(tempfile.mkdtemp(), "export")
  serving.export(serving.ServingModule(model, tokenizer, labels, 150),
                 export_dir, labels)
  offline = offline_rate(export_dir, texts[:requests])
  print(f"offline (a): {offline:.1f} sentences/s", flush=True)
  ceiling = ceiling_rate(export_dir, texts[:requests], 16)
  print(f"model alone, 16 in flight: {ceiling:.1f} sentences/s", flush=True)
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  server = subprocess.Popen(
      [sys.executable, "-m", "bert_mtl_ner.serve",
       f"--saved_model={export_dir}", f"--port={port}",
       f"--max_batch={FLAGS.max_batch}", f"--max_wait_ms={FLAGS.max_wait_ms}",
       f"--call_cost={FLAGS.call_cost}",
       f"--model_threads={FLAGS.model_threads}",
       "--max_queue=4096"])
  rows = []
  try:
    deadline = time.time() + 300
    while True:
      try:
        if _get(url + "/healthz")[0] == 200:
          break
      except OSError:
        pass
      if time.time() > deadline or server.poll() is not None:
        raise RuntimeError("the server did not become ready")
      time.sleep(0.5)
    for clients in (int(c) for c in FLAGS.clients):
      before = _batch_stats(_get(url + "/metrics")[1])
      seconds, latencies, errors, chars = asyncio.run(
          load(port, texts, clients, requests))
      after = _batch_stats(_get(url + "/metrics")[1])
      calls = after[1] - before[1]
      rows.append({
          "clients": clients, "rps": len(latencies) / seconds,
          "cps": chars / seconds,
          "p50": percentile(latencies, 50) if latencies else float("nan"),
          "p95": percentile(latencies, 95) if latencies else float("nan"),
          "p99": percentile(latencies, 99) if latencies else float("nan"),
          "batch": (after[0] - before[0]) / calls if calls else 0.0,
          "errors": len(errors)})
      print(f"{clients} clients: {rows[-1]['rps']:.1f} requests/s, "
            f"{len(errors)} errors", flush=True)
  finally:
    server.terminate()
    server.wait(timeout=60)
  lines = common.header(
      f"Serving: bert_mtl_ner.serve, bert_bilstm_crf with BERT "
      f"{FLAGS.bert_layers} layers hidden {FLAGS.bert_hidden}, {requests} "
      "requests of one MSRA test sentence per level")
  lines += ["| clients | requests/s | characters/s | p50 ms | p95 ms | p99 ms "
            "| texts per model call | errors |", "|---:|---:|---:|---:|---:|"
            "---:|---:|---:|"]
  for r in rows:
    lines.append(f"| {r['clients']} | {r['rps']:.1f} | {r['cps']:.0f} | "
                 f"{1000 * r['p50']:.1f} | {1000 * r['p95']:.1f} | "
                 f"{1000 * r['p99']:.1f} | {r['batch']:.1f} | {r['errors']} |")
  by_clients = {r["clients"]: r for r in rows}
  one, sixteen = by_clients.get(1), by_clients.get(16)
  goals = [("no errors at any level", "0",
            str(sum(r["errors"] for r in rows)),
            all(r["errors"] == 0 for r in rows))]
  if one and sixteen:
    goals.append(("16 clients vs 1 client, requests/s", ">= 2.00x",
                  f"{sixteen['rps'] / one['rps']:.2f}x",
                  sixteen["rps"] >= 2 * one["rps"]))
    goals.append(("16 clients vs offline bucketed SavedModel (a), "
                  "sentences/s", ">= 0.70x",
                  f"{sixteen['rps'] / offline:.2f}x "
                  f"({sixteen['rps']:.0f} vs {offline:.0f})",
                  sixteen["rps"] >= 0.7 * offline))
  lines += ["", "| goal | target | measured | met |", "|---|---|---|---|"]
  lines += [f"| {g} | {t} | {m} | {'yes' if ok else 'no'} |"
            for g, t, m, ok in goals]
  if sixteen:
    lines += ["", f"The model alone, called in this process on the calls that "
              "16 requests in flight allow at best (groups of 16 sentences in "
              "arrival order, cut by length as the server cuts them, "
              f"{FLAGS.model_threads} at once), tags {ceiling:.0f} sentences/s: "
              f"{ceiling / offline:.2f}x the offline rate. That bounds the last "
              "goal at this concurrency on this machine; the server reaches "
              f"{sixteen['rps'] / ceiling:.2f}x of it."]
  lines += ["", f"Server: `--max_batch={FLAGS.max_batch} "
            f"--max_wait_ms={FLAGS.max_wait_ms:g} "
            f"--call_cost={FLAGS.call_cost:g} "
            f"--model_threads={FLAGS.model_threads}`; the clients (one "
            "keep-alive connection each, a minimal HTTP/1.1 client on asyncio) "
            "run in this process, on the same cores as the server. Peak RSS of this process: "
            f"{common.peak_rss_mb():.0f} MiB."]
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
