"""Readers on small fixture files: records, conversions, and located errors."""

import json
import logging
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bert_mtl_ner.data import readers
from bert_mtl_ner.data import stats
from bert_mtl_ner.data.records import ReadReport
from bert_mtl_ner.errors import DataError

MSRA = "张\tB-PER\n三\tI-PER\n在\tO\n0\t\n京\tB-LOC\n\n我\tO\n"
PEOPLES_DAILY = "李 B-PER\n四 I-PER\n\n\n去 O\n上 B-LOC\n海 I-LOC\n"


def read(path, fmt=None, scheme="bio"):
  report = ReadReport()
  return list(readers.read_file(path, fmt, scheme, report)), report


def test_msra_records_and_empty_tag_tokens(write):
  path = write("msra.txt", MSRA)
  sentences, report = read(path, "msra")
  assert [s.text for s in sentences] == ["张三在京", "我"]
  assert sentences[0].tags == ("B-PER", "I-PER", "O", "B-LOC")
  assert (sentences[0].source, sentences[0].line, sentences[1].line) == (
      path, 1, 7)
  assert report.dropped_tokens == 1 and report.dropped_lines == [4]
  assert report.sentences == 2


def test_peoples_daily_and_blank_line_runs(write):
  sentences, _ = read(write("pd.txt", PEOPLES_DAILY), "peoples_daily")
  assert [(s.text, s.line) for s in sentences] == [("李四", 1), ("去上海", 5)]
  assert sentences[1].tags == ("O", "B-LOC", "I-LOC")


def test_crlf_and_bom_are_accepted(write):
  path = write("pd.txt", ("\ufeff" + PEOPLES_DAILY).replace("\n", "\r\n"))
  sentences, _ = read(path, "peoples_daily")
  assert [s.text for s in sentences] == ["李四", "去上海"]


def test_conll_columns_bioes_and_multichar_tokens(write):
  path = write("c.conll", "北京大学 x S-ORG\n在  y   O\n海淀 z B-LOC\n区\tz E-LOC\n")
  sentences, _ = read(path, "conll", "bioes")
  assert sentences[0].text == "北京大学在海淀区"
  assert sentences[0].tags == ("B-ORG", "I-ORG", "I-ORG", "I-ORG", "O",
                               "B-LOC", "I-LOC", "I-LOC")


def test_iob1_input(write):
  sentences, report = read(write("c.txt", "张 I-PER\n三 I-PER\n李 B-PER\n"),
                           "conll", "iob1")
  assert sentences[0].tags == ("B-PER", "I-PER", "B-PER")
  assert report.repaired_tags == 0


def test_repairs_are_counted_and_warned_once_per_file(write, caplog):
  path = write("pd.txt", "张 I-PER\n三 I-PER\n\n去 O\n京 I-LOC\n\n美 I-LOC\n")
  with caplog.at_level(logging.WARNING):
    sentences, report = read(path, "peoples_daily")
  assert [s.tags[0] for s in sentences] == ["B-PER", "O", "B-LOC"]
  assert sentences[1].tags == ("O", "B-LOC")
  assert report.repaired_tags == 3
  warnings = [r for r in caplog.records if "rewritten to B-" in r.getMessage()]
  assert len(warnings) == 1 and path in warnings[0].getMessage()


def test_pair_format(write, tmp_path):
  write("pair/sentences.txt", "张 三\n\n去 上 海\n")
  write("pair/tags.txt", "B-PER I-PER\n\nO B-LOC I-LOC\n")
  for target in (tmp_path / "pair", tmp_path / "pair" / "sentences.txt"):
    sentences, _ = read(str(target))
    assert [(s.text, s.line) for s in sentences] == [("张三", 1), ("去上海", 3)]


def test_write_pair_round_trip(write, tmp_path):
  sentences, _ = read(write("pd.txt", PEOPLES_DAILY), "peoples_daily")
  readers.write_pair(str(tmp_path / "out"), sentences)
  again, _ = read(str(tmp_path / "out"), "pair")
  assert [(s.chars, s.tags) for s in again] == [(s.chars, s.tags)
                                                for s in sentences]


def test_cluener_spans_overlaps_and_unlabeled(write):
  lines = [
      {"text": "浙商银行叶老桂", "label": {"company": {"浙商银行": [[0, 3]]},
                                      "name": {"叶老桂": [[4, 6]]}}},
      {"text": "《招商银行》", "label": {"book": {"《招商银行》": [[0, 5]]},
                                   "company": {"招商银行": [[1, 4]]}}},
      {"id": 3, "text": "没有标注"},
  ]
  path = write("c.json", "\n".join(json.dumps(x, ensure_ascii=False)
                                   for x in lines) + "\n")
  sentences, report = read(path)  # format detected: cluener
  assert sentences[0].tags == ("B-company", "I-company", "I-company",
                               "I-company", "B-name", "I-name", "I-name")
  assert sentences[1].tags == ("B-book",) + ("I-book",) * 5
  assert sentences[2].tags is None and sentences[2].line == 3
  assert report.overlapping_spans == 1
  assert report.dropped_spans == {"company": 1}


@pytest.mark.parametrize("fmt,content,line,needle", [
    ("msra", "张\tB-PER\n三\tI-PER\tx\n", 2, "column"),
    ("msra", "张 B-PER\n", 1, "column"),
    ("peoples_daily", "张 B-PER\n\n三\tO\n", 3, "column"),
    ("peoples_daily", "张 B-PER\n三 X-FOO\n", 2, "unknown tag 'X-FOO'"),
    ("conll", "张 x S-PER\n", 1, "BIOES"),
    ("conll", "张\n", 1, "column"),
    ("peoples_daily", "张三 B-PER\n", 1, "one character"),
    ("cluener", '{"text": "张三", "label": {"name": {"张四": [[0, 1]]}}}\n',
     1, "covers '张三'"),
    ("cluener", '{"text": "张三"}\n{"text": "张三", "label": {"name": '
     '{"张三": [[0, 2]]}}}\n', 2, "not [start, end] inside"),
    ("cluener", '{"text": "张三"}\n{"text": \n', 2, "invalid JSON"),
])
def test_malformed_lines_name_file_line_and_content(write, fmt, content, line,
                                                    needle):
  path = write("bad.txt", content)
  with pytest.raises(DataError) as info:
    read(path, fmt)
  err = info.value
  assert (err.path, err.line) == (path, line)
  assert needle in str(err)
  assert str(err).startswith(f"{path}:{line}: ")
  assert err.content is not None


def test_invalid_utf8_names_the_line(write):
  path = write("bad.txt", "张 B-PER\n".encode() + b"\xff\xfe O\n")
  with pytest.raises(DataError, match=r"bad\.txt:2: invalid UTF-8"):
    read(path, "peoples_daily")


def test_pair_mismatch_is_located(write, tmp_path):
  write("p/sentences.txt", "张 三\n去 上 海\n")
  write("p/tags.txt", "B-PER I-PER\nO B-LOC\n")
  with pytest.raises(DataError, match=r"tags\.txt:2: 2 tags for 3 characters"):
    read(str(tmp_path / "p"))


def test_missing_file(tmp_path):
  with pytest.raises(DataError, match="file not found"):
    read(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize("content,fmt", [
    (MSRA, "msra"), (PEOPLES_DAILY, "peoples_daily"),
    ("北京 x B-LOC\n", "conll"), ('{"text": "a"}\n', "cluener")])
def test_detect_format(write, content, fmt):
  assert readers.detect_format(write("f.txt", "\n" + content)) == fmt


def test_detect_format_refuses_what_fits_nothing(write):
  with pytest.raises(DataError, match="--file_format"):
    readers.detect_format(write("f.txt", "justoneword\n"))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(
        ["中\tB-LOC", "国\tI-LOC", "人 O", "人 B-PER", "0\t", "", "\r", "\t",
         "a b c O", '{"text": "中国", "label": {"LOC": {"中国": [[0, 1]]}}}',
         '{"text": "中"}', "{", "\x00", "\ud800", "\u200b O", "中 X-FOO",
         "\ufeff中 O", "😀 B-ORG"]), max_size=12).map(
             lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))),
       fmt=st.sampled_from([None, "msra", "peoples_daily", "conll", "cluener"]))
def test_any_bytes_give_sentences_or_a_located_error(write, content, fmt):
  path = write("hostile.txt", content)
  try:
    for sentence in readers.read_file(path, fmt):
      assert sentence.tags is None or len(sentence.tags) == len(sentence.chars)
      assert sentence.source == path and sentence.line >= 1
  except DataError as err:
    assert err.path == path
    assert err.line is None or 1 <= err.line <= content.count(b"\n") + 1
    assert str(err).startswith(path)


def test_reading_streams_in_constant_memory(tmp_path):
  path = tmp_path / "big.conll"
  sentence = "".join(f"{c} O\n" for c in "据新华社报道") + "张 B-PER\n三 I-PER\n\n"
  with open(path, "w", encoding="utf-8") as stream:
    for _ in range(40000):  # 2.9 MB, 40000 sentences
      stream.write(sentence)
  tracemalloc.start()
  try:
    result = stats.compute_stats(readers.read_file(str(path)))
    _, peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  assert result["sentences"] == 40000 and result["entities"] == {"PER": 40000}
  # Holding the sentences would take tens of MB; a stream holds one at a time.
  assert peak < 1_000_000, peak


@pytest.mark.parametrize("fmt,content", [
    ("msra", "\ufeff张\tB-PER\n张\tB-PER\n三\tI-PER\n0\t\n\n张\tB-PER\n0\t\n"
             "\r\n三\tI-PER\n"),
    ("peoples_daily", "李 B-PER\r\n李 B-PER\n\n李 O\n李 X-FOO\n李 O\n李 X-FOO\n"),
    ("msra", "\ufeff张\tO\n\ufeff张\tO\n"),  # a BOM is dropped on line 1 only
])
def test_remembering_distinct_lines_reads_as_checking_every_line(
    write, monkeypatch, fmt, content):
  """The column reader checks each distinct line once; with nothing
  remembered (``_MAX_ROWS`` 0) every line is checked where it is, and the
  sentences, counts and first error are the same."""
  path = write("repeated.txt", content)

  def outcome():
    report = ReadReport()
    try:
      sentences = list(readers.read_file(path, fmt, report=report))
    except DataError as err:
      return str(err)
    return sentences, report

  remembered = outcome()
  monkeypatch.setattr(readers, "_MAX_ROWS", 0)
  assert outcome() == remembered
  if fmt == "msra" and "0" in content:
    sentences, report = remembered
    assert [(s.text, s.line) for s in sentences] == [("张张三", 1),
                                                    ("张", 6), ("三", 9)]
    assert report.dropped_lines == [4, 7]
  elif fmt == "peoples_daily":
    assert remembered.startswith(f"{path}:5:")  # the first X-FOO
  else:
    assert remembered.startswith(f"{path}:2: expected one character")
