"""Runs the grid in several worker processes that share one queue of runs.

On a small CPU the grid's models are too small to keep two cores busy in one
process (a BiLSTM step is a chain of tiny matrix products), so the cpu preset
runs two single-threaded workers side by side. Each worker walks the whole grid
and takes a run by creating its claim file with ``O_EXCL``: whichever worker is
free takes the next run, so long and short cells balance themselves. A finished
run has its ``result.json``; claims left by a killed grid are cleared when the
grid starts again.
"""

import errno
import glob
import os
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence

from bert_mtl_ner.errors import BertMtlNerError

CLAIM = ".claimed"


def claim(folder: str) -> bool:
  """True when this process now owns the run in ``folder`` (first come)."""
  os.makedirs(folder, exist_ok=True)
  try:
    os.close(os.open(os.path.join(folder, CLAIM),
                     os.O_CREAT | os.O_EXCL | os.O_WRONLY))
  except OSError as err:
    if err.errno == errno.EEXIST:
      return False
    raise
  return True


def clear_claims(results_dir: str) -> int:
  """Removes every claim under ``results_dir/runs``; returns how many."""
  paths = glob.glob(os.path.join(results_dir, "runs", "*", "*", "seed*", CLAIM))
  for path in paths:
    os.remove(path)
  return len(paths)


# How many workers share the machine, for what a worker's runs record.
WORKERS_ENV = "BERT_MTL_NER_GRID_WORKERS"


def worker_env(jobs: int, cores: int) -> dict:
  """The environment of one of ``jobs`` workers sharing ``cores`` cores."""
  env = dict(os.environ)
  env["TF_NUM_INTRAOP_THREADS"] = str(max(1, cores // jobs))
  env["TF_NUM_INTEROP_THREADS"] = "1"
  env[WORKERS_ENV] = str(jobs)
  return env


def run_workers(argv: Sequence[str], jobs: int,
                poll: Optional[Callable[[], None]] = None,
                every: float = 20.0) -> None:
  """Starts ``jobs`` copies of ``python -m bert_mtl_ner.experiments`` with
  ``argv`` plus ``--worker`` and waits for all of them, calling ``poll`` every
  ``every`` seconds meanwhile (the grid's progress).

  Raises:
    BertMtlNerError: when a worker fails (finished runs are kept; running the
      same command again resumes).
  """
  env = worker_env(jobs, os.cpu_count() or 1)
  command = [sys.executable, "-m", "bert_mtl_ner.experiments", *argv,
             "--worker", "--jobs=1"]
  processes: List[subprocess.Popen] = [
      subprocess.Popen(command, env=env) for _ in range(jobs)]
  while any(p.poll() is None for p in processes):
    if poll:
      poll()
    time.sleep(every if poll else 1.0)
  codes = [p.returncode for p in processes]
  failed = [i for i, code in enumerate(codes) if code != 0]
  if failed:
    raise BertMtlNerError(
        f"{len(failed)} of {jobs} grid workers failed (exit codes "
        f"{[codes[i] for i in failed]}); finished runs are kept, run the same "
        "command again to resume")
