"""Atomic file output: a reader never sees a half-written file.

Everything the project writes (split files, vocabularies, JSON reports) goes to a
temporary name in the destination folder first and is renamed over the target only
once it is complete, so an interrupted write leaves the previous file intact.
"""

import contextlib
import os
import tempfile
from typing import Iterator, TextIO


@contextlib.contextmanager
def atomic_open(path: str, encoding: str = "utf-8") -> Iterator[TextIO]:
  """Opens ``path`` for writing text; the file appears only when the block succeeds.

  Args:
    path: destination file. Its folder is created when missing.
    encoding: text encoding.

  Yields:
    A writable text stream on a temporary file beside ``path``.
  """
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                             suffix=".tmp", dir=folder)
  try:
    with os.fdopen(fd, "w", encoding=encoding, newline="\n") as stream:
      yield stream
      stream.flush()
      os.fsync(stream.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


def atomic_write_text(path: str, text: str, encoding: str = "utf-8") -> None:
  """Writes ``text`` to ``path`` atomically (see ``atomic_open``)."""
  with atomic_open(path, encoding=encoding) as stream:
    stream.write(text)
