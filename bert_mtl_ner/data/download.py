"""Fetches the registered datasets from their public homes and verifies them.

Every file is checked against its sha256 before it is put in place; a mismatch is
refused and nothing is written. Files already present are verified, never
overwritten. Offline, the first failed connection stops the run, and the error
lists every missing file with its URL and destination.
"""

import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from typing import Callable, Dict, Iterable, List

from absl import logging

from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import DataError, UsageError
from bert_mtl_ner.io_utils import give_default_mode, sha256_file

Fetch = Callable[[str, float], bytes]


def _urlopen(url: str, timeout: float) -> bytes:
  with urllib.request.urlopen(url, timeout=timeout) as response:  # nosec: fixed URLs
    return response.read()


def _extract(remote: registry.RemoteFile, payload: bytes) -> bytes:
  if remote.archive_member is None:
    return payload
  with zipfile.ZipFile(io.BytesIO(payload)) as archive:
    for member in archive.namelist():
      if os.path.basename(member) == remote.archive_member:
        return archive.read(member)
  raise DataError(remote.url, None,
                  f"the archive holds no {remote.archive_member}")


def _put(path: str, data: bytes) -> None:
  folder = os.path.dirname(path)
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download.")
  try:
    with os.fdopen(fd, "wb") as stream:
      stream.write(data)
    give_default_mode(tmp, like=path)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def download(datasets: Iterable[registry.DatasetSpec], data_dir: str,
             timeout: float = 20.0, fetch: Fetch = _urlopen) -> Dict[str, str]:
  """Makes sure every file of the datasets is under ``data_dir`` and intact.

  Args:
    datasets: dataset specs, for example ``registry.DATASETS.values()``.
    data_dir: destination folder.
    timeout: seconds to wait for a server before giving up on the network.
    fetch: ``fetch(url, timeout) -> bytes``; replaced in tests.

  Returns:
    Path -> what happened (``verified``, ``downloaded``).

  Raises:
    DataError: a present or fetched file does not match its sha256.
    UsageError: files are missing and could not be fetched; the message names
      each one, its URL and where to put it.
  """
  outcome: Dict[str, str] = {}
  missing: List[registry.RemoteFile] = []
  cache: Dict[str, bytes] = {}
  offline_reason = None
  for spec in datasets:
    for remote in spec.files:
      path = os.path.join(data_dir, remote.path)
      if os.path.exists(path):
        actual = sha256_file(path)
        if actual != remote.sha256:
          raise DataError(path, None, f"sha256 is {actual}, expected "
                          f"{remote.sha256}: the file is not the published one; "
                          "remove it and download again")
        outcome[path] = "verified"
        continue
      if offline_reason is not None:
        missing.append(remote)
        continue
      try:
        if remote.url not in cache:
          logging.info("fetching %s", remote.url)
          cache[remote.url] = fetch(remote.url, timeout)
      except (urllib.error.URLError, OSError, TimeoutError) as err:
        offline_reason = f"{remote.url}: {getattr(err, 'reason', err)}"
        missing.append(remote)
        continue
      data = _extract(remote, cache[remote.url])
      actual = hashlib.sha256(data).hexdigest()
      if actual != remote.sha256:
        raise DataError(remote.url, None, f"downloaded bytes have sha256 "
                        f"{actual}, expected {remote.sha256}; refusing to use "
                        "them")
      _put(path, data)
      outcome[path] = "downloaded"
  if missing:
    lines = [f"cannot download ({offline_reason}); put these files in place by "
             "hand:"]
    lines += [f"  {os.path.join(data_dir, r.path)} <- "
              f"{registry.describe_source(r)}" for r in missing]
    raise UsageError("\n".join(lines))
  return outcome
