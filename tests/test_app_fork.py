"""The tests' command runner (``app_fork``) answers as a fresh interpreter."""

import pytest

import app_fork
from conftest import run_fresh


@pytest.mark.parametrize("module,args,stdin", [
    # standard input in, JSON lines out, exit code 0 (a shipped model)
    ("predict", ["--model=msra"], "张三在北京大学工作。\n李四去了上海。\n"),
    # one error line and exit code 2
    ("predict", ["--model=nope"], "张三\n"),
    # absl's own usage error (exit code 1), before any command code runs
    ("evaluate", ["--no_such_flag"], None),
], ids=["tags_stdin", "usage_error", "unknown_flag"])
def test_a_forked_command_answers_as_a_fresh_interpreter(module, args, stdin):
  forked = app_fork.run(module, args, stdin, timeout=600)
  expected = run_fresh(module, *args, stdin=stdin)
  assert forked.returncode == expected.returncode
  assert forked.stdout == expected.stdout
  assert forked.stderr == expected.stderr
  assert forked.args == expected.args


def test_verbosity_is_read_before_the_preloaded_imports():
  assert app_fork.needs_fresh_interpreter(["--model=x", "--verbosity=1"])
  assert app_fork.needs_fresh_interpreter(["-v"])
  assert not app_fork.needs_fresh_interpreter(["--model=x"])
