"""The data command as a user runs it: JSON on stdout, one-line errors."""

import functools
import json

import pytest

from conftest import run_app

# Errors are part of what these tests pin: the exit status is theirs to check.
run_data = functools.partial(run_app, "data", check=False)


def test_stats_of_user_files_as_json(write):
  pd = write("mine.txt", "张 B-PER\n三 I-PER\n\n去 O\n京 I-LOC\n")
  cl = write("mine.json", '{"text": "张三", "label": {"name": {"张三": [[0, 1]]}}}\n')
  result = run_data("--action=stats", f"--files={pd},{cl}", "--format=json")
  assert result.returncode == 0, result.stderr
  stats = json.loads(result.stdout)  # stdout holds the JSON object alone
  assert stats["files"][pd]["sentences"] == 2
  assert stats["files"][pd]["characters"] == 4
  assert stats["files"][pd]["entities"] == {"LOC": 1, "PER": 1}
  assert stats["files"][pd]["repaired_tags"] == 1
  assert stats["files"][cl]["entities"] == {"name": 1}
  assert "rewritten to B-" in result.stderr


@pytest.mark.parametrize("content,needle", [
    ("张 B-PER\n三 X-FOO\n", ":2: unknown tag 'X-FOO'"),
    ("张 B-PER\n三 I-PER extra\n", ":2: expected 'char<SPACE>tag'"),
    (b"\xe5\xbc\xa0 O\n\xff O\n", ":2: invalid UTF-8"),
])
def test_bad_file_gives_one_line_without_traceback(write, content, needle):
  path = write("bad.txt", content)
  result = run_data("--action=stats", f"--files={path}",
                    "--file_format=peoples_daily")
  assert result.returncode != 0
  assert "Traceback" not in result.stderr
  errors = [l for l in result.stderr.splitlines() if l.startswith("error: ")]
  assert len(errors) == 1
  assert errors[0].startswith(f"error: {path}") and needle in errors[0]
  assert result.stdout == ""


def test_verbosity_shows_the_traceback(write):
  path = write("bad.txt", "张 X-FOO\n")
  result = run_data("--action=stats", f"--files={path}", "--verbosity=1")
  assert result.returncode != 0 and "Traceback" in result.stderr


def test_unknown_dataset_and_stray_arguments(tmp_path):
  result = run_data("--action=stats", "--datasets=msra,weibo",
                    f"--data_dir={tmp_path}")
  assert result.returncode != 0
  assert "unknown dataset 'weibo'" in result.stderr
  assert "Traceback" not in result.stderr
  result = run_data("--action=stats", "stray")
  assert result.returncode != 0 and "unexpected arguments" in result.stderr


def test_missing_data_says_how_to_get_it(tmp_path):
  result = run_data("--action=stats", "--datasets=peoples_daily",
                    f"--data_dir={tmp_path}")
  assert result.returncode != 0
  assert "example.train: file not found" in result.stderr
  assert "--action=download" in result.stderr
  assert "Traceback" not in result.stderr


def test_data_stats_reads_annotation_exports(tmp_path):
  doccano = tmp_path / "d.jsonl"
  doccano.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
      {"text": "张三在北京。", "label": [[0, 2, "PER"], [3, 5, "LOC"]]},
      {"text": "李四。", "entities": [{"start_offset": 0, "end_offset": 2,
                                     "label": "PER"}]}]) + "\n",
                     encoding="utf-8")
  studio = tmp_path / "ls.json"
  studio.write_text(json.dumps([{"id": 1, "data": {"text": "王五去上海。"},
                                 "annotations": [{"result": [
                                     {"type": "labels", "value": {
                                         "start": 3, "end": 5,
                                         "labels": ["LOC"]}}]}]}],
                               ensure_ascii=False), encoding="utf-8")
  for path, fmt, sentences, entities in ((doccano, "doccano", 2, 3),
                                         (studio, "label_studio", 1, 1)):
    result = run_data("--action=stats", f"--files={path}",
                      f"--file_format={fmt}", "--format=json")
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads(result.stdout)
    (described,) = stats["files"].values()
    assert described["sentences"] == sentences and described["labeled"]
    assert sum(described["entities"].values()) == entities
  broken = tmp_path / "broken.jsonl"
  broken.write_text('{"text": "张三", "label": [[0, 5, "PER"]]}\n',
                    encoding="utf-8")
  result = run_data("--action=stats", f"--files={broken}",
                    "--file_format=doccano")
  assert result.returncode != 0
  last = result.stderr.strip().splitlines()[-1]
  assert "broken.jsonl" in last and "line 1" in last and "out of range" in last
