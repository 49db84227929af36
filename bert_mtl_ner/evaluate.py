r"""Scores a trained model on a dataset split: seqeval entity level, strict BIO.

  python -m bert_mtl_ner.evaluate --model_dir=DIR --dataset=msra --split=test
  python -m bert_mtl_ner.evaluate --model=msra --dataset=msra --split=test
  python -m bert_mtl_ner.evaluate --model_dir=DIR --dataset=peoples_daily \
      --split=test --dedup_against=msra:train_full --format=json
  python -m bert_mtl_ner.evaluate --model=msra --dataset=msra --split=test \
      --unseen_against=msra:train     # also: names seen in training or not

Every character of every sentence is scored (long sentences are windowed, never
truncated). Predictions are also written in CoNLL format (``char gold pred``), to
``--predictions_file`` or ``MODEL_DIR/predictions/DATASET_SPLIT[_dedup].conll`` (for a shipped
model, ``--model=NAME``: ``predictions/NAME/...`` in the working folder);
``--score_column`` adds each predicted entity's score as a fourth column.

The calibration of the entity scores is reported too: the expected calibration
error and a reliability table (``calibration``), at the temperature the model
directory holds (``python -m bert_mtl_ner.calibrate`` fits one).

``--unseen_against=DATASET:SPLIT`` also scores apart the entities whose name
(text and type) is among that split's gold entities and the rest: how a model
does on names it was never taught (``evaluation.novelty_scores``).
"""

import json
import os
import sys

from absl import flags

from bert_mtl_ner import calibration
from bert_mtl_ner import cli
from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import shipped
from bert_mtl_ner.data import overlap
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import UsageError

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
shipped.define_flag(flags)
flags.DEFINE_string("dataset", None, "Registered dataset.")
flags.DEFINE_string("split", "test", "Split of --dataset.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("eval_file", None, "A corpus file to score instead of "
                    "--dataset.")
flags.DEFINE_enum("file_format", None, list(readers.FORMATS),
                  "Format of --eval_file.")
flags.DEFINE_enum("tag_scheme", "bio", list(tags_lib.SCHEMES),
                  "Tag scheme of --eval_file.")
flags.DEFINE_string("dedup_against", "", "Drop sentences whose text occurs in "
                    "these splits, e.g. msra:train_full.")
flags.DEFINE_string("unseen_against", "", "DATASET:SPLIT (e.g. msra:train): "
                    "also score apart the entities whose name (text and type) "
                    "is an entity of that split and the rest.")
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.")
flags.DEFINE_string("predictions_file", None, "Where the CoNLL predictions go.")
flags.DEFINE_bool("score_column", False, "Add each predicted entity's score "
                  "as a fourth column of the CoNLL predictions.")
flags.DEFINE_integer("batch_size", 64, "Windows per model call.")
flags.DEFINE_integer("limit", 0, "Score only the first N sentences (0: all).")
progress_lib.define_flag(flags)
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  if bool(FLAGS.dataset) == bool(FLAGS.eval_file):
    raise UsageError("give exactly one of --dataset and --eval_file")
  refs = overlap.parse_refs(FLAGS.dedup_against)
  taught = overlap.parse_refs(FLAGS.unseen_against)
  if len(taught) > 1:
    raise UsageError("--unseen_against takes one dataset:split")
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model)
  tagger = inference.Tagger.from_model_dir(model_dir, FLAGS.batch_size)
  if FLAGS.dataset:
    source = f"{FLAGS.dataset}_{FLAGS.split}" + ("_dedup" if refs else "")
    sentences, removed = overlap.read_deduplicated(FLAGS.dataset, FLAGS.split,
                                                   refs, FLAGS.data_dir)
  else:
    if refs:
      raise UsageError("--dedup_against works with --dataset only")
    source = os.path.splitext(os.path.basename(FLAGS.eval_file))[0]
    sentences, removed = list(readers.read_file(
        FLAGS.eval_file, FLAGS.file_format, FLAGS.tag_scheme)), 0
  if FLAGS.limit:
    sentences = sentences[:FLAGS.limit]
  if any(s.tags is None for s in sentences):
    raise UsageError(f"{source} has no labels; use bert_mtl_ner.predict")
  if not sentences:
    raise UsageError(f"{source}: no sentences left to score")
  predictions, entity_scores = evaluation.tag_sentences(
      tagger, sentences, progress=FLAGS.progress, entity_scores=True)
  scores = evaluation.score([s.tags for s in sentences], predictions)
  # A shipped model's folder is part of the installed package: not there.
  path = FLAGS.predictions_file or os.path.join(
      os.path.join("predictions", FLAGS.model) if FLAGS.model else
      os.path.join(model_dir, "predictions"), f"{source}.conll")
  evaluation.write_conll(path, sentences, predictions,
                         entity_scores if FLAGS.score_column else None)
  correct = calibration.correctness(
      [s.tags for s in sentences],
      [tags_lib.tags_to_spans(p) for p in predictions])
  confidence = calibration.summary(calibration.flatten(entity_scores),
                                   calibration.flatten(correct))
  confidence["temperature"] = tagger.temperature
  scores.update(sentences=len(sentences), removed_as_duplicates=removed,
                predictions_file=path, calibration=confidence)
  if taught:
    scores["novelty"] = evaluation.novelty_scores(
        sentences, predictions, evaluation.entity_names(
            registry.read_split(*taught[0], FLAGS.data_dir)))
  if FLAGS.format == "json":
    json.dump(scores, sys.stdout, ensure_ascii=False, indent=1)
    print()
  else:
    dedup = f", {removed} duplicates of {FLAGS.dedup_against} removed" \
        if refs else ""
    print(evaluation.format_scores(
        scores, f"{source}: {len(sentences)} sentences{dedup}"))
    print()
    if taught:
      print(evaluation.format_rows(
          scores["novelty"], f"entities by name, against the gold entities "
          f"of {FLAGS.unseen_against}", label="names"))
      print()
    print(calibration.format_table(
        confidence["reliability"],
        f"entity scores: ECE {confidence['ece']:.4f} over "
        f"{confidence['entities']} entities (temperature "
        f"{confidence['temperature']:.3g})"))
    print(f"predictions: {path}")


if __name__ == "__main__":
  cli.run(main)
