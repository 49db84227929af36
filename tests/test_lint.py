"""Static checks over the source tree: no unused imports or variables, no
undefined names, no placeholder-less f-strings (pyflakes)."""

import pathlib

from pyflakes import api
from pyflakes import reporter as reporter_lib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKED = ("bert_mtl_ner", "bench", "scripts", "tests")


class _Collect(reporter_lib.Reporter):
  """Keeps every message instead of printing it."""

  def __init__(self):
    super().__init__(None, None)
    self.messages = []

  def unexpectedError(self, filename, message):
    self.messages.append(f"{filename}: {message}")

  def syntaxError(self, filename, message, lineno, offset, text):
    self.messages.append(f"{filename}:{lineno}: {message}")

  def flake(self, message):
    self.messages.append(str(message))


def test_pyflakes_finds_nothing():
  reporter = _Collect()
  paths = [str(ROOT / name) for name in CHECKED]
  api.checkRecursive(paths, reporter)
  assert not reporter.messages, "\n".join(reporter.messages)


def test_the_check_reports_an_unused_import(tmp_path):
  (tmp_path / "bad.py").write_text("import os\n", encoding="utf-8")
  reporter = _Collect()
  api.checkRecursive([str(tmp_path)], reporter)
  assert len(reporter.messages) == 1 and "'os' imported but unused" in (
      reporter.messages[0])
