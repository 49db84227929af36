"""The ready models that install with the package, and ``--model=NAME``.

Each shipped model is a model directory (``run_dir``) under this package,
written by ``python -m bert_mtl_ner.ship`` from a training run: its
configuration, labels and vocabulary, its weights in float16
(``weights.npz``), the temperature fitted on dev (``calibration.json``), the
measurements of its card (``summary.json``), the card rendered from them
(``MODEL.md``), and ``SHA256SUMS``, the sha256 of every other file. The
commands that take a model directory (``predict``, ``evaluate``, ``serve``,
``select``, ``calibrate``, ``export``) also take ``--model=NAME``: ``path``
checks the files against their sums before the directory is used.
"""

import os
from typing import Dict, List, Optional

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import sha256_file

ROOT = os.path.dirname(os.path.abspath(__file__))
SUMS = "SHA256SUMS"
WEIGHTS = "weights.npz"


def names(root: str = ROOT) -> List[str]:
  """The shipped models' names (folders of ``root`` holding ``SHA256SUMS``)."""
  if not os.path.isdir(root):
    return []
  return sorted(name for name in os.listdir(root)
                if os.path.isfile(os.path.join(root, name, SUMS)))


def read_sums(model_path: str) -> Dict[str, str]:
  """``{file name: sha256}`` of ``model_path/SHA256SUMS`` (``sha256sum``'s
  format: digest, two spaces, name)."""
  sums = {}
  path = os.path.join(model_path, SUMS)
  with open(path, encoding="utf-8") as stream:
    for number, line in enumerate(stream, 1):
      if not line.strip():
        continue
      digest, _, name = line.rstrip("\n").partition("  ")
      if len(digest) != 64 or not name:
        raise UsageError(f"{path}:{number}: not 'sha256  file': {line!r}")
      sums[name] = digest
  return sums


def write_sums(model_path: str) -> Dict[str, str]:
  """Writes ``SHA256SUMS`` over every other file of ``model_path``."""
  sums = {name: sha256_file(os.path.join(model_path, name))
          for name in sorted(os.listdir(model_path))
          if name != SUMS and os.path.isfile(os.path.join(model_path, name))}
  tmp = os.path.join(model_path, SUMS + ".tmp")
  with open(tmp, "w", encoding="utf-8") as stream:
    stream.writelines(f"{digest}  {name}\n" for name, digest in sums.items())
  os.replace(tmp, os.path.join(model_path, SUMS))
  return sums


def verify(model_path: str) -> None:
  """Checks every file of ``SHA256SUMS``.

  Raises:
    UsageError: one line naming the first file that is missing or whose
      sha256 differs.
  """
  for name, digest in read_sums(model_path).items():
    path = os.path.join(model_path, name)
    if not os.path.isfile(path):
      raise UsageError(f"shipped model file {path} is missing; reinstall "
                       "bert_mtl_ner")
    actual = sha256_file(path)
    if actual != digest:
      raise UsageError(f"shipped model file {path} has sha256 {actual}, not "
                       f"the recorded {digest}; reinstall bert_mtl_ner")


def path(name: str, root: str = ROOT) -> str:
  """The directory of the shipped model ``name``, its files checked.

  Raises:
    UsageError: an unknown name (the line lists the shipped ones), or a file
      that fails its sha256.
  """
  known = names(root)
  if name not in known:
    raise UsageError(f"--model={name}: no shipped model of that name; "
                     f"shipped: {', '.join(known) or 'none'}")
  model_path = os.path.join(root, name)
  verify(model_path)
  return model_path


def define_flag(flags, what: str = "--model_dir") -> None:
  """Defines ``--model``: a shipped model, instead of ``what``."""
  flags.DEFINE_string("model", None, "A shipped model by name ("
                      f"{', '.join(names()) or 'none installed'}), instead "
                      f"of {what}.")


def model_dir(model_dir_flag: Optional[str], model_flag: Optional[str],
              saved_model: Optional[str] = None,
              takes_saved_model: bool = False) -> Optional[str]:
  """The model directory that ``--model_dir`` or ``--model`` names.

  Args:
    model_dir_flag: ``--model_dir``.
    model_flag: ``--model`` (a shipped model's name).
    saved_model: ``--saved_model``, of a command that also takes one.
    takes_saved_model: the command takes ``--saved_model`` too.

  Returns:
    The directory, or None when ``--saved_model`` names the model.

  Raises:
    UsageError: not exactly one of the flags.
  """
  if model_dir_flag and model_flag:
    raise UsageError("give --model_dir or --model, not both")
  if bool(model_dir_flag or model_flag) == bool(saved_model):
    shipped = f"a shipped model: {', '.join(names()) or 'none'}"
    raise UsageError(
        f"give exactly one of --model ({shipped}), --model_dir and "
        "--saved_model" if takes_saved_model else
        "give --model_dir=DIR (a model directory written by train) or "
        f"--model=NAME ({shipped})")
  return path(model_flag) if model_flag else model_dir_flag
