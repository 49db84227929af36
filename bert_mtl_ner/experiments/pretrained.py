"""The grid's own pretrained encoder: pretrained once, cached, reused.

A preset may name a ``bert_mtl_ner.pretrain`` flagfile (the cpu preset names
``configs/pretrain_cpu.cfg``). Before the grid trains anything, ``ensure``
returns the directory of that encoder, running the pretraining first when the
cache does not hold it yet. The cache folder is named after the flagfile and a
hash of its flags (comments and blank lines aside), so an edited flagfile gets
a new encoder and an unchanged one is never pretrained twice. An interrupted
pretraining resumes from its checkpoints in the same folder.
"""

import hashlib
import json
import os
import pathlib
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

from absl import logging

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.pretraining.config import HF_FILES

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SUMMARY = "pretraining.json"


def resolve_flagfile(flagfile: str) -> str:
  """``flagfile`` as given, else relative to the repository (``configs/...``).

  Raises:
    UsageError: no such file.
  """
  for candidate in (flagfile, os.path.join(REPO_ROOT, flagfile)):
    if os.path.isfile(candidate):
      return os.path.abspath(candidate)
  raise UsageError(f"pretraining flagfile {flagfile}: no such file")


def flag_lines(flagfile: str) -> List[str]:
  """The flags of a flagfile, without comments and blank lines."""
  with open(flagfile, encoding="utf-8") as stream:
    lines = [line.strip() for line in stream]
  return [line for line in lines if line and not line.startswith("#")]


def cache_path(cache_dir: str, flagfile: str) -> str:
  """``CACHE_DIR/<flagfile stem>-<hash of its flags>``."""
  digest = hashlib.sha256("\n".join(flag_lines(flagfile)).encode("utf-8"))
  stem = os.path.splitext(os.path.basename(flagfile))[0]
  return os.path.join(cache_dir, f"{stem}-{digest.hexdigest()[:10]}")


def is_complete(folder: str) -> bool:
  """The export finished: its files exist and ``pretraining.json`` (written
  last) too."""
  return all(os.path.exists(os.path.join(folder, name))
             for name in HF_FILES + (SUMMARY,))


def summary(folder: str) -> Dict:
  """``pretraining.json`` with the batch shape from ``run.json``."""
  with open(os.path.join(folder, SUMMARY), encoding="utf-8") as stream:
    result = json.load(stream)
  with open(os.path.join(folder, "run.json"), encoding="utf-8") as stream:
    flags = json.load(stream)["flags"]
  result.update({k: flags[k] for k in ("batch_size", "max_seq_len")})
  return result


def find(flagfile: str, cache_dirs: str) -> str:
  """The folder of ``flagfile``'s encoder: the first complete one among the
  comma-separated ``cache_dirs``, else where the last would hold it."""
  flagfile = resolve_flagfile(flagfile)
  folders = [os.path.abspath(cache_path(d, flagfile))
             for d in cache_dirs.split(",") if d]
  return next((f for f in folders if is_complete(f)), folders[-1])


def ensure(flagfile: str, cache_dir: str,
           data_dir: Optional[str] = None) -> Tuple[str, bool]:
  """The cached encoder of ``flagfile``, pretrained first if it is missing.

  Args:
    flagfile: a ``bert_mtl_ner.pretrain`` flagfile (its relative paths are read
      from the repository root, like the configs that ship with it).
    cache_dir: where encoders are cached; several, comma-separated, are looked
      up in order (a shared read-only copy first, say) and a missing encoder is
      pretrained into the last.
    data_dir: overrides the flagfile's ``--data_dir``.

  Returns:
    The absolute path of a directory that ``--bert_model`` loads, and whether
    it was reused from the cache (False: pretrained just now).

  Raises:
    UsageError: the flagfile is missing, or pretraining failed (its output is
      on the console; running again resumes it).
  """
  flagfile = resolve_flagfile(flagfile)
  folder = find(flagfile, cache_dir)
  if is_complete(folder):
    logging.info("pretrained encoder: reusing %s", folder)
    return folder, True
  command = [sys.executable, "-m", "bert_mtl_ner.pretrain",
             f"--flagfile={flagfile}", f"--output_dir={folder}",
             "--progress=false"]
  if data_dir:
    command.append(f"--data_dir={os.path.abspath(data_dir)}")
  print(f"pretraining the grid's encoder into {folder} "
        f"({os.path.relpath(flagfile, REPO_ROOT)}); it is cached for later "
        "runs", flush=True)
  result = subprocess.run(command, cwd=REPO_ROOT, check=False)
  if result.returncode != 0 or not is_complete(folder):
    raise UsageError(f"pretraining with {flagfile} failed (exit status "
                     f"{result.returncode}); run the same command again to "
                     "resume it, or give --pretrain= to use random init")
  return folder, False
