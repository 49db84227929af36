"""Console scripts: ``bert-mtl-ner COMMAND [--flags]`` and one
``bert-mtl-ner-COMMAND`` script per command, beside ``python -m
bert_mtl_ner.MODULE``.

Each runs the same module as its ``python -m`` form (``runpy``), so flags, help
and exit codes are the same.
"""

import runpy
import sys
from typing import Callable, List, Optional

# command -> module of bert_mtl_ner that implements it.
COMMANDS = {
    "train": "train", "evaluate": "evaluate", "predict": "predict",
    "export": "export", "serve": "serve", "experiments": "experiments",
    "data": "data", "calibrate": "calibrate", "select": "select",
    "active-learning": "active_learning",
    "pretrain": "pretrain", "import-bert": "import_bert",
    "tag-corpus": "tag_corpus", "diagram": "models", "ensemble": "ensemble",
}


def run_command(command: str, args: List[str]) -> None:
  """Runs ``bert_mtl_ner.<module of command>`` as ``__main__`` with ``args``."""
  sys.argv = [f"bert-mtl-ner {command}"] + list(args)
  runpy.run_module(f"bert_mtl_ner.{COMMANDS[command]}", run_name="__main__",
                   alter_sys=True)


def usage() -> str:
  return ("usage: bert-mtl-ner COMMAND [--flags]   (COMMAND --help for its "
          "flags)\ncommands: " + ", ".join(COMMANDS))


def main(argv: Optional[List[str]] = None) -> None:
  """``bert-mtl-ner COMMAND [--flags]``."""
  argv = sys.argv[1:] if argv is None else argv
  if not argv or argv[0] in ("-h", "--help", "help"):
    print(usage())
    sys.exit(0 if argv else 2)
  if argv[0] not in COMMANDS:
    print(f"error: unknown command {argv[0]!r}\n{usage()}", file=sys.stderr)
    sys.exit(2)
  run_command(argv[0], argv[1:])


def _script(command: str) -> Callable[[], None]:
  def entry() -> None:
    run_command(command, sys.argv[1:])
  entry.__name__ = command.replace("-", "_")
  entry.__doc__ = f"``bert-mtl-ner-{command}``: ``bert-mtl-ner {command}``."
  return entry


train = _script("train")
evaluate = _script("evaluate")
predict = _script("predict")
export = _script("export")
serve = _script("serve")
experiments = _script("experiments")
data = _script("data")
calibrate = _script("calibrate")
select = _script("select")
active_learning = _script("active-learning")
pretrain = _script("pretrain")
import_bert = _script("import-bert")
tag_corpus = _script("tag-corpus")
ensemble = _script("ensemble")

