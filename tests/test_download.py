"""The download action with a fake network: checksums, archives, offline errors."""

import hashlib
import io
import os
import urllib.error
import zipfile

import pytest

from bert_mtl_ner.data import download
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import DataError, UsageError

PLAIN = "张 B-PER\n".encode()
MEMBER = b'{"text": "a"}\n'


def _sha(data):
  return hashlib.sha256(data).hexdigest()


def _zip():
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, "w") as archive:
    archive.writestr("cluener_public/train.json", MEMBER)
  return buffer.getvalue()


SPEC = registry.DatasetSpec("toy", (
    registry.RemoteFile("toy/plain.txt", "https://x/plain.txt", _sha(PLAIN)),
    registry.RemoteFile("toy/train.json", "https://x/a.zip", _sha(MEMBER),
                        "train.json"),
), {})


def _fake(pages):
  calls = []

  def fetch(url, timeout):
    calls.append(url)
    if url not in pages:
      raise urllib.error.URLError("offline")
    return pages[url]

  return fetch, calls


def test_fetches_verifies_and_extracts(tmp_path):
  fetch, calls = _fake({"https://x/plain.txt": PLAIN, "https://x/a.zip": _zip()})
  outcome = download.download([SPEC], str(tmp_path), fetch=fetch)
  assert set(outcome.values()) == {"downloaded"}
  assert (tmp_path / "toy/plain.txt").read_bytes() == PLAIN
  assert (tmp_path / "toy/train.json").read_bytes() == MEMBER
  again = download.download([SPEC], str(tmp_path), fetch=fetch)
  assert set(again.values()) == {"verified"}
  assert len(calls) == 2  # nothing fetched the second time


def test_refuses_a_checksum_mismatch_and_writes_nothing(tmp_path):
  fetch, _ = _fake({"https://x/plain.txt": PLAIN + b"x"})
  with pytest.raises(DataError, match="refusing"):
    download.download([SPEC], str(tmp_path), fetch=fetch)
  assert not (tmp_path / "toy").exists() or not os.listdir(tmp_path / "toy")


def test_a_tampered_local_file_is_reported(tmp_path):
  (tmp_path / "toy").mkdir()
  (tmp_path / "toy/plain.txt").write_bytes(b"changed")
  fetch, _ = _fake({})
  with pytest.raises(DataError, match="not the published one"):
    download.download([SPEC], str(tmp_path), fetch=fetch)


def test_offline_fails_fast_naming_every_missing_file(tmp_path):
  fetch, calls = _fake({})
  with pytest.raises(UsageError) as info:
    download.download([SPEC], str(tmp_path), fetch=fetch)
  assert len(calls) == 1  # gave up after the first failed connection
  message = str(info.value)
  for remote in SPEC.files:
    assert os.path.join(str(tmp_path), remote.path) in message
    assert remote.sha256 in message
  assert "train.json inside the zip" in message


def test_registry_knows_the_published_checksums():
  files = {f.path: f.sha256 for spec in registry.DATASETS.values()
           for f in spec.files}
  assert files["msra/msra_train_bio"].startswith("b403d131")
  assert files["cluener/test.json"].startswith("5ca36f6f")
  assert len(files) == 8
