"""The model directory: setup files, refusal to resume an incompatible run."""

import pytest

from bert_mtl_ner import run_dir
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.models import ModelConfig


def _config(labels=("O", "B-PER", "I-PER"), model="bilstm_crf", **changes):
  return ModelConfig(model=model, labels=list(labels), vocab_size=10,
                     **changes)


def test_setup_files_and_incompatible_resumes(tmp_path, write):
  vocab = write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n中\n")
  other_vocab = write("other.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n国\n")
  model_dir = str(tmp_path / "run")
  run_dir.save_setup(model_dir, {"seed": 1}, _config(), vocab)
  assert run_dir.read_json(f"{model_dir}/labels.json") == ["O", "B-PER",
                                                          "I-PER"]
  assert run_dir.read_json(f"{model_dir}/flags.json") == {"seed": 1}
  run_dir.check_compatible(model_dir, _config(), vocab)  # same run: fine
  with pytest.raises(UsageError, match="labels"):
    run_dir.check_compatible(model_dir, _config(("O", "B-LOC", "I-LOC")), vocab)
  with pytest.raises(UsageError, match="another vocabulary"):
    run_dir.check_compatible(model_dir, _config(), other_vocab)
  with pytest.raises(UsageError, match="holds a bilstm_crf model"):
    run_dir.check_compatible(model_dir, _config(model="bert_crf"), vocab)
  with pytest.raises(UsageError, match="lstm_units: 128 != 64"):
    run_dir.check_compatible(model_dir, _config(lstm_units=64), vocab)
  # Where weights come from may change between runs; what they are may not.
  run_dir.check_compatible(model_dir, _config(embeddings_file="vec.txt"), vocab)
  with pytest.raises(UsageError, match="no trained weights yet"):
    run_dir.load(model_dir)


def test_a_different_bert_size_is_refused(tmp_path, write):
  vocab = write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n中\n")
  bert = lambda hidden: {"hidden_size": hidden, "num_hidden_layers": 2,
                         "vocab_size": 5, "transformers_version": "x"}
  model_dir = str(tmp_path / "run")
  run_dir.save_setup(model_dir, {}, _config(model="bert_crf",
                                            bert_config=bert(64)), vocab)
  run_dir.check_compatible(model_dir, _config(model="bert_crf",
                                              bert_config=bert(64)), vocab)
  with pytest.raises(UsageError, match="bert hidden_size: 64 != 32"):
    run_dir.check_compatible(model_dir, _config(model="bert_crf",
                                                bert_config=bert(32)), vocab)


def test_not_a_model_dir(tmp_path):
  with pytest.raises(UsageError, match="not found"):
    run_dir.load(str(tmp_path))
