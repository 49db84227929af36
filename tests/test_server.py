"""The HTTP service: batching and request parsing alone, then a real server
process on loopback (both APIs against predict, limits, health, metrics, a
client that goes away, a 10 MB body, hostile Unicode, SIGTERM), and its page in
a real headless browser."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bert_mtl_ner.server import api
from bert_mtl_ner.server.batching import DynamicBatcher, QueueFull, length_groups
from conftest import assert_same_entities
from conftest import run_app

# Under pytest-xdist (run_tests.sh) the tests that share the served model run
# in one worker, so it is trained and exported once.
pytestmark = pytest.mark.xdist_group("served_toy_model")

SENTENCES = ["张三在北京的新华社工作。", "李四昨天去了上海。", "据人民银行报道，王小明到达广州市。",
             "", "北京" * 400]


# ---- batching ---------------------------------------------------------------


def _run_batcher(coroutine_factory, **kwargs):
  calls = []

  def run(texts):
    calls.append(list(texts))
    time.sleep(0.01)
    if "boom" in texts:
      raise RuntimeError("model failed")
    return [t.upper() for t in texts]

  async def main():
    batcher = DynamicBatcher(run, **kwargs)
    batcher.start()
    try:
      return await coroutine_factory(batcher)
    finally:
      await batcher.close()

  return asyncio.run(main()), calls


def test_concurrent_requests_share_model_calls():
  async def clients(batcher):
    return await asyncio.gather(*(batcher.submit([f"t{i}", f"u{i}"])
                                  for i in range(8)))
  results, calls = _run_batcher(clients, max_batch=8, max_wait_ms=50)
  assert results == [[f"T{i}", f"U{i}"] for i in range(8)]
  assert len(calls) == 2 and all(len(c) == 8 for c in calls)


def test_a_batch_takes_the_oldest_text_and_those_nearest_in_length():
  async def clients(batcher):
    return await batcher.submit(["a" * 50, "b", "c" * 49, "d" * 2, "e" * 51,
                                 "f"])
  _, calls = _run_batcher(clients, max_batch=3, max_wait_ms=50)
  assert sorted(map(len, calls[0])) == [49, 50, 51]
  assert sorted(map(len, calls[1])) == [1, 1, 2]


def test_batches_are_cut_into_calls_of_similar_length_when_it_pays():
  lengths = [10, 140, 12, 60, 11, 130, 58]
  assert length_groups(lengths, 1e9) == [[0, 4, 2, 6, 3, 5, 1]]
  assert sorted(map(sorted, length_groups(lengths, 100))) == [
      [0, 2, 4], [1, 5], [3, 6]]

  def cost(groups, call_cost):
    return sum(call_cost + len(g) * max(lengths[i] for i in g) for g in groups)
  for call_cost in (1, 50, 200, 1000):
    groups = length_groups(lengths, call_cost)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert cost(groups, call_cost) <= cost([list(range(7))], call_cost)

  async def clients(batcher):
    return await batcher.submit(["a" * 100, "b", "c" * 99, "d"])
  results, calls = _run_batcher(clients, max_batch=4, max_wait_ms=50,
                                call_cost=20)
  assert results == ["A" * 100, "B", "C" * 99, "D"]
  assert sorted(map(len, calls[0])) == [1, 1] and len(calls) == 2


def test_model_threads_bound_the_calls_running_at_once():
  def overlap(threads):
    lock, running, most = threading.Lock(), [0], [0]

    def run(texts):
      with lock:
        running[0] += 1
        most[0] = max(most[0], running[0])
      time.sleep(0.05)
      with lock:
        running[0] -= 1
      return [t.upper() for t in texts]

    async def main():
      # Lengths far apart: the batch is cut into three calls.
      batcher = DynamicBatcher(run, max_batch=6, max_wait_ms=20,
                               call_cost=1, model_threads=threads)
      batcher.start()
      try:
        return await batcher.submit(["a", "b" * 60, "c" * 150, "d"])
      finally:
        await batcher.close()
    assert asyncio.run(main()) == ["A", "B" * 60, "C" * 150, "D"]
    return most[0]
  assert overlap(1) == 1
  assert overlap(3) == 3


def test_a_full_queue_refuses_and_a_failed_call_fails_only_its_texts():
  async def clients(batcher):
    with pytest.raises(QueueFull):
      await batcher.submit(["x"] * 5)
    failed = batcher.submit(["boom"])
    fine = batcher.submit(["ok"])
    return await asyncio.gather(failed, fine, return_exceptions=True)
  (failed, fine), _ = _run_batcher(clients, max_batch=1, max_wait_ms=1,
                                   max_queue=4)
  assert isinstance(failed, RuntimeError) and fine == ["OK"]


# ---- request parsing ----------------------------------------------------------


def test_request_formats_and_refusals():
  limits = api.Limits(max_body_bytes=100, max_texts=2, max_chars=5)
  assert api.parse_ner({"texts": ["一", "二"]}, limits) == ["一", "二"]
  b64 = {"b64": "5byg5LiJ"}  # 张三
  assert api.parse_tf_serving({"instances": ["一", {"text": b64}]},
                              limits) == (["一", "张三"], False)
  assert api.parse_tf_serving({"inputs": {"text": ["一"]}}, limits) == (
      ["一"], True)
  for payload, status in (([], 400), ({"texts": "一"}, 400),
                          ({"texts": [1]}, 400), ({"texts": ["一"] * 3}, 413),
                          ({"texts": ["一" * 6]}, 413)):
    with pytest.raises(api.RequestError) as err:
      api.parse_ner(payload, limits)
    assert err.value.status == status, payload
  for payload in ({"instances": [], "inputs": []}, {"instances": [[1]]},
                  {"instances": ["一"], "signature_name": "other"},
                  {"instances": [{"b64": "%%"}]}, {"inputs": {"ids": []}}):
    with pytest.raises(api.RequestError) as err:
      api.parse_tf_serving(payload, limits)
    assert err.value.status == 400, payload
  with pytest.raises(api.RequestError) as err:
    api.parse_body(b'{"texts": ["\xff"]}')
  assert "UTF-8" in err.value.message
  response = api.tf_serving_response([
      {"tags": ["B-PER", "I-PER"], "tag_ids": [5, 6], "entity_start": [0],
       "entity_end": [2], "entity_type": ["PER"], "entity_count": 1},
      {"tags": ["O"], "tag_ids": [0], "entity_start": [], "entity_end": [],
       "entity_type": [], "entity_count": 0}], columnar=False)
  assert response["predictions"][1] == {
      "tags": ["O", ""], "tag_ids": [0, -1], "entity_start": [-1],
      "entity_end": [-1], "entity_type": [""], "entity_count": 0}


# ---- a real server ------------------------------------------------------------


def _free_port():
  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


def _call(url, payload=None, data=None, timeout=60):
  """(status, parsed JSON or text, headers)."""
  body = data if data is not None else (
      None if payload is None else json.dumps(payload).encode())
  request = urllib.request.Request(url, data=body, method="POST" if
                                   body is not None else "GET")
  try:
    with urllib.request.urlopen(request, timeout=timeout) as answer:
      status, raw, headers = answer.status, answer.read(), answer.headers
  except urllib.error.HTTPError as err:
    status, raw, headers = err.code, err.read(), err.headers
  text = raw.decode("utf-8")
  try:
    return status, json.loads(text), headers
  except ValueError:
    return status, text, headers


class Server:
  """``python -m bert_mtl_ner.serve`` on a free loopback port."""

  def __init__(self, *args):
    self.port = _free_port()
    self.url = f"http://127.0.0.1:{self.port}"
    body = None
    self.process = subprocess.Popen(
        [sys.executable, "-m", "bert_mtl_ner.serve", f"--port={self.port}",
         *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
      assert self.process.poll() is None, self.process.stderr.read()[-3000:]
      try:
        status, body, _ = _call(self.url + "/healthz", timeout=5)
        if status == 200:
          return
        if status == 500:  # the model failed to load: no use waiting
          break
      except OSError:
        pass
      time.sleep(0.5)
    self.process.kill()  # never left running after the test
    raise AssertionError(f"the server did not become ready: {body}")

  def stop(self):
    if self.process.poll() is None:
      self.process.send_signal(signal.SIGTERM)
      return self.process.wait(timeout=60)
    return self.process.returncode


@pytest.fixture(scope="module")
def export_dir(toy_corpus, tmp_path_factory):
  folder = tmp_path_factory.mktemp("served")
  model_dir, export = folder / "model", folder / "export"
  run_app("train", "--model=bilstm_crf", f"--train_file={toy_corpus}/train.txt",
          f"--dev_file={toy_corpus}/dev.txt", f"--model_dir={model_dir}",
          "--embedding_dim=32", "--lstm_units=32", "--epochs=12",
          "--batch_size=16", "--learning_rate=1e-2", "--patience=0",
          "--progress=false")
  run_app("export", f"--model_dir={model_dir}", f"--export_dir={export}")
  return str(export)


@pytest.fixture(scope="module")
def server(export_dir):
  running = Server(f"--saved_model={export_dir}", "--max_texts=8",
                   "--max_chars=1000", "--max_body_bytes=100000")
  yield running
  assert running.stop() == 0


def _predict(export_dir, texts):
  result = run_app("predict", f"--saved_model={export_dir}",
                   stdin="".join(t + "\n" for t in texts))
  return [json.loads(l)["entities"] for l in result.stdout.splitlines()]


def _row_entities(text, row):
  """``predict``'s entities of one row of TF Serving's answer."""
  count = row["entity_count"]
  return [{"start": s, "end": e, "type": t, "text": text[s:e], "score": p}
          for s, e, t, p in zip(row["entity_start"][:count],
                                row["entity_end"][:count],
                                row["entity_type"][:count],
                                row["entity_score"][:count])]


def test_both_apis_give_predicts_spans(server, export_dir):
  texts = SENTENCES[:4] + ["北京" * 300]
  expected = _predict(export_dir, texts)
  assert any(expected), "the toy model should find entities"
  status, body, _ = _call(server.url + "/v1/ner", {"texts": texts})
  assert status == 200
  assert_same_entities([r["entities"] for r in body["results"]], expected)
  status, body, _ = _call(server.url + "/v1/models/ner:predict",
                          {"instances": texts})
  assert status == 200
  assert_same_entities([_row_entities(text, row) for text, row in
                        zip(texts, body["predictions"])], expected)
  for row in body["predictions"]:
    assert len(row["tags"]) == max(len(t) for t in texts)
  status, body, _ = _call(server.url + "/v1/models/ner:predict",
                          {"inputs": {"text": texts[:2]}})
  assert status == 200 and body["outputs"]["entity_count"] == [
      len(e) for e in expected[:2]]
  status, body, _ = _call(server.url + "/v1/models/ner")
  assert body["model_version_status"][0]["state"] == "AVAILABLE"


def _still_up(server):
  status, body, _ = _call(server.url + "/v1/ner", {"texts": [SENTENCES[0]]})
  assert status == 200 and body["results"][0]["entities"]


def test_bad_requests_get_a_4xx_and_the_server_stays_up(server):
  cases = [
      ("/v1/ner", b"{not json", 400), ("/v1/ner", b'{"texts": ["\xff\xfe"]}',
                                        400),
      ("/v1/ner", b'{"texts": "one"}', 400), ("/v1/ner", b'{"texts": [3]}', 400),
      ("/v1/ner", json.dumps({"texts": ["一"] * 9}).encode(), 413),
      ("/v1/ner", json.dumps({"texts": ["一" * 1001]}).encode(), 413),
      ("/v1/ner", b" " * 100001, 413),
      ("/v1/models/other:predict", '{"instances": ["一"]}'.encode(), 404),
      ("/v1/models/ner:classify", '{"instances": ["一"]}'.encode(), 404),
      ("/v1/models/ner:predict", b'{"instances": [{"b64": "!"}]}', 400),
  ]
  for path, data, status in cases:
    got, body, _ = _call(server.url + path, data=data)
    assert got == status, (path, data[:40], body)
    assert set(body) == {"error"} and "\n" not in body["error"]
  _still_up(server)


def test_health_and_metrics(server):
  status, body, _ = _call(server.url + "/healthz")
  assert (status, body) == (200, {"status": "ready"})
  _call(server.url + "/v1/ner", {"texts": SENTENCES[:3]})
  status, text, headers = _call(server.url + "/metrics")
  assert status == 200 and headers["Content-Type"].startswith("text/plain")
  for name in ('bert_mtl_ner_requests_total{endpoint="ner",status="200"}',
               "bert_mtl_ner_request_seconds_bucket",
               "bert_mtl_ner_batch_size_bucket", "bert_mtl_ner_queue_depth"):
    assert name in text, name


def test_a_client_that_goes_away_and_a_10_mb_body(server):
  # Declares a body, sends half of it and disconnects.
  with socket.create_connection(("127.0.0.1", server.port)) as sock:
    sock.sendall(b"POST /v1/ner HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: 5000\r\n\r\n"
                 b'{"texts": ["' + "北".encode() * 100)
  # Sends a whole request and disconnects before the answer.
  with socket.create_connection(("127.0.0.1", server.port)) as sock:
    body = json.dumps({"texts": SENTENCES[:3]}).encode()
    sock.sendall(b"POST /v1/ner HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 str(len(body)).encode() + b"\r\n\r\n" + body)
  status, body, _ = _call(server.url + "/v1/ner",
                          data=b'{"texts": ["' + b"a" * (10 << 20) + b'"]}')
  assert status == 413 and "bytes" in body["error"]
  _still_up(server)


hostile = st.lists(st.text(alphabet=st.one_of(st.sampled_from(
    ["\u0000", "\u200b", "\u202e", "\ufeff", "\t", "\r", "\n", "\u0301", "😀",
     "𠀀", "\U0010ffff", "\ud800", "Ａ", "张", "三", "北", "京", " "]),
    st.characters()), max_size=60), min_size=1, max_size=4)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile)
def test_hostile_text_gets_valid_spans(server, texts):
  status, body, _ = _call(server.url + "/v1/ner", {"texts": texts})
  assert status == 200, body
  for text, result in zip(texts, body["results"]):
    for e in result["entities"]:
      assert 0 <= e["start"] < e["end"] <= len(text)
      assert e["text"] == text[e["start"]:e["end"]]


def test_a_model_dir_served_in_memory_answers_like_its_export(export_dir):
  """``--model_dir`` serves the export's graph without writing it; SIGTERM
  lets the request in flight finish."""
  model_dir = os.path.join(os.path.dirname(export_dir), "model")
  running = Server(f"--model_dir={model_dir}", "--max_wait_ms=300")
  answers = []
  thread = threading.Thread(target=lambda: answers.append(_call(
      running.url + "/v1/ner", {"texts": SENTENCES[:2]})))
  thread.start()
  time.sleep(0.1)  # the request is in the batcher's wait
  assert running.stop() == 0
  thread.join(timeout=60)
  assert answers and answers[0][0] == 200
  assert answers[0][1]["results"][0]["entities"]
  assert_same_entities([r["entities"] for r in answers[0][1]["results"]],
                       _predict(export_dir, SENTENCES[:2]))


# ---- the page in a browser ----------------------------------------------------


def _browser():
  webdriver = pytest.importorskip("selenium.webdriver")
  chromium = shutil.which("chromium") or shutil.which("chromium-browser")
  driver = shutil.which("chromedriver")
  if not (chromium and driver):
    if os.environ.get("CI"):
      pytest.fail("CI needs Debian's chromium and chromium-driver (.ci/run "
                  "installs them)")
    pytest.skip("chromium and chromedriver are not installed")
  from selenium.webdriver.chrome.service import Service  # pylint: disable=g-import-not-at-top
  options = webdriver.ChromeOptions()
  options.binary_location = chromium
  for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1100,800"):
    options.add_argument(arg)
  return webdriver.Chrome(service=Service(driver), options=options)


def test_the_page_highlights_entities_in_a_browser(server, tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=g-import-not-at-top
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=g-import-not-at-top
  text = "张三在北京的新华社工作，李四昨天去了上海。"
  _, expected, _ = _call(server.url + "/v1/ner", {"texts": [text]})
  expected = expected["results"][0]["entities"]
  assert expected
  browser = _browser()
  try:
    browser.get(server.url + "/")
    WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#legend .legend-item"))
    assert "http" not in "".join(
        s.get_attribute("src") or "" for s in
        browser.find_elements(By.CSS_SELECTOR, "script, link, img"))
    browser.find_element(By.ID, "text").send_keys(text)
    browser.find_element(By.ID, "tag").click()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "result").get_attribute("data-done"))
    spans = browser.find_elements(By.CSS_SELECTOR, "#result .ent")
    shown = [{"start": int(s.get_attribute("data-start")),
              "end": int(s.get_attribute("data-end")),
              "type": s.get_attribute("data-type"),
              "text": s.find_element(By.CSS_SELECTOR, ".ent-text").text}
             for s in spans]
    assert shown == [{k: v for k, v in e.items() if k != "score"}
                     for e in expected]
    colours = {s.get_attribute("data-type"): s.value_of_css_property(
        "background-color") for s in spans}
    legend = {s.get_attribute("data-type"): s.value_of_css_property(
        "background-color") for s in browser.find_elements(
            By.CSS_SELECTOR, "#legend .legend-item")}
    assert all(legend[t] == c for t, c in colours.items())
    assert spans[0].get_attribute("title") == (
        f"{expected[0]['type']} [{expected[0]['start']}, "
        f"{expected[0]['end']}), score {expected[0]['score']:.3f}")
    assert browser.find_element(By.ID, "result").text.replace(
        "\n", "").startswith("张三")
    browser.save_screenshot(str(tmp_path / "page.png"))
  finally:
    browser.quit()
