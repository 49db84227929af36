"""A plain ``pip install`` of the wheel works like the clone: from a folder
outside the repository, the console scripts train with the default character
vocabulary, predict with a shipped model and with the trained one, and serve
the page."""

import json
import pathlib
import shutil
import site
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from bert_mtl_ner import shipped
from conftest import REPO

pytestmark = pytest.mark.xdist_group("wheel")

# Files a command needs by default, inside the wheel.
PACKAGE_DATA = ("bert_mtl_ner/vocab/chars.txt", "bert_mtl_ner/server/page.html",
                "bert_mtl_ner/experiments/paper_tables.json") + tuple(
                    f"bert_mtl_ner/shipped/{name}/{file}"
                    for name in shipped.names()
                    for file in ("SHA256SUMS", "weights.npz", "MODEL.md",
                                 "vocab.txt", "calibration.json"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """A fresh virtual environment with the wheel installed (its dependencies
  come from the test environment: ``--no-deps``)."""
  folder = tmp_path_factory.mktemp("wheel")
  # The sources git would commit (tracked and new, not ignored), so that no
  # build/ or egg-info of the checkout decides what the wheel holds.
  source = folder / "source"
  files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                         cwd=REPO, capture_output=True, check=True
                         ).stdout.decode().split("\0")
  for name in filter(None, files):
    if (REPO / name).is_file():
      (source / name).parent.mkdir(parents=True, exist_ok=True)
      shutil.copy2(REPO / name, source / name)
  subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                  "--no-build-isolation", "--quiet", "-w", str(folder / "dist"),
                  str(source)], check=True, capture_output=True, timeout=600)
  wheel = next((folder / "dist").glob("bert_mtl_ner-*.whl"))
  venv = folder / "venv"
  subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                 timeout=300)
  python = venv / "bin" / "python"
  # The pinned stack of the test environment, after the venv's own packages
  # (a plain path: the test environment's editable install is not active).
  own = subprocess.run([str(python), "-c", "import site; print("
                        "site.getsitepackages()[0])"], capture_output=True,
                       text=True, check=True).stdout.strip()
  pathlib.Path(own, "test_stack.pth").write_text(
      site.getsitepackages()[0] + "\n", encoding="utf-8")
  subprocess.run([str(python), "-m", "pip", "install", "--no-deps",
                  "--no-index", "--quiet", str(wheel)], check=True,
                 capture_output=True, timeout=600)
  return wheel, venv / "bin"


def test_the_wheel_carries_the_default_files(installed):
  wheel, _ = installed
  with zipfile.ZipFile(wheel) as archive:
    names = set(archive.namelist())
  missing = [name for name in PACKAGE_DATA if name not in names]
  assert not missing, missing


def test_installed_commands_train_predict_and_serve_outside_the_repository(
    installed, toy_corpus, tmp_path):
  _, bin_dir = installed
  where = subprocess.run([str(bin_dir / "python"), "-c",
                          "import bert_mtl_ner; print(bert_mtl_ner.__file__)"],
                         capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
  assert str(REPO) not in where and str(bin_dir.parent) in where
  run = lambda *args, **kw: subprocess.run(
      [str(bin_dir / "bert-mtl-ner"), *args], capture_output=True, text=True,
      cwd=tmp_path, timeout=600, **kw)
  trained = run("train", "--model=bilstm_crf",
                f"--train_file={toy_corpus}/train.txt",
                f"--dev_file={toy_corpus}/dev.txt", "--model_dir=model",
                "--epochs=1", "--embedding_dim=16", "--lstm_units=16",
                "--progress=false")
  assert trained.returncode == 0, trained.stderr[-3000:]
  tagged = run("predict", "--model_dir=model", input="张三在北京工作。\n")
  assert tagged.returncode == 0, tagged.stderr[-3000:]
  assert json.loads(tagged.stdout)["text"] == "张三在北京工作。"
  shipped = run("predict", "--model=msra", input="张三在北京大学工作。\n")
  assert shipped.returncode == 0, shipped.stderr[-3000:]
  entities = json.loads(shipped.stdout)["entities"]
  assert {(e["text"], e["type"]) for e in entities} >= {("张三", "PER")}
  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
  server = subprocess.Popen([str(bin_dir / "bert-mtl-ner"), "serve",
                             "--model_dir=model", f"--port={port}"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
  try:
    deadline, status = time.time() + 300, None
    while time.time() < deadline and status != 200:
      assert server.poll() is None, server.stderr.read()[-3000:]
      try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                    timeout=5) as answer:
          status = answer.status
      except OSError:
        time.sleep(0.5)
    assert status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/",
                                timeout=30) as answer:
      assert "<html" in answer.read().decode("utf-8").lower()
  finally:
    server.terminate()
    server.wait(timeout=60)
