"""Shared fixtures: the shared corpora and vocabulary, and small fixture files."""

import os
import pathlib

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


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
