"""One token per character against Google's Chinese vocab; windows and merging."""

from hypothesis import given
from hypothesis import strategies as st
import pytest

from bert_mtl_ner import tokenization
from bert_mtl_ner.errors import DataError


@pytest.fixture(scope="module")
def tok(bert_vocab_path):
  return tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)


def test_vocab_is_googles(tok):
  assert len(tok.vocab) == 21128
  assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id) == (0, 100, 101, 102)


def test_one_token_per_character_with_specials(tok):
  text = "张三在北京大学工作。"
  ids = tok.encode(text)
  assert len(ids) == len(text) + 2
  assert ids[0] == tok.cls_id and ids[-1] == tok.sep_id
  assert ids[1:-1] == [tok.vocab[c] for c in text]


@pytest.mark.parametrize("char,token", [
    ("A", "a"),            # lower-cased
    ("é", "e"),            # accents stripped
    ("Ａ", "ａ"),          # Google's vocab has lower-case full-width letters
    ("，", "，"),          # full-width comma has its own entry: kept
    (" ", "[unused1]"),    # whitespace keeps a slot
    ("\t", "[unused1]"),
    ("\u3000", "[unused1]"),
    ("\u200b", "[UNK]"),   # zero-width space: a format character
    ("\x00", "[UNK]"),
    ("😀", "[UNK]"),       # not in the vocab
])
def test_normalisation(tok, char, token):
  assert tok.token_for_char(char) == token


def _small_vocab(*tokens):
  return {t: i for i, t in enumerate(
      ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + list(tokens))}


def test_full_width_folds_when_the_vocab_lacks_it():
  tok = tokenization.CharTokenizer(_small_vocab("a", "1", "，"))
  assert tok.tokens("Ａ１，,") == ["a", "1", "，", "[UNK]"]
  assert tok.space_token == "[UNK]"  # no [unused1] in this vocab


def test_case_is_kept_without_lower_casing():
  cased = tokenization.CharTokenizer(_small_vocab("A", "a"), do_lower_case=False)
  assert cased.tokens("Aa") == ["A", "a"]
  lower = tokenization.CharTokenizer(_small_vocab("A", "a"))
  assert lower.tokens("Aa") == ["a", "a"]


@given(st.text(max_size=200))
def test_any_text_gives_one_id_per_code_point(tok, text):
  ids = tok.char_ids(text)
  assert len(ids) == len(text)
  assert all(0 <= i < tok.vocab_size for i in ids)


def test_truncation_counts_specials(tok):
  ids = tok.encode("一" * 200, max_seq_len=150)
  assert len(ids) == 150 and ids[-1] == tok.sep_id
  assert tokenization.max_chars(150) == 148
  with pytest.raises(ValueError):
    tokenization.max_chars(2)


@given(st.integers(0, 1000), st.integers(1, 150), st.data())
def test_windows_cover_every_character(length, window, data):
  stride = data.draw(st.integers(1, window))
  spans = tokenization.windows(length, window, stride)
  assert spans[0].start == 0 and spans[-1].end == length
  for a, b in zip(spans, spans[1:]):
    assert a.start < b.start <= a.end  # overlapping or touching, in order
  assert all(s.end - s.start <= window for s in spans)
  merged = tokenization.merge_windows(
      length, spans, [list(range(s.start, s.end)) for s in spans])
  assert merged == list(range(length))


def test_merge_prefers_the_most_central_window():
  spans = tokenization.windows(10, 6, 4)  # [0, 6), [4, 10)
  assert [(s.start, s.end) for s in spans] == [(0, 6), (4, 10)]
  merged = tokenization.merge_windows(10, spans, [["a"] * 6, ["b"] * 6])
  # characters 4 and 5: margin 1 and 0 in the first window, 0 and 1 in the second.
  assert merged == ["a"] * 5 + ["b"] * 5


def test_merge_checks_coverage():
  with pytest.raises(ValueError, match="cover"):
    tokenization.merge_windows(5, [tokenization.Window(0, 3)], [[1, 2, 3]])


def test_vocab_errors(write):
  with pytest.raises(DataError, match="no \\[CLS\\]"):
    tokenization.load_vocab(write("v.txt", "[PAD]\n[UNK]\n[SEP]\n"))
  with pytest.raises(DataError, match="not found"):
    tokenization.load_vocab("/nonexistent/vocab.txt")
