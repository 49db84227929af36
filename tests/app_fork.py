"""Runs ``python -m bert_mtl_ner.MODULE ARGS`` for the tests without paying
TensorFlow's import each time.

Every command of ours imports TensorFlow (about 3.5 s of CPU here) and the
BERT ones transformers' TensorFlow classes (2.5 s more); the suite runs
commands some sixty times. A ``multiprocessing`` fork server imports
``PRELOAD`` once per pytest worker, before anything runs a TensorFlow op (so
no runtime threads exist to fork), and each command runs in a fresh fork of
it: a process of its own, with its own exit code, standard streams, working
directory and environment, as a fresh interpreter would have them.

What differs from ``python -m``: the modules of ``PRELOAD`` were imported
before the command's flags were read. ``bert_mtl_ner`` sets its log levels and
warning filters on import (``bert_mtl_ner.quiet``) from the command line, so a
command given ``--verbosity`` or ``-v`` runs in a fresh interpreter
(``needs_fresh_interpreter``), and so does every command when
``BERT_MTL_NER_TEST_FORK=0``. Environment variables are those of the test
process when the command starts; TensorFlow reads the ones that choose
devices, threads and the cluster when its runtime starts, after the fork.
"""

import atexit
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from typing import Optional, Sequence

# bert_mtl_ner first: its import sets TensorFlow's log levels before TF loads.
PRELOAD = ("bert_mtl_ner", "tensorflow", "tf_keras", "tensorflow_addons",
           "transformers.models.bert.modeling_tf_bert", __name__)
ENV = "BERT_MTL_NER_TEST_FORK"

_context = None


def enabled() -> bool:
  return os.environ.get(ENV, "1") != "0"


def needs_fresh_interpreter(args: Sequence[str]) -> bool:
  """Flags read before absl parses them (``bert_mtl_ner.quiet``)."""
  return any(a == "-v" or a.startswith("--verbosity") or a.startswith("-v=")
             for a in args)


def command(module: str, args: Sequence[str]) -> list:
  """``python -m bert_mtl_ner.MODULE ARGS`` as an argument list."""
  return [sys.executable, "-m", f"bert_mtl_ner.{module}", *args]


def _fork_context():
  global _context
  if _context is None:
    _context = multiprocessing.get_context("forkserver")
    _context.set_forkserver_preload(list(PRELOAD))
  return _context


def _main(module: str, args: Sequence[str], cwd: str, env: dict,
          streams: Sequence[str]) -> None:
  """The forked process: ``python -m bert_mtl_ner.MODULE ARGS``."""
  os.chdir(cwd)
  os.environ.update(env)
  for fd, (path, mode) in enumerate(zip(streams, (os.O_RDONLY, os.O_WRONLY,
                                                  os.O_WRONLY))):
    opened = os.open(path, mode)
    os.dup2(opened, fd)
    os.close(opened)
  # multiprocessing gave the child /dev/null as stdin; the interpreter's own
  # standard input, on file descriptor 0 again.
  sys.stdin = open(0, closefd=False)  # pylint: disable=consider-using-with
  sys.path.insert(0, cwd)  # as ``python -m`` does
  sys.argv[:] = [module, *args]  # runpy puts the module's path first
  code = 0
  try:
    runpy.run_module(f"bert_mtl_ner.{module}", run_name="__main__",
                     alter_sys=True)
  except SystemExit as stop:
    code = stop.code
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    code = 1
  finally:
    atexit._run_exitfuncs()  # pylint: disable=protected-access
    sys.stdout.flush()
    sys.stderr.flush()
  sys.exit(code)  # multiprocessing turns it into the exit code


def run(module: str, args: Sequence[str], stdin: Optional[str],
        timeout: float) -> subprocess.CompletedProcess:
  """Like ``subprocess.run([python, -m, bert_mtl_ner.MODULE, *ARGS],
  capture_output=True, text=True, input=stdin, timeout=timeout)``."""
  with tempfile.TemporaryDirectory(prefix="app_fork") as folder:
    streams = [os.path.join(folder, name) for name in ("in", "out", "err")]
    with open(streams[0], "w", encoding="utf-8") as stream:
      stream.write(stdin or "")
    for path in streams[1:]:
      open(path, "wb").close()  # pylint: disable=consider-using-with
    process = _fork_context().Process(
        target=_main, args=(module, list(args), os.getcwd(),
                            dict(os.environ), streams))
    process.start()
    process.join(timeout)
    if process.exitcode is None:
      process.kill()
      process.join()
      raise subprocess.TimeoutExpired(command(module, args), timeout)
    outputs = []
    for path in streams[1:]:
      with open(path, encoding="utf-8") as stream:
        outputs.append(stream.read())
  return subprocess.CompletedProcess(command(module, args), process.exitcode,
                                     *outputs)
