"""Every way a training run can be set up wrong gives one clear UsageError or
DataError that names the problem (the apps print it as one line, exit 2)."""

import dataclasses

import pytest

from bert_mtl_ner.errors import DataError, UsageError
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun


@pytest.fixture
def base(toy_corpus, tmp_path):
  return TrainRun(model="bilstm_crf", train_file=f"{toy_corpus}/train.txt",
                  dev_file=f"{toy_corpus}/dev.txt",
                  model_dir=str(tmp_path / "model"), embedding_dim=8,
                  lstm_units=8, epochs=1, progress=False)


@pytest.mark.parametrize("changes, error, needle", [
    (dict(dataset="msra"), UsageError, "not both"),
    (dict(train_file=None, dev_file=None), UsageError, "nothing to train on"),
    (dict(train_file="/no/such/train.txt"), DataError,
     "/no/such/train.txt: file not found"),
    (dict(max_seq_len=2), UsageError, "--max_seq_len must be over 2"),
    (dict(bigram_buckets=100, model="bert_crf"), UsageError,
     "--bigram_buckets is for --model=bilstm_crf only"),
    (dict(embeddings_file="vec.txt", model="bert_crf"), UsageError,
     "--embeddings_file is for --model=bilstm_crf only"),
    (dict(char_dropout=0.1, model="bert_crf"), UsageError,
     "--char_dropout is for --model=bilstm_crf only"),
    (dict(char_dropout=1.0), UsageError, "--char_dropout=1.0: must be in"),
    (dict(aux_tasks=["msra"]), UsageError, "need --model=mtl"),
    (dict(model="mtl", aux_tasks=["weibo"], bert_hidden_size=16,
          bert_num_layers=1), UsageError,
     "--aux_tasks entry 'weibo' is neither a registered dataset"),
    (dict(model="bert_crf", bert_model="/no/such/bert"), UsageError,
     "--bert_model=/no/such/bert"),
    (dict(model="bert_crf", max_seq_len=600, bert_hidden_size=16,
          bert_num_layers=1), UsageError, "max_seq_len=600 is over the 512"),
])
def test_setup_errors_name_the_problem(base, changes, error, needle):
  with pytest.raises(error, match=None) as caught:
    run_lib.train(dataclasses.replace(base, **changes))
  assert needle in str(caught.value)


def test_unknown_dataset(base):
  run = dataclasses.replace(base, train_file=None, dev_file=None,
                            dataset="weibo")
  with pytest.raises(UsageError, match="unknown dataset 'weibo'"):
    run_lib.train(run)


def test_empty_or_unlabeled_training_data(base, write):
  empty = write("empty.txt", "\n\n")
  with pytest.raises((UsageError, DataError), match="empty|no sentences"):
    run_lib.train(dataclasses.replace(base, train_file=empty))
  unlabeled = write("text.json", '{"text": "张三在北京"}\n')
  with pytest.raises(UsageError, match="has no labels"):
    run_lib.train(dataclasses.replace(base, train_file=unlabeled))

