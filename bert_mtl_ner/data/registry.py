"""The datasets of the paper by name: where their files live, where they come from.

``DATASETS`` maps ``msra``, ``peoples_daily`` and ``cluener`` to their files (path
under the data folder, public URL, sha256) and their splits. The data folder is
``--data_dir``, else ``$BERT_MTL_NER_DATA``, else ``./data`` (``resolve_data_dir``).

Splits:

* ``msra``: ``train`` (42000) and ``dev`` (3000) are the common split of
  ``msra_train_bio`` (see ``msra_split``); ``train_full`` is that whole file (45000);
  ``test`` is ``msra_test_bio`` (3442).
* ``peoples_daily``: ``train``, ``dev``, ``test`` (20864 / 2318 / 4636).
* ``cluener``: ``train`` (10748) and ``dev`` (1343); ``test`` (1345) has no labels:
  it is unlabeled in-domain text, and the paper evaluates on ``dev``.
"""

import dataclasses
import os
from typing import Dict, Iterator, Optional, Tuple

from bert_mtl_ner.data import msra_split
from bert_mtl_ner.data import readers
from bert_mtl_ner.data.records import ReadReport, Sentence
from bert_mtl_ner.errors import DataError, UsageError

ENV_VAR = "BERT_MTL_NER_DATA"

_GITHUB_RAW = "https://raw.githubusercontent.com"
_MSRA_URL = f"{_GITHUB_RAW}/OYE93/Chinese-NLP-Corpus/master/NER/MSRA"
_PD_URL = f"{_GITHUB_RAW}/zjy-ucas/ChineseNER/master/data"
_CLUENER_ZIP = ("https://storage.googleapis.com/cluebenchmark/tasks/"
                "cluener_public.zip")


@dataclasses.dataclass(frozen=True)
class RemoteFile:
  """One file of a dataset.

  Attributes:
    path: where it lives under the data folder.
    url: its public home.
    sha256: checksum of the exact bytes.
    archive_member: when ``url`` is a zip archive, the file's name inside it.
  """
  path: str
  url: str
  sha256: str
  archive_member: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class SplitSpec:
  """One split of a dataset.

  Attributes:
    file: path under the data folder of the file the split is read from.
    format: reader format (see ``readers.FORMATS``).
    labeled: False for text without gold tags.
    msra_part: ``train`` or ``dev`` when the split is a part of the MSRA split of
      ``file`` rather than the whole file.
  """
  file: str
  format: str
  labeled: bool = True
  msra_part: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """A dataset: its files and its splits (name -> ``SplitSpec``)."""
  name: str
  files: Tuple[RemoteFile, ...]
  splits: Dict[str, SplitSpec]

  @property
  def labeled_splits(self) -> Tuple[str, ...]:
    return tuple(k for k, v in self.splits.items() if v.labeled)


DATASETS: Dict[str, DatasetSpec] = {
    "msra": DatasetSpec(
        name="msra",
        files=(
            RemoteFile("msra/msra_train_bio", f"{_MSRA_URL}/msra_train_bio.txt",
                       "b403d1318c5289917ad2ca4136279592521684748327e93f1bf49a3845a40ac7"),
            RemoteFile("msra/msra_test_bio", f"{_MSRA_URL}/msra_test_bio.txt",
                       "2be8e580bcb22e9086e4403d82a7ec0f6e18019ebef35b0fd52941724bdf89a3"),
        ),
        splits={
            "train": SplitSpec("msra/msra_train_bio", "msra", msra_part="train"),
            "dev": SplitSpec("msra/msra_train_bio", "msra", msra_part="dev"),
            "test": SplitSpec("msra/msra_test_bio", "msra"),
            "train_full": SplitSpec("msra/msra_train_bio", "msra"),
        }),
    "peoples_daily": DatasetSpec(
        name="peoples_daily",
        files=(
            RemoteFile("peoples_daily/example.train", f"{_PD_URL}/example.train",
                       "fbacf4110b131354270b7ff470c88eb84645f0ed8df30c3e409dde437cb45e70"),
            RemoteFile("peoples_daily/example.dev", f"{_PD_URL}/example.dev",
                       "7d8e6fcd1745e6adcb99d90307d84c3a0f9f8ff5ee6fe62ca27646cb765fc38a"),
            RemoteFile("peoples_daily/example.test", f"{_PD_URL}/example.test",
                       "233299005f941a4b055e38aadcf3ee853e44bc1f88166078d3b52b26b77ea362"),
        ),
        splits={
            "train": SplitSpec("peoples_daily/example.train", "peoples_daily"),
            "dev": SplitSpec("peoples_daily/example.dev", "peoples_daily"),
            "test": SplitSpec("peoples_daily/example.test", "peoples_daily"),
        }),
    "cluener": DatasetSpec(
        name="cluener",
        files=(
            RemoteFile("cluener/train.json", _CLUENER_ZIP,
                       "60299d202779dc84f3c3bd81f4dc08f5323d0dbf762cb50cd62dd51aa9a871f8",
                       "train.json"),
            RemoteFile("cluener/dev.json", _CLUENER_ZIP,
                       "90036b59832e007c45d11eafe5ed80549f58a18a29aaa7fe8b1229622c69ec38",
                       "dev.json"),
            RemoteFile("cluener/test.json", _CLUENER_ZIP,
                       "5ca36f6fbe29230a6e3244110fcd9487fc2f5a672f5bfeba82a30f0ece72aa69",
                       "test.json"),
        ),
        splits={
            "train": SplitSpec("cluener/train.json", "cluener"),
            "dev": SplitSpec("cluener/dev.json", "cluener"),
            "test": SplitSpec("cluener/test.json", "cluener", labeled=False),
        }),
}


def resolve_data_dir(data_dir: Optional[str] = None) -> str:
  """``data_dir`` if given, else ``$BERT_MTL_NER_DATA``, else ``./data``."""
  return data_dir or os.environ.get(ENV_VAR) or "data"


def get_dataset(name: str) -> DatasetSpec:
  """The spec of a dataset by name.

  Raises:
    UsageError: for an unknown name, listing the known ones.
  """
  if name not in DATASETS:
    raise UsageError(f"unknown dataset {name!r}; known datasets: "
                     f"{', '.join(DATASETS)}")
  return DATASETS[name]


def get_split(name: str, split: str) -> SplitSpec:
  """The spec of one split, with a clear error for unknown names."""
  spec = get_dataset(name)
  if split not in spec.splits:
    raise UsageError(f"dataset {name!r} has no split {split!r}; its splits: "
                     f"{', '.join(spec.splits)}")
  return spec.splits[split]


def describe_source(remote: RemoteFile) -> str:
  """Where a file comes from, for messages: URL, archive member and sha256."""
  member = (f" (the file {remote.archive_member} inside the zip)"
            if remote.archive_member else "")
  return f"{remote.url}{member}, sha256 {remote.sha256}"


def read_split(name: str, split: str, data_dir: Optional[str] = None,
               report: Optional[ReadReport] = None) -> Iterator[Sentence]:
  """Streams the sentences of one split of a registered dataset.

  Args:
    name: dataset name (``msra``, ``peoples_daily``, ``cluener``).
    split: split name (see the module docstring).
    data_dir: data folder; see ``resolve_data_dir``.
    report: receives the reader's counts for this split.

  Raises:
    UsageError: unknown dataset or split.
    DataError: a file is missing (with where to get it) or malformed.
  """
  spec = get_split(name, split)
  data_dir = resolve_data_dir(data_dir)
  path = os.path.join(data_dir, spec.file)
  if not os.path.exists(path):
    remote = next(f for f in get_dataset(name).files if f.path == spec.file)
    raise DataError(path, None, "file not found: run `python -m bert_mtl_ner.data "
                    f"--action=download --data_dir={data_dir}` or get it from "
                    + describe_source(remote))
  if spec.msra_part is None:
    return readers.read_file(path, spec.format, report=report)
  reports = {spec.msra_part: report}
  train, dev = msra_split.load_msra_split(path, reports.get("train"),
                                          reports.get("dev"))
  return iter(train if spec.msra_part == "train" else dev)
