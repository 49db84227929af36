"""Integration on the shared corpora: every count of ../shared/data/README.md,
the MSRA split byte for byte, and the cross-corpus overlap."""

import hashlib
import json
import os

import pytest

from bert_mtl_ner.data import overlap as overlap_lib
from bert_mtl_ner.data import registry
from bert_mtl_ner.experiments import unseen
from conftest import run_app

# ../shared/data/README.md, "The paper's splits" and "Known leakage".
COUNTS = {
    ("msra", "train"): (42000, 2028536, {"LOC": 34446, "ORG": 19190,
                                         "PER": 16412}),
    ("msra", "dev"): (3000, 142980, {"LOC": 2414, "ORG": 1394, "PER": 1203}),
    ("msra", "test"): (3442, 172601, None),
    ("peoples_daily", "train"): (20864, 979180, {"LOC": 16571, "ORG": 9277,
                                                 "PER": 8144}),
    ("peoples_daily", "dev"): (2318, 109870, {"LOC": 1951, "ORG": 984,
                                              "PER": 884}),
    ("peoples_daily", "test"): (4636, 219197, {"LOC": 3658, "ORG": 2185,
                                               "PER": 1864}),
    ("cluener", "train"): (10748, None, {
        "address": 2891, "book": 1139, "company": 2980, "game": 2376,
        "government": 1835, "movie": 1123, "name": 3755, "organization": 3210,
        "position": 3141, "scene": 1521}),
    ("cluener", "dev"): (1343, None, 3072),
}

SPLIT_SHA256 = {
    "train/sentences.txt": "cb43c1c0620fe79f754a426d476a41c7e6eef4a890d48706807b226bb95d47a5",
    "train/tags.txt": "d1a4a712ad5bddb8c47af78e1fc54b4db299c1eaf5be60803f43719e0bf08f8d",
    "val/sentences.txt": "693a374e94ee3f861840af31d9e3b6dfa642bdcf62b1e1d3f9f9caab83fe9083",
    "val/tags.txt": "943688e588c736eeac3c4c120018159f5bbcad7093e599d66662a0a629c83986",
    "test/sentences.txt": "4299cd43ff4233a9afef922c8c006917236c700933e17b94db2648b5ec9a7048",
    "test/tags.txt": "de3e26c64db35956f29173d508b4d44e9894f68682bfabd581e00d21b24534b5",
}


# Under pytest-xdist (run_tests.sh) these tests share one read of the corpora.
pytestmark = pytest.mark.xdist_group("corpus_stats")


def run_data(*args):
  """``python -m bert_mtl_ner.data ARGS --format=json``'s JSON answer."""
  return json.loads(run_app("data", *args).stdout)


@pytest.fixture(scope="module")
def stats(data_dir):
  return run_data("--action=stats", f"--data_dir={data_dir}", "--format=json")


@pytest.mark.parametrize("key", sorted(COUNTS))
def test_counts_match_the_data_readme(stats, key):
  sentences, characters, entities = COUNTS[key]
  got = stats[key[0]][key[1]]
  assert got["sentences"] == sentences
  if characters is not None:
    assert got["characters"] == characters
  if isinstance(entities, dict):
    assert got["entities"] == entities
  elif entities is not None:
    assert sum(got["entities"].values()) == entities


def test_msra_train_file_counts(stats):
  full = stats["msra"]["train_full"]
  assert full["sentences"] == 45000
  assert full["characters"] + full["dropped_tokens"] == 2171573
  assert full["dropped_tokens"] == 57
  assert full["entities"] == {"LOC": 36860, "ORG": 20584, "PER": 17615}
  split = stats["msra"]
  assert split["train"]["dropped_tokens"] + split["dev"]["dropped_tokens"] == 57


def test_cluener_overlap_is_resolved_and_counted(stats):
  train = stats["cluener"]["train"]
  assert sum(train["entities"].values()) == 23971
  assert train["overlapping_spans_dropped"] == {"company": 2}
  assert stats["cluener"]["test"]["labeled"] is False
  assert stats["cluener"]["test"]["entities"] == {}


def test_msra_split_is_byte_exact(data_dir, tmp_path):
  written = run_data("--action=split", f"--data_dir={data_dir}",
                     f"--output={tmp_path}", "--format=json")
  assert written == {"train": 42000, "val": 3000, "test": 3442}
  for name, digest in SPLIT_SHA256.items():
    with open(os.path.join(tmp_path, name), "rb") as stream:
      assert hashlib.sha256(stream.read()).hexdigest() == digest, name


def test_overlap_between_corpora(data_dir):
  table = overlap_lib.overlap_table(["msra", "peoples_daily"], data_dir)
  pd = table["peoples_daily"]
  assert [pd[s]["msra:train_full"] for s in ("train", "dev", "test")] == [
      13552, 1520, 2958]
  assert table["msra"]["test"]["peoples_daily:train"] == 0


def test_dedup_against_msra(data_dir):
  refs = overlap_lib.parse_refs("msra:train_full")
  keys = overlap_lib.text_keys(refs, data_dir)
  kept, removed = overlap_lib.deduplicate(
      registry.read_split("peoples_daily", "test", data_dir), keys)
  assert (len(kept), removed) == (4636 - 2958, 2958)


def test_peoples_daily_test_is_nearly_all_inside_msra_train(data_dir):
  counts = unseen.overlap_counts(data_dir)
  assert (counts["sentences"], counts["verbatim"]) == (4636, 2958)
  assert counts["verbatim"] < counts["normalized_equal"] < counts["contained"]
  assert counts["contained"] + counts["unseen"] == 4636
  assert sum(counts["unseen_mask"]) == counts["unseen"] == 68
  # A disjoint test set shares far fewer 5-grams than the unseen remainder.
  assert counts["msra_test_5gram_cover"] < 0.5 < counts["unseen_5gram_cover"]
  test = registry.read_split("peoples_daily", "test", data_dir)
  left = [s.text for s, keep in zip(test, counts["unseen_mask"]) if keep]
  assert not any(overlap_lib.seen_in(left, overlap_lib.reference_texts(
      [("msra", "train_full")], data_dir)))


def test_committed_char_vocab_is_what_the_command_builds(data_dir, tmp_path):
  out = tmp_path / "chars.txt"
  run_data("--action=vocab", f"--data_dir={data_dir}", f"--output={out}",
           "--format=json")
  committed = os.path.join(os.path.dirname(__file__), "..", "bert_mtl_ner",
                           "vocab", "chars.txt")
  with open(committed, "rb") as a, open(out, "rb") as b:
    assert a.read() == b.read()
