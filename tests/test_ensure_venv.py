"""scripts/ensure_venv.sh, which both of the README's commands source: a
borrowed environment (``BERT_MTL_NER_VENV``, as a grid in a worktree uses its
checkout's) is used as it is, never reinstalled from the borrowing folder."""

import os
import subprocess

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "scripts", "ensure_venv.sh")


def test_a_borrowed_environment_is_never_reinstalled(tmp_path):
  venv = tmp_path / "venv"
  (venv / "bin").mkdir(parents=True)
  calls = tmp_path / "calls"
  python = venv / "bin" / "python"
  python.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n', encoding="utf-8")
  python.chmod(0o755)
  (venv / ".bert_mtl_ner_installed").write_text("another setup.py\n")
  result = subprocess.run(
      ["bash", "-c", f'source "{SCRIPT}" && echo "$PY"'],
      env=dict(os.environ, BERT_MTL_NER_VENV=str(venv)), capture_output=True,
      text=True, check=False)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == str(python)
  assert not calls.exists()  # no pip install ran in it
  assert "set up from another setup.py" in result.stderr
