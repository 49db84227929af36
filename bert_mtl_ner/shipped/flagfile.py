"""The flagfile a shipped model's card names, checked line by line against
the flags its run was trained with (``flags.json``), so the card's training
command is the one that made the weights."""

from typing import Dict, List

from bert_mtl_ner.errors import UsageError


def check(path: str, run_flags: Dict) -> List[str]:
  """The ``--name=value`` lines of ``path``, each checked against the run's
  flags (``flags.json``).

  Raises:
    UsageError: a flag the run does not have or whose value differs, named
      with its line.
  """
  lines = []
  with open(path, encoding="utf-8") as stream:
    for number, line in enumerate(stream, 1):
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      name, _, value = line.lstrip("-").partition("=")
      if name not in run_flags:
        raise UsageError(f"{path}:{number}: --{name} is not a flag of the "
                         "run")
      recorded = run_flags[name]
      same = (str(recorded).lower() == value.lower()
              if isinstance(recorded, bool) else
              float(recorded) == float(value)
              if isinstance(recorded, (int, float)) else
              [str(v) for v in recorded] == [v for v in value.split(",") if v]
              if isinstance(recorded, (list, tuple)) else
              str(recorded) == value)
      if not same:
        raise UsageError(f"{path}:{number}: --{name}={value}, but the run "
                         f"was trained with {recorded!r}")
      lines.append(line)
  return lines
