"""Progress on stderr for long commands (tqdm): items done, rate, time left.

Shown only when stderr is a terminal and ``--progress`` is on, so logs, pipes
and tests get none of it.
"""

import sys
from typing import Iterable, Optional

from tqdm import tqdm


def define_flag(flags) -> None:
  """``--progress`` for an app that has no such flag yet."""
  flags.DEFINE_bool("progress", True, "Show progress on stderr (only when "
                    "stderr is a terminal).")


def shown(enabled: bool = True, stream=None) -> bool:
  stream = sys.stderr if stream is None else stream
  return bool(enabled) and hasattr(stream, "isatty") and stream.isatty()


def bar(total: Optional[int] = None, desc: str = "", unit: str = "sentences",
        enabled: bool = True, iterable: Optional[Iterable] = None) -> tqdm:
  """A tqdm bar on stderr, disabled unless ``shown(enabled)``."""
  return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
              disable=not shown(enabled), dynamic_ncols=True, leave=False)
