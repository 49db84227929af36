"""Tag schemes: parsing, conversion to BIO, repair, spans <-> tags, overlaps."""

from hypothesis import given
from hypothesis import strategies as st
import pytest

from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.tags import Span


@pytest.mark.parametrize("tag", ["X-FOO", "B-", "b-PER", "B_PER", "", "OO"])
def test_unknown_tags_are_rejected(tag):
  with pytest.raises(ValueError, match="tag"):
    tags_lib.parse_tag(tag)


def test_bioes_prefixes_need_the_bioes_scheme():
  with pytest.raises(ValueError, match="BIOES"):
    tags_lib.parse_tag("S-PER", "bio")
  assert tags_lib.parse_tag("S-PER", "bioes") == ("S", "PER")


def test_valid_bio_is_unchanged():
  tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
  assert tags_lib.to_bio(tags) == (tags, 0)


def test_stray_inside_tags_are_repaired_and_counted():
  tags = ["I-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-LOC"]
  bio, repairs = tags_lib.to_bio(tags)
  assert bio == ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-LOC"]
  assert repairs == 3


def test_iob1_converts_without_repairs():
  bio, repairs = tags_lib.to_bio(["I-PER", "I-PER", "B-PER", "O", "I-LOC"],
                                 "iob1")
  assert bio == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
  assert repairs == 0


def test_bioes_converts():
  bio, repairs = tags_lib.to_bio(
      ["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "O", "B-ORG", "E-ORG"],
      "bioes")
  assert bio == ["B-PER", "B-LOC", "I-LOC", "I-LOC", "B-LOC", "O", "B-ORG",
                 "I-ORG"]
  assert repairs == 0


def test_spans_of_tags():
  tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-ORG"]
  assert tags_lib.tags_to_spans(tags) == [
      Span(0, 2, "PER"), Span(3, 4, "LOC"), Span(4, 6, "LOC"), Span(6, 7, "ORG")]


@st.composite
def _spans(draw):
  length = draw(st.integers(0, 30))
  cuts = sorted(draw(st.sets(st.integers(0, length), max_size=12)))
  spans = []
  for start, end in zip(cuts[::2], cuts[1::2]):
    if start < end:
      spans.append(Span(start, end, draw(st.sampled_from(["PER", "LOC"]))))
  return length, spans


@given(_spans())
def test_spans_round_trip(case):
  length, spans = case
  tags = tags_lib.spans_to_tags(length, spans)
  assert len(tags) == length
  assert tags_lib.tags_to_spans(tags) == spans
  assert tags_lib.to_bio(tags) == (tags, 0)


def test_spans_to_tags_rejects_overlap_and_bounds():
  with pytest.raises(ValueError, match="overlaps"):
    tags_lib.spans_to_tags(5, [Span(0, 3, "A"), Span(2, 4, "B")])
  with pytest.raises(ValueError, match="outside"):
    tags_lib.spans_to_tags(5, [Span(3, 6, "A")])


def test_resolve_overlaps_keeps_the_longest_then_the_earliest():
  book = Span(15, 35, "book")
  inner = [Span(16, 20, "company"), Span(23, 27, "company")]
  kept, dropped = tags_lib.resolve_overlaps(inner + [book, Span(0, 2, "name")])
  assert kept == [Span(0, 2, "name"), book]
  assert sorted(dropped, key=lambda s: s.start) == inner
  kept, dropped = tags_lib.resolve_overlaps([Span(2, 4, "b"), Span(0, 3, "a"),
                                             Span(3, 6, "c")])
  assert kept == [Span(0, 3, "a"), Span(3, 6, "c")]
  assert dropped == [Span(2, 4, "b")]


def test_label_list_puts_o_first():
  assert tags_lib.label_list(["PER", "LOC", "PER"]) == [
      "O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
