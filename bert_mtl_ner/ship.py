r"""Packs a trained model as a shipped model, with its card measured here.

  python -m bert_mtl_ner.ship --model_dir=runs/msra --name=msra \
      --dataset=msra --split=test --flagfile_used=configs/ship_msra.cfg

Writes ``bert_mtl_ner/shipped/NAME/`` (replaced atomically, see
``bert_mtl_ner.shipped``): the model directory's configuration, labels and
vocabulary; its best weights in float16 when that moves ``--split``'s F1 by at
most ``--max_f1_change`` (else float32); the temperature fitted on
``--fit_split`` with the ECE before and after on ``--split`` (cross-fitted when
they are the same split); speed on this machine; the scores, overall, per type
and per sentence, of the shipped weights on the whole split; ``summary.json``
with all of it and ``MODEL.md`` rendered from it (``shipped.card``); and
``SHA256SUMS``. Refuses a run that stopped at its epoch cap or has not
stopped yet, a ``--flagfile_used`` that disagrees with the run's flags, and a
folder over ``--max_mb``.

An ensemble (``bert_mtl_ner.ensemble``) is shipped like a run: each of its
members must have stopped early, ``--flagfile_used`` gives one flagfile per
member, in order, and the card gives every member's command and training.

``--alternatives=DIR,...`` names other runs of the same architecture with other
settings: each is scored on ``--fit_split`` overall and on the names unseen in
train, the card lists them, and the run is refused if one of them does better
on those names (``shipped.choice.ALTERNATIVES_RULE``).
"""

import datetime
import os
import shutil
import statistics
import tempfile
import time
from typing import Dict, List, Optional

from absl import flags

from bert_mtl_ner import calibration
from bert_mtl_ner import cli
from bert_mtl_ner import evaluation
from bert_mtl_ner import inference
from bert_mtl_ner import run_dir
from bert_mtl_ner import shipped
from bert_mtl_ner.data import char_vectors
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import records
from bert_mtl_ner.io_utils import atomic_write_text, sha256_file
from bert_mtl_ner.models import USES_BERT
from bert_mtl_ner.shipped import card
from bert_mtl_ner.shipped import choice as choice_lib
from bert_mtl_ner.shipped import flagfile as flagfile_lib

flags.DEFINE_string("model_dir", None, "The trained model directory.")
flags.DEFINE_string("name", None, "The shipped model's name.")
flags.DEFINE_string("dataset", None, "The registered dataset it was trained "
                    "on.")
flags.DEFINE_string("split", "test", "Split its card scores (whole).")
flags.DEFINE_string("fit_split", "dev", "Split the temperature is fitted on.")
flags.DEFINE_list("flagfile_used", None, "The training flagfile, for the "
                  "card's command; each of its flags must equal the run's. "
                  "For an ensemble, one per member, in the members' order.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("root", shipped.ROOT, "Where shipped models go.")
flags.DEFINE_float("max_mb", 20.0, "Largest size of the folder on disk.")
flags.DEFINE_float("max_f1_change", 0.1, "Largest F1 change float16 weights "
                   "may cause; beyond it they are stored in float32.")
flags.DEFINE_list("alternatives", [], "Model directories of other runs on "
                  "--dataset that this one is chosen over: each is scored on "
                  "--fit_split, overall and on the names unseen in train, and "
                  "listed on the card; ship refuses the run if one of them "
                  "does better on the unseen names (shipped/choice.py).")
flags.DEFINE_integer("batch_size", 64, "Sentences per model call.")
flags.DEFINE_string("full_report", None, "The full report's summary.json: "
                    "the card then sets this run's dev F1 beside each of its "
                    "rows on the dataset (why this architecture).")
flags.mark_flags_as_required(["model_dir", "name", "dataset",
                              "flagfile_used"])
FLAGS = flags.FLAGS

# What a card says of its data: where it is from and on what terms.
DATA = {
    "msra": {
        "source": "MSRA NER, the Microsoft Research Asia corpus of the third "
                  "SIGHAN bakeoff (2006; Levow 2006): newspaper text with "
                  "PER, LOC and ORG; train split 42000 sentences by the "
                  "common seed-2019 split of its train file, test 3442",
        "terms": "No license is stated at its public homes (Hugging Face "
                 "lists it as 'unknown'); it was released for the bakeoff's "
                 "research use. Ask Microsoft Research Asia before any use "
                 "beyond research.",
        "limits": [
            "Domain: 1998-era mainland newspaper text, simplified "
            "characters. Web text, social media, speech transcripts, "
            "classical or traditional-script Chinese were never seen.",
            "Three types only (PER, LOC, ORG): no dates, numbers, products, "
            "works or events.",
            "Names in Latin script and mixed Chinese-English text were "
            "rare in training.",
        ]},
    "cluener": {
        "source": "CLUENER2020 (Xu et al. 2020), fine-grained NER on Sina "
                  "news text (THUCTC) by the CLUE benchmark: 10 types; train "
                  "10748 sentences, dev 1343 (its test has no labels, so the "
                  "card scores dev)",
        "terms": "No license is stated with the CLUE benchmark's release "
                 "(Hugging Face's CLUE card lists it as 'unknown'); it was "
                 "published for research. Ask the CLUE organisers before any "
                 "use beyond research.",
        "limits": [
            "Domain: short Chinese news and web-news sentences (one line, "
            "about 40 characters). Long documents are tagged in windows of "
            "150 characters; other registers were never seen.",
            "Its dev split chose the epoch and the temperature, and is also "
            "what the card scores (the test has no labels): the scores are "
            "optimistic by that choice.",
            "Types follow CLUENER2020's guidelines (for example, a "
            "'position' is a job title and 'scene' a tourist site); other "
            "schemes disagree at the boundaries.",
        ]},
}


def encoder(run_flags: Dict, repo: str) -> Optional[Dict]:
  """The BERT encoder the run started from (its folder relative to the
  repository, and the sha256 of its weights), or None without one."""
  if run_flags["model"] not in USES_BERT or run_flags.get("bert_random_init"):
    return None
  folder = run_flags["bert_model"]
  weights = os.path.join(folder, "tf_model.h5")
  return {"bert_model": os.path.relpath(folder, repo) if os.path.isdir(folder)
                        else folder,
          "tf_model_sha256": sha256_file(weights)
                             if os.path.exists(weights) else None}


def commands(folder: str, flagfile: str, run_flags: Dict,
             bert: Optional[Dict]) -> List[str]:
  """The commands that train this run from a clone into ``folder``."""
  result = []
  extra = ""
  if run_flags.get("embeddings_file"):
    result.append("python -m bert_mtl_ner.data --action=vectors "
                  "--output=runs/char_vectors.txt")
    extra += " --embeddings_file=runs/char_vectors.txt"
  if bert:
    extra += f" --bert_model={bert['bert_model']}"
  result.append(f"python -m bert_mtl_ner.train --flagfile={flagfile}"
                f"{extra} --model_dir={folder}")
  return result


def run_folders(name: str, count: int) -> List[str]:
  """Where the card's commands train the model's runs: ``runs/ship_NAME``
  for one run; ``runs/ship_NAME_1`` ... for the members of an ensemble."""
  if count == 1:
    return [f"runs/ship_{name}"]
  return [f"runs/ship_{name}_{i}" for i in range(1, count + 1)]


def trainings(name: str, runs: List[Dict], flagfiles: List[str]
              ) -> List[Dict]:
  """Each run's training for the card: its history, flagfile (relative to
  the repository that holds it), checked flag lines, encoder and commands.

  Raises:
    UsageError: not one flagfile per run, a flagfile that disagrees with its
      run, or a run that did not stop by early stopping.
  """
  if len(flagfiles) != len(runs):
    raise UsageError(f"--flagfile_used: {len(flagfiles)} flagfile(s) for "
                     f"{len(runs)} run(s) ({', '.join(r['name'] for r in runs)}"
                     "); give one per run, in order")
  result = []
  for run, path, folder in zip(runs, flagfiles,
                               run_folders(name, len(runs))):
    lines = flagfile_lib.check(path, run["flags"])
    choice_lib.check_stopped_early(run["name"], run["history"], run["flags"])
    # The flagfile lies in the repository's configs/: paths relative to that.
    repo = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    flagfile = os.path.relpath(path, repo)
    bert = encoder(run["flags"], repo)
    result.append(dict(run["history"], model=run["flags"]["model"],
                       flagfile=flagfile, flags=lines, encoder=bert,
                       folder=folder,
                       commands=commands(folder, flagfile, run["flags"], bert)))
  return result


def training_record(name: str, model_dir: str, members: List[Dict],
                    repo: str) -> Dict:
  """The card's training: the run's, or for an ensemble its members' with
  the commands of all of them, the assembly, and the ensemble's dev F1."""
  if len(members) == 1:
    return dict(members[0], code_version=records.code_version(repo))
  commands_all = []
  for member in members:
    commands_all += [c for c in member["commands"] if c not in commands_all]
  commands_all.append("python -m bert_mtl_ner.ensemble --members="
                      + ",".join(m["folder"] for m in members)
                      + f" --model_dir={run_folders(name, 1)[0]}")
  best = run_dir.read_json(os.path.join(model_dir, run_dir.BEST_POINTER))
  return {"members": members, "commands": commands_all,
          "dev_f1": best["dev_f1"], "stopped_by": "early_stopping",
          "code_version": records.code_version(repo)}


def scored(tagger: inference.Tagger, sentences, types: List[str],
           seen=None) -> Dict:
  """Scores of the whole split, with per-sentence counts and the seconds
  the tagging took; with ``seen`` (``evaluation.entity_names`` of train),
  also the scores on the names seen in training and on the rest
  (``novelty``)."""
  start = time.perf_counter()
  predictions, _ = evaluation.tag_sentences(tagger, sentences)
  seconds = time.perf_counter() - start
  gold = [s.tags for s in sentences]
  result = evaluation.score(gold, predictions)
  result["per_sentence"] = records.pack_counts(
      evaluation.sentence_counts(gold, predictions, types))
  if seen is not None:
    result["novelty"] = evaluation.novelty_scores(sentences, predictions, seen)
  result["seconds"] = seconds
  return result


def speed(tagger: inference.Tagger, sentences) -> Dict:
  """Throughput over the split in batches, and single-sentence latency."""
  texts = ["".join(s.chars) for s in sentences]
  tagger.warm_up(texts[:tagger.batch_size])  # traces the model
  start = time.perf_counter()
  for begin in range(0, len(texts), tagger.batch_size):
    tagger.entities(texts[begin:begin + tagger.batch_size])
  seconds = time.perf_counter() - start
  latencies = []
  for text in texts[:100]:
    begin = time.perf_counter()
    tagger.entities([text])
    latencies.append(1000 * (time.perf_counter() - begin))
  return {"sentences": len(texts), "characters": sum(map(len, texts)),
          "batch_size": tagger.batch_size, "seconds": seconds,
          "chars_per_second": sum(map(len, texts)) / seconds,
          "sentences_per_second": len(texts) / seconds,
          "latency_ms_median": statistics.median(latencies),
          "latency_sentences": len(latencies),
          "hardware": records.hardware()}


def calibrated(tagger: inference.Tagger, fit_sentences, sentences,
               same: bool) -> Dict:
  """The temperature fitted on ``fit_sentences`` and the ECE on
  ``sentences`` before and after (cross-fitted when ``same``)."""
  fit = calibration.ScoredSplit(tagger, fit_sentences)
  temperature, loss_after = calibration.fit_temperature(fit.scores,
                                                        fit.correct)
  target = fit if same else calibration.ScoredSplit(tagger, sentences)
  before = calibration.summary(target.scores(1.0), target.correct)
  after_scores = (calibration.cross_fitted(target)["scores"] if same
                  else target.scores(temperature))
  after = calibration.summary(after_scores, target.correct)
  return {"temperature": temperature, "entities": before["entities"],
          "ece_before": before["ece"], "ece_after": after["ece"],
          "cross_fitted": same,
          "log_loss_before": calibration.log_loss(fit.scores(1.0),
                                                  fit.correct),
          "log_loss_after": loss_after}


def unseen_entities(sentences, seen) -> Dict:
  """How many gold entities of ``sentences`` (text and type) are not in
  ``seen`` (``evaluation.entity_names`` of train): names the model has never
  been taught."""
  gold = [evaluation.entity_name(s, span) for s in sentences
          for span in tags_lib.tags_to_spans(s.tags)]
  return {"entities": len(gold), "unseen": sum(e not in seen for e in gold)}


def choice_scores(model_dir: str, sentences, types: List[str], seen,
                  batch_size: int) -> Dict:
  """A run's F1 on ``sentences`` (the fit split, dev), overall and on the
  seen and unseen names."""
  result = scored(inference.Tagger.from_model_dir(model_dir, batch_size),
                  sentences, types, seen)
  return {"f1": result["f1"], "novelty": result["novelty"]}


def folder_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))


def portable_flags(run_flags: Dict, folder: str, bert: Optional[Dict]) -> Dict:
  """The run's flags with this machine's paths replaced by the ones of the
  card's commands (relative to the repository), or by their last part."""
  flags_dict = dict(run_flags, model_dir=folder, data_dir=None)
  if flags_dict.get("embeddings_file"):
    flags_dict["embeddings_file"] = "runs/char_vectors.txt"
  if bert:
    flags_dict["bert_model"] = bert["bert_model"]
  # What is left of this machine (an encoder folder a BiLSTM-CRF never
  # read, say): the last part of the path.
  return {k: os.path.basename(v.rstrip("/"))
          if isinstance(v, str) and os.path.isabs(v) else v
          for k, v in flags_dict.items()}


def pack(stage: str, model_dir: str, weights_dtype, flags_dict: Dict,
         members: Optional[List[Dict]] = None) -> None:
  """Copies the model directory's description, writes ``flags_dict`` as its
  flags (and an ensemble's ``members``, their flags portable) and its best
  weights as ``weights.npz`` in ``weights_dtype``."""
  for name in ("model_config.json", "labels.json", "vocab.txt"):
    shutil.copyfile(os.path.join(model_dir, name), os.path.join(stage, name))
  run_dir.write_json(os.path.join(stage, "flags.json"), flags_dict)
  if members:
    run_dir.write_json(os.path.join(stage, run_dir.MEMBERS), members)
  model, _, _, _ = run_dir.load(model_dir)
  run_dir.save_arrays(model, os.path.join(stage, shipped.WEIGHTS),
                      weights_dtype)
  best = run_dir.read_json(os.path.join(model_dir, run_dir.BEST_POINTER))
  run_dir.write_json(os.path.join(stage, run_dir.BEST_POINTER),
                     {"epoch": best["epoch"], "dev_f1": best["dev_f1"],
                      "weights": shipped.WEIGHTS})


def main(argv) -> None:
  del argv
  if FLAGS.dataset not in DATA:
    raise UsageError(f"--dataset={FLAGS.dataset}: no card text for it; "
                     f"known: {', '.join(DATA)}")
  run_flags = run_dir.read_json(os.path.join(FLAGS.model_dir, "flags.json"))
  runs = choice_lib.runs_of(FLAGS.model_dir, run_flags)
  members = trainings(FLAGS.name, runs, FLAGS.flagfile_used)
  repo = os.path.dirname(os.path.dirname(os.path.abspath(
      FLAGS.flagfile_used[0])))
  training = training_record(FLAGS.name, FLAGS.model_dir, members, repo)
  if len(runs) == 1:
    flags_dict = portable_flags(run_flags, members[0]["folder"],
                                members[0]["encoder"])
    member_flags = None
  else:
    flags_dict = run_flags
    member_flags = [
        dict(run, flags=portable_flags(run["flags"], member["folder"],
                                       member["encoder"]))
        for run, member in zip(runs, members)]
  read = lambda split: list(registry.read_split(FLAGS.dataset, split,
                                                FLAGS.data_dir))
  sentences, fit_sentences = read(FLAGS.split), read(FLAGS.fit_split)
  seen = evaluation.entity_names(read("train"))
  labels = run_dir.read_json(os.path.join(FLAGS.model_dir, "labels.json"))
  types = sorted(tags_lib.entity_types([labels]))
  full = scored(inference.Tagger.from_model_dir(FLAGS.model_dir,
                                                FLAGS.batch_size),
                sentences, types, seen)

  def choice_score(path: str) -> Dict:
    if (FLAGS.fit_split == FLAGS.split and os.path.samefile(
        path, FLAGS.model_dir)):  # the split just scored, by the same run
      return {"f1": full["f1"], "novelty": full["novelty"]}
    return choice_scores(path, fit_sentences, types, seen, FLAGS.batch_size)

  choice = (choice_lib.alternatives(FLAGS.model_dir, run_flags,
                                    FLAGS.alternatives, choice_score,
                                    FLAGS.fit_split)
            if FLAGS.alternatives else None)
  alternatives_flag = (" --alternatives=" + ",".join(
      f"runs/{run['name']}" for run in choice["runs"])) if choice else ""
  os.makedirs(FLAGS.root, exist_ok=True)
  stage = tempfile.mkdtemp(prefix=f".{FLAGS.name}-", dir=FLAGS.root)
  try:
    for dtype in ("float16", "float32"):
      pack(stage, FLAGS.model_dir, dtype, flags_dict, member_flags)
      tagger = inference.Tagger.from_model_dir(stage, FLAGS.batch_size)
      result = scored(tagger, sentences, types, seen)
      if abs(result["f1"] - full["f1"]) <= FLAGS.max_f1_change:
        break
    calib = calibrated(tagger, fit_sentences, sentences,
                       FLAGS.split == FLAGS.fit_split)
    calibration.write_record(stage, {
        "temperature": calib["temperature"],
        "fitted_on": f"{FLAGS.dataset}:{FLAGS.fit_split}",
        "log_loss_before": calib["log_loss_before"],
        "log_loss_after": calib["log_loss_after"]})
    summary = {
        "name": FLAGS.name, "dataset": FLAGS.dataset, "split": FLAGS.split,
        "fit_split": FLAGS.fit_split, "architecture": run_flags["model"],
        "types": types, "data": DATA[FLAGS.dataset],
        "vectors_from": list(char_vectors.SOURCES)
                        if any(r["flags"].get("embeddings_file") for r in runs)
                        else None,
        "training": training,
        "weights": {"dtype": dtype, "f1_float32": full["f1"],
                    "f1_shipped": result["f1"]},
        "scores": {k: v for k, v in result.items() if k != "seconds"},
        "unseen": unseen_entities(sentences, seen),
        "calibration": calib,
        "speed": speed(tagger, sentences),
        "chosen_over": (choice_lib.candidates(FLAGS.full_report,
                                               FLAGS.dataset)
                        if FLAGS.full_report else None),
        "alternatives": choice,
        "full_report": FLAGS.full_report,
        "packed": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d"),
        "command": (f"python -m bert_mtl_ner.ship --model_dir=runs/ship_"
                    f"{FLAGS.name} --name={FLAGS.name} "
                    f"--dataset={FLAGS.dataset} --split={FLAGS.split} "
                    "--flagfile_used="
                    + ",".join(m["flagfile"] for m in members)
                    + (f" --full_report={FLAGS.full_report}"
                       if FLAGS.full_report else "")
                    + alternatives_flag),
    }
    run_dir.write_json(os.path.join(stage, card.SUMMARY), summary)
    # The size goes into the card, and the card into the size: write the card
    # once to measure, then again with the measured size.
    summary["weights"]["folder_bytes"] = 0
    atomic_write_text(os.path.join(stage, card.CARD), card.render(summary))
    summary["weights"]["folder_bytes"] = folder_bytes(stage)
    run_dir.write_json(os.path.join(stage, card.SUMMARY), summary)
    atomic_write_text(os.path.join(stage, card.CARD), card.render(summary))
    size = folder_bytes(stage)
    if size > FLAGS.max_mb * 1e6:
      raise UsageError(f"{FLAGS.name}: {size / 1e6:.1f} MB with {dtype} "
                       f"weights, over --max_mb={FLAGS.max_mb}")
    shipped.write_sums(stage)
    os.chmod(stage, 0o755)
    target = os.path.join(FLAGS.root, FLAGS.name)
    old = None
    if os.path.exists(target):
      old = tempfile.mkdtemp(prefix=f".{FLAGS.name}-old-", dir=FLAGS.root)
      os.replace(target, os.path.join(old, FLAGS.name))
    os.replace(stage, target)
    if old:
      shutil.rmtree(old)
  finally:
    if os.path.exists(stage):
      shutil.rmtree(stage)
  print(card.render(summary))


if __name__ == "__main__":
  cli.run(main)
