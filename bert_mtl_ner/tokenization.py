"""Character tokenization for BERT: exactly one token per input character.

Chinese NER labels characters, and Google's Chinese BERT vocabulary holds every
common CJK character as one token, so the tokenizer maps each character (Unicode
code point) of the raw text to one vocabulary id and never splits or merges. The
character at position ``i`` of the input has token ``i + 1`` (after ``[CLS]``), and
entity offsets are positions in the raw string.

Normalisation per character, in this order (BERT's basic tokenizer does the first
three for whole texts; we do them per character so alignment never shifts):

1. whitespace (space, tab, CR, LF, U+3000 ideographic space, other ``Zs``) ->
   ``space_token`` (default ``[unused1]``: BERT drops spaces, we must keep a slot);
2. NUL, U+FFFD and other control or format characters (zero-width, bidi) ->
   ``[UNK]``;
3. the first of these candidates found in the vocabulary: the character
   lower-cased with accents stripped (``do_lower_case``), the character as it is,
   its half-width form (full-width ASCII U+FF01..U+FF5E -> U+0021..U+007E) lower-
   cased; else ``[UNK]``. Google's vocab has both ``，`` and ``,``, so full-width
   punctuation that has its own entry keeps it.

``max_seq_len`` counts ``[CLS]`` and ``[SEP]``: a window holds ``max_seq_len - 2``
characters (148 for the paper's 150). Training truncates to that; inference covers
longer texts with overlapping windows and merges the predictions (each character
takes the prediction of the window in which it is farthest from an edge).
"""

import dataclasses
import functools
import unicodedata
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from bert_mtl_ner.errors import DataError

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIALS = 2  # [CLS] and [SEP] in every window.

T = TypeVar("T")


def load_vocab(path: str) -> Dict[str, int]:
  """Reads a WordPiece vocabulary: one token a line, the line number is its id.

  Raises:
    DataError: when the file is missing, not UTF-8, or lacks a special token.
  """
  vocab: Dict[str, int] = {}
  try:
    with open(path, encoding="utf-8") as stream:
      for index, line in enumerate(stream):
        token = line.rstrip("\r\n")
        vocab.setdefault(token, index)
  except FileNotFoundError:
    raise DataError(path, None, "vocabulary file not found") from None
  except UnicodeDecodeError as err:
    raise DataError(path, None, f"vocabulary is not UTF-8 ({err})") from None
  for token in (PAD, UNK, CLS, SEP):
    if token not in vocab:
      raise DataError(path, None, f"vocabulary has no {token} token")
  return vocab


def to_half_width(char: str) -> str:
  """Full-width ASCII forms to their half-width originals; other characters kept."""
  code = ord(char)
  if 0xFF01 <= code <= 0xFF5E:
    return chr(code - 0xFEE0)
  return char


def strip_accents(text: str) -> str:
  """Removes combining marks after NFD decomposition (é -> e), as BERT does."""
  return "".join(c for c in unicodedata.normalize("NFD", text)
                 if unicodedata.category(c) != "Mn")


def is_whitespace(char: str) -> bool:
  return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
  """Control, format (zero-width, bidi), surrogate, unassigned and private use."""
  return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Cn", "Co")


@dataclasses.dataclass(frozen=True)
class Window:
  """Characters ``[start, end)`` of a text, encoded as one model input."""
  start: int
  end: int


class CharTokenizer:
  """Maps characters to BERT vocabulary ids, one id per character.

  Args:
    vocab: token -> id.
    do_lower_case: lower-case and strip accents before the lookup, as
      bert-base-chinese does.
    space_token: the token whitespace characters map to.

  Example:
    >>> tok = CharTokenizer.from_vocab_file("vocab.txt")
    >>> ids = tok.encode("张三在北京", max_seq_len=150)  # [CLS] 5 chars [SEP]
  """

  def __init__(self, vocab: Mapping[str, int], do_lower_case: bool = True,
               space_token: str = "[unused1]"):
    self.vocab = dict(vocab)
    self.do_lower_case = do_lower_case
    if space_token not in self.vocab:
      space_token = UNK
    self.space_token = space_token
    self.pad_id = self.vocab[PAD]
    self.unk_id = self.vocab[UNK]
    self.cls_id = self.vocab[CLS]
    self.sep_id = self.vocab[SEP]
    self._token_for_char = functools.lru_cache(maxsize=65536)(
        self._lookup_token)

  @classmethod
  def from_vocab_file(cls, path: str, **kwargs) -> "CharTokenizer":
    return cls(load_vocab(path), **kwargs)

  @property
  def vocab_size(self) -> int:
    return max(self.vocab.values()) + 1

  def _lookup_token(self, char: str) -> str:
    if is_whitespace(char):
      return self.space_token
    if is_control(char) or char == "\ufffd":
      return UNK
    candidates = []
    if self.do_lower_case:
      candidates.append(strip_accents(char.lower()))
    candidates.append(char)
    half = to_half_width(char)
    if half != char:
      candidates.append(strip_accents(half.lower()) if self.do_lower_case
                        else half)
    for candidate in candidates:
      if candidate in self.vocab:
        return candidate
    return UNK

  def token_for_char(self, char: str) -> str:
    """The vocabulary token of one character (see the module docstring)."""
    if len(char) != 1:
      raise ValueError(f"expected one character, got {char!r}")
    return self._token_for_char(char)

  def tokens(self, chars: Sequence[str]) -> List[str]:
    """One vocabulary token per character; the characters themselves are kept
    by the caller for output."""
    return [self._token_for_char(c) for c in chars]

  def char_ids(self, chars: Sequence[str]) -> List[int]:
    """One id per character, without specials."""
    return [self.vocab[self._token_for_char(c)] for c in chars]

  def encode(self, chars: Sequence[str], max_seq_len: Optional[int] = None
             ) -> List[int]:
    """``[CLS]`` + character ids + ``[SEP]``, truncated to ``max_seq_len`` tokens.

    Args:
      chars: characters (a string or a sequence of one-character strings).
      max_seq_len: the most tokens, specials included; None for no limit.

    Returns:
      Token ids; ``ids[i + 1]`` is the id of ``chars[i]``.
    """
    if max_seq_len is not None:
      chars = chars[:max_chars(max_seq_len)]
    return [self.cls_id] + self.char_ids(chars) + [self.sep_id]


def max_chars(max_seq_len: int) -> int:
  """Characters that fit in one window of ``max_seq_len`` tokens."""
  if max_seq_len <= SPECIALS:
    raise ValueError(f"max_seq_len must exceed {SPECIALS}, got {max_seq_len}")
  return max_seq_len - SPECIALS


def windows(length: int, window: int, stride: Optional[int] = None
            ) -> List[Window]:
  """Overlapping windows that cover ``length`` characters.

  Args:
    length: characters in the text.
    window: the most characters in one window.
    stride: characters between the starts of consecutive windows; by default
      three quarters of the window. The last window ends at ``length``.

  Returns:
    The windows in order; one empty window for an empty text.
  """
  if window <= 0:
    raise ValueError(f"window must be positive, got {window}")
  stride = stride or max(1, (window * 3) // 4)
  if not 0 < stride <= window:
    raise ValueError(f"stride must be in [1, {window}], got {stride}")
  if length <= window:
    return [Window(0, length)]
  starts = list(range(0, length - window, stride)) + [length - window]
  return [Window(s, s + window) for s in starts]


def merge_windows(length: int, spans: Sequence[Window],
                  predictions: Sequence[Sequence[T]]) -> List[T]:
  """Merges per-window predictions into one per character.

  Each character takes the prediction of the window in which it lies farthest
  from a window edge (the most context on both sides).

  Args:
    length: characters in the text.
    spans: the windows, as made by ``windows``.
    predictions: for each window, one prediction per character of the window.

  Returns:
    ``length`` predictions.
  """
  best: List[Tuple[int, T]] = [(-1, None)] * length  # type: ignore[list-item]
  for span, preds in zip(spans, predictions):
    if len(preds) != span.end - span.start:
      raise ValueError(f"window {span} has {len(preds)} predictions")
    for offset, pred in enumerate(preds):
      position = span.start + offset
      margin = min(offset, span.end - span.start - 1 - offset)
      if margin > best[position][0]:
        best[position] = (margin, pred)
  if any(margin < 0 for margin, _ in best):
    raise ValueError("the windows do not cover every character")
  return [pred for _, pred in best]
