"""Atomic writes: a failed or killed write leaves the previous file as it was."""

import os
import signal
import subprocess
import sys

import pytest

from bert_mtl_ner import io_utils


def test_failure_mid_write_keeps_the_previous_file(tmp_path):
  path = tmp_path / "REPORT.md"
  io_utils.atomic_write_text(str(path), "old report\n")
  with pytest.raises(RuntimeError):
    with io_utils.atomic_open(str(path)) as stream:
      stream.write("half of a new rep")
      raise RuntimeError("killed")
  assert path.read_text() == "old report\n"
  assert os.listdir(tmp_path) == ["REPORT.md"]  # no temporary file left


def test_sigkill_mid_write_keeps_the_previous_file(tmp_path):
  path = tmp_path / "summary.json"
  io_utils.atomic_write_text(str(path), "{}\n")
  writer = (
      "import sys, time\n"
      "from bert_mtl_ner import io_utils\n"
      "with io_utils.atomic_open(sys.argv[1]) as s:\n"
      "  s.write('x' * 100000); s.flush(); print('writing', flush=True)\n"
      "  time.sleep(60)\n")
  process = subprocess.Popen([sys.executable, "-c", writer, str(path)],
                             stdout=subprocess.PIPE, text=True)
  assert process.stdout.readline().strip() == "writing"
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert path.read_text() == "{}\n"


def test_write_creates_the_folder(tmp_path):
  path = tmp_path / "a" / "b.txt"
  io_utils.atomic_write_text(str(path), "中文\n")
  assert path.read_text(encoding="utf-8") == "中文\n"


def test_replace_dir_swaps_whole_folders(tmp_path):
  target, new = tmp_path / "export", tmp_path / ".export-new"
  target.mkdir()
  (target / "saved_model.pb").write_text("old")
  new.mkdir()
  (new / "saved_model.pb").write_text("new")
  io_utils.replace_dir(str(new), str(target))
  assert (target / "saved_model.pb").read_text() == "new"
  assert os.listdir(tmp_path) == ["export"]
  fresh = tmp_path / ".export-2"
  fresh.mkdir()
  io_utils.replace_dir(str(fresh), str(tmp_path / "other"))  # no target yet
  assert (tmp_path / "other").is_dir() and not fresh.exists()


def test_staging_folders_of_dead_processes_are_removed(tmp_path):
  target = str(tmp_path / "export")
  finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                            capture_output=True, text=True, check=True)
  dead = tmp_path / f".export.partial-{int(finished.stdout)}-abc"
  live = tmp_path / f".export.partial-{os.getpid()}-def"
  other = tmp_path / f".other.partial-{int(finished.stdout)}-ghi"
  for folder in (dead, live, other):
    folder.mkdir()
  new = io_utils.staging_dir(target)
  assert os.path.isdir(new) and os.path.basename(new).startswith(
      f".export.partial-{os.getpid()}-")
  assert not dead.exists()
  assert live.exists() and other.exists()
