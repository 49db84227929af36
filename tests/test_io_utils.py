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


SHELL_HELPER = os.path.join(os.path.dirname(__file__), "..", "scripts",
                            "write_atomically.sh")


def _write_atomically(path, command, umask="022"):
  """Starts run_experiments.sh's ``write_atomically PATH sh -c COMMAND``."""
  script = (f'set -euo pipefail; umask {umask}; source "$0"; '
            'write_atomically "$1" sh -c "$2"')
  return subprocess.Popen(["bash", "-c", script, SHELL_HELPER, str(path),
                           command], stderr=subprocess.PIPE, text=True)


def test_shell_writes_sharing_a_results_folder_do_not_take_each_others_file(
    tmp_path):
  """Two grids started together in one results folder each write
  data_stats.json; with one fixed temporary name the slower one's mv failed."""
  path = tmp_path / "data_stats.json"
  first = _write_atomically(path, "echo first; sleep 1; echo first")
  second = _write_atomically(path, "echo second; sleep 1.5; echo second")
  assert [p.wait(timeout=60) for p in (first, second)] == [0, 0], \
      first.stderr.read() + second.stderr.read()
  assert path.read_text() == "second\nsecond\n"
  assert os.listdir(tmp_path) == ["data_stats.json"]


def test_a_failed_shell_write_keeps_the_previous_file(tmp_path):
  path = tmp_path / "overlap.json"
  path.write_text("old\n")
  process = _write_atomically(path, "echo partial; exit 3")
  assert process.wait(timeout=60) == 3
  assert path.read_text() == "old\n"
  assert os.listdir(tmp_path) == ["overlap.json"]


def test_save_figure_writes_the_format_its_name_asks_for_and_no_leftovers(
    tmp_path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  figure = plt.figure()
  plt.plot([0, 1], [1, 0])
  io_utils.save_figure(figure, str(tmp_path / "curve.png"))
  assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert os.listdir(tmp_path) == ["curve.png"]


def test_a_failed_figure_save_keeps_the_previous_file_and_closes_it(tmp_path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  path = tmp_path / "reliability.png"
  path.write_bytes(b"old figure")
  figure = plt.figure()

  def fail(unused_path):
    raise OSError("disk full")

  figure.savefig = fail
  with pytest.raises(OSError, match="disk full"):
    io_utils.save_figure(figure, str(path))
  assert path.read_bytes() == b"old figure"
  assert os.listdir(tmp_path) == ["reliability.png"]
  assert not plt.fignum_exists(figure.number)


def _mode(path):
  return os.stat(path).st_mode & 0o777


def test_atomic_writes_get_the_mode_a_plain_open_would_give(tmp_path):
  """mkstemp's files are private (0600): a report or record renamed into place
  as it is could not be read by the other users of a shared machine."""
  old = os.umask(0o022)
  try:
    fresh = tmp_path / "REPORT.md"
    io_utils.atomic_write_text(str(fresh), "report\n")
    assert _mode(fresh) == 0o644
    kept = tmp_path / "summary.json"
    kept.write_text("{}")
    os.chmod(kept, 0o640)
    io_utils.atomic_write_text(str(kept), "{}\n")
    assert _mode(kept) == 0o640  # a replaced file keeps its mode
    folder = io_utils.staging_dir(str(tmp_path / "export"))
    assert _mode(folder) == 0o755
    io_utils.replace_dir(folder, str(tmp_path / "export"))
    assert _mode(tmp_path / "export") == 0o755
  finally:
    os.umask(old)


def test_shell_writes_get_the_mode_a_plain_redirection_would_give(tmp_path):
  """mktemp's files are private (0600): data_stats.json and overlap.json were
  unreadable to the other users of a shared results folder."""
  fresh = tmp_path / "data_stats.json"
  assert _write_atomically(fresh, "echo {}").wait(timeout=60) == 0
  assert _mode(fresh) == 0o644
  strict = tmp_path / "overlap.json"
  assert _write_atomically(strict, "echo {}", umask="027").wait(timeout=60) == 0
  assert _mode(strict) == 0o640
  os.chmod(fresh, 0o664)
  assert _write_atomically(fresh, "echo new").wait(timeout=60) == 0
  assert _mode(fresh) == 0o664  # a replaced file keeps its mode
  assert fresh.read_text() == "new\n"
