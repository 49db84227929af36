"""Atomic file output: a reader never sees a half-written file.

Everything the project writes (split files, vocabularies, JSON reports) goes to a
temporary name in the destination folder first and is renamed over the target only
once it is complete, so an interrupted write leaves the previous file intact.
"""

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import tempfile
from typing import Any, Iterator, TextIO

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _umask() -> int:
  """The process's umask (Linux reports it; elsewhere set and restored)."""
  try:
    with open("/proc/self/status", encoding="ascii") as stream:
      for line in stream:
        if line.startswith("Umask:"):
          return int(line.split()[1], 8)
  except OSError:
    pass
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


def give_default_mode(path: str, like: str = "") -> None:
  """Gives ``path`` the permissions a plain ``open`` or ``mkdir`` would have.

  ``tempfile.mkstemp`` and ``mkdtemp`` create private files (0600) and folders
  (0700): renamed into place as they are, a report, record or model would be
  unreadable to the other users of a shared machine (a serving account, a
  colleague). With ``like`` an existing file or folder, its mode is kept.

  Args:
    path: a file or folder this process created.
    like: the file or folder ``path`` is about to replace, if any.
  """
  if like and os.path.exists(like):
    mode = os.stat(like).st_mode & 0o7777
  else:
    mode = (0o777 if os.path.isdir(path) else 0o666) & ~_umask()
  os.chmod(path, mode)


@contextlib.contextmanager
def _replacing(path: str, extension: str = "") -> Iterator[tuple[int, str]]:
  """A temporary file beside ``path`` that replaces it when the block succeeds.

  The temporary name is the writer's own (two writers of ``path`` never share
  it) and stays inside ``path``'s file system, so the final rename is atomic.
  On success the file gets the mode ``path`` has, or the default one, and is
  renamed over ``path``; on any error it is removed and ``path`` is untouched.

  Args:
    path: the file to replace.
    extension: appended after ``.tmp`` (for a writer that infers the format
      from it).

  Yields:
    The temporary file's open descriptor (the block owns it) and its path.
  """
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                             suffix=".tmp" + extension,
                             dir=os.path.dirname(os.path.abspath(path)))
  try:
    yield fd, tmp
    give_default_mode(tmp, like=path)
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


@contextlib.contextmanager
def atomic_open(path: str, encoding: str = "utf-8") -> Iterator[TextIO]:
  """Opens ``path`` for writing text; the file appears only when the block succeeds.

  Args:
    path: destination file. Its folder is created when missing.
    encoding: text encoding.

  Yields:
    A writable text stream on a temporary file beside ``path``.
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with _replacing(path) as (fd, _):
    with os.fdopen(fd, "w", encoding=encoding, newline="\n") as stream:
      yield stream
      stream.flush()
      os.fsync(stream.fileno())


def save_figure(figure, path: str) -> None:
  """Saves a matplotlib figure to ``path`` atomically (a temporary file beside
  it, then a rename), and closes the figure."""
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  try:
    # Keeps the extension that tells matplotlib the format.
    with _replacing(path, extension=os.path.splitext(path)[1]) as (fd, tmp):
      os.close(fd)
      figure.savefig(tmp)
  finally:
    plt.close(figure)


def atomic_write_text(path: str, text: str, encoding: str = "utf-8") -> None:
  """Writes ``text`` to ``path`` atomically (see ``atomic_open``)."""
  with atomic_open(path, encoding=encoding) as stream:
    stream.write(text)


def write_json(path: str, value: Any) -> None:
  """Writes ``value`` as indented UTF-8 JSON, atomically."""
  atomic_write_text(path, json.dumps(value, ensure_ascii=False, indent=1) + "\n")


def _exchange(a: str, b: str) -> bool:
  """Swaps two paths in one step (Linux ``renameat2``); False where unsupported."""
  try:
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = libc.renameat2
  except (OSError, AttributeError):
    return False
  renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                        ctypes.c_char_p, ctypes.c_uint]
  return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                   _RENAME_EXCHANGE) == 0


def replace_dir(new: str, target: str) -> None:
  """Puts the complete folder ``new`` at ``target``, replacing what was there.

  Where the system can swap two folders in one step (Linux), a reader always
  finds either the old or the new folder at ``target``, even if the process is
  killed; elsewhere there is a moment between two renames without one. The old
  folder is deleted afterwards.
  """
  give_default_mode(new, like=target)
  if not os.path.exists(target):
    os.rename(new, target)
    return
  if _exchange(new, target):
    shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old folder
    return
  old = tempfile.mkdtemp(prefix=".replaced-",
                         dir=os.path.dirname(os.path.abspath(target)))
  os.rmdir(old)
  os.rename(target, old)
  os.rename(new, target)
  shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def staging_dir(target: str) -> str:
  """A new empty folder beside ``target`` to build its next version in.

  Its name, ``.<target name>.partial-<pid>-XXXX``, says whose it is: folders left
  by processes that died before ``replace_dir`` (killed mid-export, say) are
  deleted here, those of running processes are left alone.
  """
  parent = os.path.dirname(os.path.abspath(target))
  os.makedirs(parent, exist_ok=True)
  prefix = f".{os.path.basename(os.path.abspath(target))}.partial-"
  for name in os.listdir(parent):
    pid = name[len(prefix):].split("-", 1)[0]
    if name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
      shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
  folder = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)
  give_default_mode(folder)
  return folder


def sha256_file(path: str) -> str:
  """Hex sha256 of a file, read in blocks."""
  digest = hashlib.sha256()
  with open(path, "rb") as stream:
    for block in iter(lambda: stream.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def count_lines(path: str) -> int:
  """Lines of a file (a last line without ``\n`` counts), read in blocks."""
  lines, last = 0, b"\n"
  with open(path, "rb") as stream:
    for block in iter(lambda: stream.read(1 << 20), b""):
      lines += block.count(b"\n")
      last = block[-1:]
  return lines + (last != b"\n")


def relative_arg(arg: str, root: str) -> str:
  """``--flag=/abs/path`` with the path made relative to ``root`` (other
  arguments unchanged), so a recorded command holds no machine's paths."""
  name, sep, value = arg.partition("=")
  if sep and os.path.isabs(value):
    value = os.path.relpath(value, root)
  return name + sep + value
