"""Bulk tagging on Apache Beam (``tag_corpus``) on the DirectRunner with two
worker processes: every line tagged once, with ``predict``'s spans, the model
loaded once per worker, and bad lines in the dead letters."""

import json
import random
import re

import pytest

from conftest import assert_same_entities
from conftest import run_app
from bert_mtl_ner import bulk
from bert_mtl_ner.data import registry

pytestmark = pytest.mark.xdist_group("bulk")


@pytest.fixture(scope="module")
def export_dir(toy_corpus, tmp_path_factory):
  folder = tmp_path_factory.mktemp("bulk")
  run_app("train", "--model=bilstm_crf", f"--train_file={toy_corpus}/train.txt",
          f"--dev_file={toy_corpus}/dev.txt", "--epochs=2",
          "--embedding_dim=16", "--lstm_units=16", "--progress=false",
          f"--model_dir={folder / 'model'}")
  run_app("export", f"--model_dir={folder / 'model'}",
          f"--export_dir={folder / 'export'}")
  return folder / "export"


def random_unicode(rng, length):
  """Characters from every plane but surrogates, without line breaks."""
  chars = []
  while len(chars) < length:
    code = rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0x4e00, 0x9fff),
                       rng.randrange(0xa0, 0xd7ff), rng.randrange(0xe000, 0x10ffff),
                       rng.randrange(0, 0x20)])
    if chr(code) != "\n":
      chars.append(chr(code))
  return "".join(chars)


def read_shards(prefix):
  rows = []
  for path in sorted(prefix.parent.glob(prefix.name + "-0*.jsonl")):
    rows += [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
  return rows


def test_tag_corpus_matches_predict_line_by_line(export_dir, data_dir,
                                                 tmp_path):
  rng = random.Random(7)
  texts = ["".join(s.chars) for s in registry.read_split("msra", "test",
                                                         data_dir)][:300]
  texts += ["", "北" * 20000] + [random_unicode(rng, rng.randrange(1, 300))
                                  for _ in range(20)]
  rng.shuffle(texts)
  corpus = tmp_path / "in"
  corpus.mkdir()
  (corpus / "docs.txt").write_bytes(("\n".join(texts) + "\n").encode("utf-8"))
  jsonl = [json.dumps({"id": i, "body": t}, ensure_ascii=False)
           for i, t in enumerate(texts[:30])]
  jsonl[3] = '{"id": 3, "body": "unterminated'
  jsonl[5] = json.dumps({"id": 5, "text": "no body field"})
  jsonl[7] = json.dumps({"id": 7, "body": "长" * 30001})
  (corpus / "records.jsonl").write_text("\n".join(jsonl) + "\n",
                                        encoding="utf-8")
  (corpus / "broken.txt").write_bytes("好的\n".encode() + b"\xff\xfe bad\n")
  out = tmp_path / "out" / "tagged"
  result = run_app("tag_corpus", f"--saved_model={export_dir}",
                   f"--input={corpus}/*", f"--output={out}",
                   "--text_field=body", "--max_chars=30000",
                   "--direct_num_workers=2",
                   "--direct_running_mode=multi_processing")
  assert "4 dead-letter record(s)" in result.stdout
  assert "local_job_service" not in result.stderr  # Beam's chatter is quiet
  # Once per worker process that tagged (two at most), not once per bundle.
  assert re.search(r"the model loaded [12] time\(s\)", result.stdout)
  rows = read_shards(out)
  keys = [(r["file"].rsplit("/", 1)[1], r["line"]) for r in rows]
  assert len(keys) == len(set(keys))  # nothing duplicated
  expected = ([("docs.txt", i + 1) for i in range(len(texts))] +
              [("records.jsonl", i + 1) for i in range(30) if i not in (3, 5, 7)]
              + [("broken.txt", 1)])
  assert sorted(keys) == sorted(expected)  # nothing lost
  predicted = run_app("predict", f"--saved_model={export_dir}",
                      f"--input={corpus / 'docs.txt'}").stdout.splitlines()
  by_line = {r["line"]: r for r in rows if r["file"].endswith("docs.txt")}
  assert [by_line[i + 1]["text"] for i in range(len(texts))] == texts
  assert_same_entities(  # an untrained toy model's scores may round to 0
      [by_line[i + 1]["entities"] for i in range(len(texts))],
      [json.loads(l)["entities"] for l in predicted], zero_scores=True)
  assert any(by_line[i + 1]["entities"] for i in range(len(texts)))
  records = {r["line"]: r["text"] for r in rows
             if r["file"].endswith("records.jsonl")}
  assert records[1] == texts[0] and records[30] == texts[29]

  dead = []
  for path in out.parent.glob("tagged-errors-*.jsonl"):
    dead += [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]
  reasons = {(d["file"].rsplit("/", 1)[1], d["line"]): d["reason"] for d in dead}
  assert set(reasons) == {("records.jsonl", 4), ("records.jsonl", 6),
                          ("records.jsonl", 8), ("broken.txt", 2)}
  assert reasons[("records.jsonl", 4)].startswith("not valid JSON")
  assert '"body"' in reasons[("records.jsonl", 6)]
  assert "over --max_chars=30000" in reasons[("records.jsonl", 8)]
  assert "invalid UTF-8" in reasons[("broken.txt", 2)]


def test_bad_arguments_answer_in_one_line(tmp_path):
  result = run_app("tag_corpus", f"--saved_model={tmp_path}",
                   f"--input={tmp_path}/none-*.txt", f"--output={tmp_path}/o",
                   check=False)
  assert result.returncode == 2 and "matches no file" in result.stderr
  assert "Traceback" not in result.stderr


def test_parse_line_routes_each_problem():
  parse = bulk.ParseLine("auto", "text", 5)
  first = lambda raw, path="a.jsonl": list(parse.process((path, 9, raw)))[0]
  assert first('{"text": "张三"}'.encode()) == ({"file": "a.jsonl", "line": 9},
                                               "张三")
  assert first("张三来了".encode(), "a.txt")[1] == "张三来了"
  for raw, reason in ((b"[1]", 'no "text" field'),
                      (b'{"text": 3}', "not a string"),
                      ('{"text": "长长长长长长"}'.encode(), "over --max_chars=5")):
    letter = first(raw).value
    assert reason in letter["reason"] and letter["line"] == 9
