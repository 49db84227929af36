"""Errors that reach the user as one clear line (see ``bert_mtl_ner.cli``)."""

from typing import Optional


class BertMtlNerError(Exception):
  """Base class of the errors the command-line apps report without a traceback."""


class UsageError(BertMtlNerError):
  """Flags or arguments that cannot work together, or name something unknown."""


class DataError(BertMtlNerError):
  """A problem in an input file, located by file and line.

  Args:
    path: the file in which the problem was found.
    line: 1-based line number, or None when the problem concerns the whole file.
    problem: what is wrong, in a few words.
    content: the offending line (shortened when long), or None.
  """

  def __init__(self, path: str, line: Optional[int], problem: str,
               content: Optional[str] = None):
    self.path = str(path)
    self.line = line
    self.problem = problem
    self.content = content
    where = self.path if line is None else f"{self.path}:{line}"
    message = f"{where}: {problem}"
    if content is not None:
      shown = content if len(content) <= 120 else content[:117] + "..."
      message += f": {shown!r}"
    super().__init__(message)
