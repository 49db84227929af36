"""Quiet commands: no TensorFlow, CUDA or oneDNN banner, no end-of-life or
deprecation warning of the pinned stack, unless asked for.

``configure`` runs when the package is first imported, before any module of
ours imports TensorFlow (every command is ``python -m bert_mtl_ner.X``, so the
package comes first). Log levels have to be set before TensorFlow loads, which
is before absl parses ``--verbosity``; so the flag is read from the command line
here. ``--verbosity=1`` (any value above 0, or ``-v``) or
``BERT_MTL_NER_VERBOSE=1`` brings everything back.

Warnings are filtered one by one, by message and category (or logger):
tensorflow-addons' end-of-life ``UserWarning`` (we pin tfa 0.23, its last
release, on purpose); transformers' "TensorFlow and JAX classes are deprecated"
notice (we pin transformers 4.57, its last release with TensorFlow models, on
purpose); and its two notes on loading our own encoders, that the pooler (which
no model of ours uses) is newly initialised and that the MLM head of a
``bert_mtl_ner.pretrain`` output is left out. TensorFlow's Python logger keeps
errors only (its warnings are deprecation notices of TF internals), and so
does Apache Beam's (``tag_corpus``: its workers' start-up and shard notes). Every other
warning still shows, and so do the INFO lines that absl logs (ours, and a few
of TensorFlow's own, such as the SavedModel fingerprint on export).
"""

import logging
import os
import re
import sys
import warnings
from typing import Mapping, MutableMapping, Sequence

ENV = "BERT_MTL_NER_VERBOSE"
FILTERED = (
    (r"\s*TensorFlow Addons \(TFA\) has ended development", UserWarning),
)
TRANSFORMERS_LOGGER = "transformers.modeling_tf_utils"
TRANSFORMERS_FILTERED = re.compile(
    r"TensorFlow and JAX classes are deprecated"
    r"|Some layers of TFBertModel were not initialized from the model "
    r"checkpoint at .* and are newly initialized: \['bert/pooler/dense/"
    r"(kernel|bias):0', 'bert/pooler/dense/(kernel|bias):0'\]"
    r"|Some layers from the model checkpoint at .* were not used when "
    r"initializing TFBertModel: \['mlm___cls'\]", re.S)


class _DropKnownNotices(logging.Filter):
  """Drops the transformers notices of ``TRANSFORMERS_FILTERED``."""

  def filter(self, record: logging.LogRecord) -> bool:
    return not TRANSFORMERS_FILTERED.search(record.getMessage())


def verbose(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
  """True when the user asked for the full logs."""
  if environ.get(ENV, "") not in ("", "0"):
    return True
  for arg in argv[1:]:
    match = re.fullmatch(r"--verbosity=(-?\d+)|-v=?(-?\d+)?", arg)
    if match and int(match.group(1) or match.group(2) or 1) > 0:
      return True
  return False


def configure(argv: Sequence[str] = None,
              environ: MutableMapping[str, str] = None) -> bool:
  """Sets the quiet defaults unless ``verbose``; returns whether it did.

  An explicit ``TF_CPP_MIN_LOG_LEVEL`` in the environment is kept.
  """
  argv = sys.argv if argv is None else argv
  environ = os.environ if environ is None else environ
  if verbose(argv, environ):
    return False
  environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++: fatal only
  for message, category in FILTERED:
    warnings.filterwarnings("ignore", message=message, category=category)
  logging.getLogger(TRANSFORMERS_LOGGER).addFilter(_DropKnownNotices())
  logging.getLogger("tensorflow").setLevel(logging.ERROR)
  # Beam (tag_corpus) logs every worker's start and every shard written.
  logging.getLogger("apache_beam").setLevel(logging.ERROR)
  return True
