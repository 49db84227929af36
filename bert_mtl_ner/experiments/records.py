"""Committed records of finished runs, so a grid accumulates across machines.

A preset with a ``record_dir`` (the full preset: ``docs/results/full``) keeps
each finished run as ``RECORD_DIR/runs/DATASET/VARIANT/seedN.json``: the scores,
the best epoch, the wall time, the resolved flags, the code version, the sha256
of the encoder, and per-sentence entity counts of every scoring (for the paired
bootstrap of ``significance``). The file is small and free of this machine's
paths, so it is committed; the next session, perhaps on a fresh machine, skips
the run.

What makes a record match a planned run is its *identity*: the flags that
change the result (paths, progress bars and batch sizes of prediction left out)
and the encoder's sha256. The code version is provenance only: later work on
the code does not make finished runs stale. A record whose identity differs
from the planned run is *stale*; the grid refuses it with the differences
listed, or re-runs it with ``--rerun_stale``.
"""

import base64
import importlib.metadata
import json
import os
import platform
import subprocess
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import atomic_write_text, sha256_file
from bert_mtl_ner.training.names import USES_BERT

# Flags that do not change what a run learns or scores.
NOT_IDENTITY = ("model_dir", "data_dir", "progress", "log_every",
                "eval_batch_size", "bert_model", "jit_compile",
                "distribution_strategy", "tpu", "worker_timeout")
ENCODER_FILE = "tf_model.h5"


def record_path(record_dir: str, dataset: str, variant: str, seed: int) -> str:
  return os.path.join(record_dir, "runs", dataset, variant, f"seed{seed}.json")


def encoder_sha256(bert_model: str) -> Optional[str]:
  """sha256 of the encoder weights in a ``--bert_model`` directory (None for
  ``tiny`` or a hub name)."""
  path = os.path.join(bert_model, ENCODER_FILE)
  return sha256_file(path) if os.path.isfile(path) else None


def identity(flags: Dict, encoder: Optional[str]) -> Dict:
  """What a run's result depends on: its flags without ``NOT_IDENTITY``, and
  the encoder's sha256 for models that have one."""
  result = {k: v for k, v in sorted(flags.items()) if k not in NOT_IDENTITY}
  result["encoder_sha256"] = encoder if flags["model"] in USES_BERT else None
  return result


def stopped_by(record: Dict) -> Optional[str]:
  """``early_stopping`` or ``cap``: what ended a run. Records made before runs
  said so are judged by the rule the trainer applies: a run stopped early
  when it ran fewer epochs than its cap, or when its best epoch lies at least
  ``patience`` epochs before its last. None without the numbers to tell."""
  best = record.get("best") or {}
  if best.get("stopped_by"):
    return best["stopped_by"]
  flags = record.get("identity") or record.get("run") or {}
  cap, patience = flags.get("epochs"), flags.get("patience") or 0
  ran, epoch = best.get("epochs_run"), best.get("epoch")
  if cap is None or ran is None or epoch is None:
    return None
  if ran < cap or (patience and ran - epoch >= patience):
    return "early_stopping"
  return "cap"


# Flags added after records were first made, with the value every earlier run
# had: a record without the key matches a plan with that value.
ADDED_LATER = {"aux_exclude": [], "lr_schedule": "linear", "char_dropout": 0.0}


def differences(recorded: Dict, planned: Dict) -> List[str]:
  """``name: recorded -> planned`` for every field that differs."""
  keys = sorted(set(recorded) | set(planned))
  value = lambda flags, k: flags.get(k, ADDED_LATER.get(k))
  return [f"{k}: {value(recorded, k)!r} -> {value(planned, k)!r}"
          for k in keys if value(recorded, k) != value(planned, k)]


def code_version(repo: str) -> str:
  """``git describe`` of ``repo``, or ``unknown``; ``-dirty`` when a tracked
  file outside ``docs/`` differs from it (records and reports the grid writes
  there while it runs are no change of code)."""
  git = lambda *args: subprocess.run(
      ["git", *args], cwd=repo, capture_output=True, text=True,
      check=True).stdout.strip()
  try:
    version = git("describe", "--always", "--abbrev=12")
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)docs")
  except (OSError, subprocess.CalledProcessError):
    return "unknown"
  return f"{version}-dirty" if changed else version


def hardware(gpus: bool = True) -> str:
  """This machine, Python and TensorFlow in one line; with ``gpus`` also the
  GPUs TensorFlow sees (which imports it), else its installed version only."""
  if gpus:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    devices = f"{len(tf.config.list_physical_devices('GPU'))} GPU(s)"
    version = tf.__version__
  else:
    devices = "GPUs not looked for"
    version = importlib.metadata.version("tensorflow")
  return (f"{platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPU cores, {devices}; Python "
          f"{platform.python_version()}, TensorFlow {version}"
          ).replace("  ", " ")


def machine(sharing: int) -> Dict:
  """What a run records of the machine that trains it: ``hardware``, the
  grid's worker processes sharing it (``sharing``) and TensorFlow's threads
  per op in this one (``TF_NUM_INTRAOP_THREADS``, as the grid's workers set
  it, else one per core)."""
  return {"hardware": hardware(), "workers": sharing,
          "threads": int(os.environ.get("TF_NUM_INTRAOP_THREADS") or 0)
                     or os.cpu_count()}


def machines(results: Sequence[Dict]) -> str:
  """Where ``results`` were trained, from their records: each machine with
  its number of runs, and how many records do not say."""
  seen: Dict[str, int] = {}
  unsaid = 0
  for result in results:
    said = result.get("machine")
    if not said:
      unsaid += 1
      continue
    key = (f"{said['hardware']}, {said['workers']} worker process(es) of "
           f"{said['threads']} thread(s)")
    seen[key] = seen.get(key, 0) + 1
  parts = [f"{key} ({count} run{'s' if count > 1 else ''})"
           for key, count in sorted(seen.items(), key=lambda kv: -kv[1])]
  if unsaid:
    parts.append(f"the records of {unsaid} run{'s' if unsaid > 1 else ''} "
                 "do not say (made before records carried it)")
  return "; ".join(parts) or "no runs"


def pack_counts(counts: np.ndarray) -> Dict:
  """Per-sentence counts ``[sentences, types, 3]`` as compact JSON."""
  counts = np.asarray(counts, np.uint16)
  return {"shape": list(counts.shape), "uint16_zlib_base64": base64.b64encode(
      zlib.compress(counts.tobytes(), 9)).decode("ascii")}


def unpack_counts(packed: Dict) -> np.ndarray:
  raw = zlib.decompress(base64.b64decode(packed["uint16_zlib_base64"]))
  return np.frombuffer(raw, np.uint16).reshape(packed["shape"]).astype(np.int64)


def load(path: str) -> Optional[Dict]:
  """The record at ``path``, or None.

  Raises:
    UsageError: the file is not a valid record (named).
  """
  if not os.path.exists(path):
    return None
  try:
    with open(path, encoding="utf-8") as stream:
      record = json.load(stream)
  except (OSError, ValueError) as err:
    raise UsageError(f"{path}: not a readable run record ({err}); remove it "
                     "to run that cell again") from err
  for key in ("cell", "seed", "scores", "identity"):
    if key not in record:
      raise UsageError(f"{path}: run record without {key!r}; remove it to run "
                       "that cell again")
  return record


def lookup(record_dir: str, dataset: str, variant: str, seed: int,
           expected: Dict) -> Tuple[str, Optional[Dict], List[str]]:
  """The committed record of a planned run, checked against its identity.

  Returns:
    (record path, the record or None, the differences of its identity from
    ``expected``: empty when it matches).
  """
  path = record_path(record_dir, dataset, variant, seed)
  recorded = load(path)
  if recorded is None:
    return path, None, []
  return path, recorded, differences(recorded["identity"], expected)


def load_all(record_dir: str) -> List[Dict]:
  """Every record under ``record_dir/runs``, in path order."""
  root = os.path.join(record_dir, "runs")
  paths = []
  for folder, _, files in os.walk(root):
    paths += [os.path.join(folder, f) for f in files if f.endswith(".json")]
  return [load(p) for p in sorted(paths)]


def write(path: str, record: Dict) -> None:
  atomic_write_text(path, json.dumps(record, indent=1, ensure_ascii=False,
                                     sort_keys=True) + "\n")


def stale_message(stale: Sequence[tuple]) -> str:
  """The refusal for (path, differences) pairs of stale records."""
  lines = [f"{len(stale)} committed run record(s) were made with other flags "
           "or another encoder than this grid would use:"]
  for path, diffs in stale:
    lines.append(f"  {path}: " + "; ".join(diffs))
  lines.append("Give --rerun_stale to train them again (their records are "
               "replaced), or restore the settings they were made with.")
  return "\n".join(lines)
