"""Shared entry-point plumbing for the absl apps: one-line errors, exit codes."""

import sys
from typing import Callable, List

from absl import app
from absl import flags
from absl import logging

from bert_mtl_ner.errors import BertMtlNerError

EXIT_USER_ERROR = 2


def run(main: Callable[[List[str]], None], pass_unknown: bool = False
        ) -> None:
  """Runs an absl ``main``; project errors print one line and exit non-zero.

  The line is ``error: <message>`` on stderr. With ``--verbosity=1`` (or more)
  the traceback is printed too.

  Args:
    main: the app's main.
    pass_unknown: flags that are not the app's reach ``main`` in its ``argv``
      (for an engine with options of its own, such as Beam's); otherwise they
      are an error.
  """

  def guarded(argv: List[str]) -> None:
    if len(argv) > 1 and not pass_unknown:
      print(f"error: unexpected arguments {argv[1:]}; every option is a "
            "--flag", file=sys.stderr)
      sys.exit(EXIT_USER_ERROR)
    try:
      main(argv)
    except BertMtlNerError as err:
      if flags.FLAGS.verbosity >= 1:
        logging.exception("details")
      print(f"error: {err}", file=sys.stderr)
      sys.exit(EXIT_USER_ERROR)

  if pass_unknown:
    app.run(guarded, flags_parser=lambda argv: flags.FLAGS(argv,
                                                           known_only=True))
  else:
    app.run(guarded)


def split_list(value: str) -> List[str]:
  """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
  return [part.strip() for part in (value or "").split(",") if part.strip()]

