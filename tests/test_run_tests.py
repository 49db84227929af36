"""run_tests.sh spreads the tests over the cores with pytest-xdist
(``--dist=loadgroup``); the tests that share a module fixture (a model trained
once) carry an ``xdist_group`` mark. This pins that the mark still keeps a
group in one worker: on pytest 9.2 it silently did not (pytest-xdist#1386),
and every worker trained the shared models again."""

import os
import subprocess
import sys

GROUPED = '''
import os
import pytest

pytestmark = pytest.mark.xdist_group("shared_model")


@pytest.fixture(scope="module")
def model():
  return os.getpid()


@pytest.mark.parametrize("i", range(4))
def test_grouped(model, i):
  with open(os.environ["PIDS_FILE"], "a") as stream:
    stream.write(f"grouped {os.getpid()} {model}\\n")
'''

LOOSE = '''
import os
import pytest


@pytest.mark.parametrize("i", range(4))
def test_loose(i):
  with open(os.environ["PIDS_FILE"], "a") as stream:
    stream.write(f"loose {os.getpid()}\\n")
'''


def test_a_group_and_its_module_fixture_stay_in_one_worker(tmp_path):
  (tmp_path / "test_grouped.py").write_text(GROUPED)
  (tmp_path / "test_loose.py").write_text(LOOSE)
  pids = tmp_path / "pids.txt"
  result = subprocess.run(
      [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist=loadgroup",
       "-p", "no:cacheprovider", str(tmp_path)], capture_output=True,
      text=True, timeout=300, cwd=tmp_path,
      env=dict({k: v for k, v in os.environ.items()
                if not k.startswith("PYTEST_")}, PIDS_FILE=str(pids)))
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  rows = [line.split() for line in pids.read_text().splitlines()]
  grouped = [r for r in rows if r[0] == "grouped"]
  assert len(grouped) == 4 and len(rows) == 8
  # One worker ran the whole group, with the fixture it set up once.
  assert len({(r[1], r[2]) for r in grouped}) == 1
  assert grouped[0][1] == grouped[0][2]
