"""Shared fixtures: the shared corpora and vocabulary, and small fixture files."""

import json
import os
import pathlib
import random
import subprocess

import pytest

import app_fork


REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


# Third-party warnings that every test would repeat, and that no change of ours
# can remove: TensorFlow Addons' end-of-life notice, and tf_keras seeding its
# generator with randint(1, 1e9) (a float bound) under set_random_seed.
THIRD_PARTY_WARNINGS = (
    r"ignore:\s*TensorFlow Addons \(TFA\) has ended development:UserWarning",
    r"ignore:non-integer arguments to randrange\(\):DeprecationWarning",
    # httplib2 (through apache-beam) calls pyparsing's old names on import.
    r"ignore::DeprecationWarning:httplib2.*",
)


def pytest_configure(config):
  for line in THIRD_PARTY_WARNINGS:
    config.addinivalue_line("filterwarnings", line)


def _required(path: pathlib.Path, what: str) -> pathlib.Path:
  if path.exists():
    return path
  message = f"{what} not found at {path}"
  if os.environ.get("BERT_MTL_NER_REQUIRE_DATA"):
    pytest.fail(message + " (BERT_MTL_NER_REQUIRE_DATA is set)")
  pytest.skip(message)


@pytest.fixture(scope="session")
def data_dir() -> str:
  """The shared corpora: $BERT_MTL_NER_DATA, else ../shared/data."""
  path = pathlib.Path(os.environ.get("BERT_MTL_NER_DATA") or SHARED / "data")
  return str(_required(path / "msra" / "msra_train_bio", "the corpora").parent
             .parent)


@pytest.fixture(scope="session")
def bert_vocab_path() -> str:
  """Google's Chinese BERT vocabulary from ../shared/vocab."""
  return str(_required(SHARED / "vocab" / "bert-base-chinese" / "vocab.txt",
                       "Google's Chinese BERT vocab"))


@pytest.fixture
def write(tmp_path):
  """write(name, text_or_bytes) -> path of a new file under tmp_path."""

  def _write(name: str, content) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
      path.write_bytes(content)
    else:
      path.write_text(content, encoding="utf-8")
    return str(path)

  return _write


PEOPLE = ["张三", "李四", "王小明", "赵敏", "周杰", "孙丽华"]
PLACES = ["北京", "上海", "广州市", "南京", "杭州", "成都市"]
ORGS = ["人民银行", "北京大学", "新华社", "中国科学院"]
TEMPLATES = ["{PER}在{LOC}的{ORG}工作。", "{PER}昨天去了{LOC}。",
             "{ORG}位于{LOC}。", "据{ORG}报道，{PER}到达{LOC}。"]


def toy_sentences(count: int, seed: int = 0):
  """(chars, tags) pairs of a small synthetic NER corpus (PER, LOC, ORG)."""
  rng = random.Random(seed)
  out = []
  for _ in range(count):
    template = rng.choice(TEMPLATES)
    chars, tags = [], []
    for piece in template.replace("{", "|{").replace("}", "}|").split("|"):
      if piece.startswith("{"):
        etype = piece[1:-1]
        word = rng.choice({"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}[etype])
        chars += list(word)
        tags += ["B-" + etype] + ["I-" + etype] * (len(word) - 1)
      else:
        chars += list(piece)
        tags += ["O"] * len(piece)
    out.append((chars, tags))
  return out


@pytest.fixture(scope="session")
def toy_corpus(tmp_path_factory):
  """Folder with train.txt (120 sentences) and dev.txt (30) in People's Daily
  format."""
  folder = tmp_path_factory.mktemp("toy")
  for name, count, seed in (("train.txt", 120, 1), ("dev.txt", 30, 2)):
    lines = []
    for chars, tags in toy_sentences(count, seed):
      lines += [f"{c} {t}" for c, t in zip(chars, tags)] + [""]
    (folder / name).write_text("\n".join(lines), encoding="utf-8")
  return folder


def assert_same_entities(got, expected, zero_scores=False):
  """Two paths' entity lists (per text) agree: the same spans, and scores in
  (0, 1] equal up to float32 round-off (batches differ in padding); with
  ``zero_scores`` a score may round to 0 (an untrained model's)."""
  strip = lambda rows: [[{k: v for k, v in e.items() if k != "score"}
                         for e in row] for row in rows]
  assert strip(got) == strip(expected)
  low = (lambda x: 0 <= x) if zero_scores else (lambda x: 0 < x)
  for got_row, expected_row in zip(got, expected):
    for g, e in zip(got_row, expected_row):
      assert low(e["score"]) and e["score"] <= 1
      assert low(g["score"]) and g["score"] <= 1
      assert abs(g["score"] - e["score"]) <= 2e-3


SMALL_BERT = ["--bert_model=tiny", "--bert_hidden_size=16", "--bert_num_layers=1",
              "--bert_num_heads=2", "--bert_intermediate_size=32",
              "--lstm_units=16", "--embedding_dim=16", "--batch_size=16",
              "--progress=false", "--learning_rate=5e-3",
              "--bert_learning_rate=5e-3", "--patience=0", "--log_every=2"]


def run_fresh(module, *args, stdin=None, timeout=600):
  """``python -m bert_mtl_ner.MODULE ARGS`` in a fresh interpreter."""
  return subprocess.run(app_fork.command(module, args), capture_output=True,
                        text=True, input=stdin, timeout=timeout)


def run_app(module, *args, stdin=None, check=True, timeout=600):
  """``python -m bert_mtl_ner.MODULE ARGS`` as a user runs it, in a process
  of its own forked from one that has imported TensorFlow (``app_fork``);
  with ``check`` it must succeed within ``timeout`` seconds. Returns the
  CompletedProcess (text stdout and stderr)."""
  if app_fork.enabled() and not app_fork.needs_fresh_interpreter(args):
    result = app_fork.run(module, args, stdin, timeout)
  else:
    result = run_fresh(module, *args, stdin=stdin, timeout=timeout)
  if check:
    assert result.returncode == 0, result.stderr[-3000:]
  return result


def train_toy(toy_corpus, model_dir, *extra):
  """``train`` on the toy corpus with a tiny random BERT (SMALL_BERT)."""
  return run_app("train", f"--train_file={toy_corpus}/train.txt",
                 f"--dev_file={toy_corpus}/dev.txt", f"--model_dir={model_dir}",
                 *SMALL_BERT, *extra)


def read_metrics(model_dir):
  """The rows of a run's ``metrics.jsonl``."""
  with open(os.path.join(model_dir, "metrics.jsonl")) as stream:
    return [json.loads(line) for line in stream]
