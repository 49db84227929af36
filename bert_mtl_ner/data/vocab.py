"""The character vocabulary of the BiLSTM-CRF baseline, built from training text.

The file has the layout of a BERT vocabulary (one token a line, id = line number,
the same special tokens first), so ``tokenization.CharTokenizer`` reads it like
Google's. Characters are stored in the form the tokenizer looks up first
(lower-cased, accents stripped, full-width ASCII folded to half-width), most
frequent first, ties by code point; whitespace is left to the space token.
"""

import collections
import os
from typing import Iterable, List

from bert_mtl_ner import tokenization
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.io_utils import atomic_write_text

# The character vocabulary of the BiLSTM-CRF (``--vocab_file``'s default),
# shipped inside the package so that an installed wheel has it too.
DEFAULT_CHAR_VOCAB = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "vocab", "chars.txt")
SPECIAL_TOKENS = (tokenization.PAD, "[unused1]", tokenization.UNK,
                  tokenization.CLS, tokenization.SEP, tokenization.MASK)


def normalize(char: str) -> str:
  """The vocabulary form of a character (see the module docstring)."""
  return tokenization.strip_accents(tokenization.to_half_width(char).lower())


def build_char_vocab(sentences: Iterable[Sentence], min_count: int = 1
                     ) -> List[str]:
  """Tokens of a character vocabulary: specials, then characters by frequency.

  Args:
    sentences: training sentences.
    min_count: characters seen fewer times are left to ``[UNK]``.

  Returns:
    The tokens in id order.
  """
  counts: collections.Counter = collections.Counter()
  for sentence in sentences:
    for char in sentence.chars:
      if tokenization.is_whitespace(char) or tokenization.is_control(char):
        continue
      form = normalize(char)
      if len(form) == 1:
        counts[form] += 1
  chars = sorted((c for c, n in counts.items() if n >= min_count and
                  c not in SPECIAL_TOKENS), key=lambda c: (-counts[c], ord(c)))
  return list(SPECIAL_TOKENS) + chars


def write_vocab(path: str, tokens: List[str]) -> None:
  """Writes one token a line, atomically."""
  atomic_write_text(path, "".join(t + "\n" for t in tokens))
