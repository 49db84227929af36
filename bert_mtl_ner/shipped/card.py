"""A shipped model's card (``MODEL.md``), rendered from its ``summary.json``.

Every number of the card comes from the summary that ``bert_mtl_ner.ship``
measured; the card is never edited by hand (a test renders it again and
compares).
"""

from typing import Dict, List

SUMMARY = "summary.json"
CARD = "MODEL.md"


def _pct(value: float) -> str:
  return f"{value:.2f}"


def _scores(summary: Dict) -> List[str]:
  scores = summary["scores"]
  split = f"{summary['dataset']} {summary['split']}"
  lines = [f"## Scores on {split}", "",
           f"`evaluate` on the whole split ({scores['support']} gold "
           "entities; seqeval, entity level, strict BIO), with the shipped "
           "weights:", "",
           "| type | P | R | F1 | gold entities |", "|---|---|---|---|---|"]
  for name, row in sorted(scores["per_type"].items()):
    lines.append(f"| {name} | {_pct(row['precision'])} | "
                 f"{_pct(row['recall'])} | {_pct(row['f1'])} | "
                 f"{row['support']} |")
  lines.append(f"| **all (micro)** | **{_pct(scores['precision'])}** | "
               f"**{_pct(scores['recall'])}** | **{_pct(scores['f1'])}** | "
               f"{scores['support']} |")
  lines.append(f"| macro | {_pct(scores['macro_precision'])} | "
               f"{_pct(scores['macro_recall'])} | {_pct(scores['macro_f1'])} "
               "| |")
  weights = summary["weights"]
  lines += ["", f"Weights are stored in {weights['dtype']}: F1 "
            f"{_pct(weights['f1_shipped'])}, against "
            f"{_pct(weights['f1_float32'])} with the trained float32 weights. "
            "The per-sentence counts behind these scores are in "
            f"`{SUMMARY}` (`scores.per_sentence`)."]
  return lines


def _run(training: Dict) -> List[str]:
  """One run's flagfile and how its training ended."""
  stopped = ("early stopping" if training["stopped_by"] == "early_stopping"
             else "its epoch cap")
  lines = [f"`{training['flagfile']}` holds:", "", "```"]
  lines += training["flags"]
  lines += ["```", "",
            f"It ran {training['epochs_run']} of at most {training['cap']} "
            f"epochs and was stopped by {stopped} (patience "
            f"{training['patience']}); the best dev F1, "
            f"{_pct(training['dev_f1'])}, came at epoch "
            f"{training['best_epoch']}. Dev F1 by epoch: "
            + ", ".join(f"{f:.2f}" for f in training["dev_curve"]) + ".", ""]
  bert = training.get("encoder")
  if bert:
    lines += [f"It starts from the BERT encoder `{bert['bert_model']}` "
              f"(`tf_model.h5` sha256 `{bert['tf_model_sha256']}`).", ""]
  return lines


def _training(summary: Dict) -> List[str]:
  training = summary["training"]
  members = training.get("members")
  if members:
    kinds = sorted({m["model"] for m in members})
    lines = ["## Training", "",
             f"Architecture: an ensemble of {len(members)} runs "
             f"({', '.join(f'`{k}`' for k in kinds)}; `models.ensemble`): "
             "the mean of their CRF scores, emissions and transitions, "
             "decoded by one Viterbi pass. From a clone, after the README's "
             "setup:", "", "```bash"]
  else:
    lines = ["## Training", "",
             f"Architecture: `{summary['architecture']}`. From a clone, after "
             "the README's setup:", "", "```bash"]
  lines += training["commands"]
  lines += ["```", ""]
  if members:
    for member in members:
      lines += [f"### `{member['folder']}`", ""] + _run(member)
    lines += [f"The ensemble's dev F1: {_pct(training['dev_f1'])}.", ""]
  else:
    lines += _run(training)
  lines.append(f"Code version when packed: `{training['code_version']}`; "
               f"packed on {summary['packed']} by `{summary['command']}`.")
  return lines


def _choice(summary: Dict) -> List[str]:
  """Why this architecture: its dev F1 beside the full report's rows."""
  rows = summary.get("chosen_over")
  if not rows:
    return []
  lines = ["## Why this architecture", "",
           f"The rule: the best dev F1 on {summary['dataset']} that a 2-core "
           "CPU serves quickly. This run against the rows of the grid report "
           f"`{summary['full_report']}` (mean over their seeds):", "",
           "| model | seeds | dev F1 | |", "|---|---|---|---|",
           f"| **this model** | 1 | **{_pct(summary['training']['dev_f1'])}** "
           "| |"]
  for row in sorted(rows, key=lambda r: -r["dev_f1"]):
    notes = ([f"{row['capped']} of {row['seeds']} seeds stopped at their "
              "epoch cap"] if row["capped"] else [])
    if row["dev_in_training"]:
      notes.append("cannot be chosen by this dev: its auxiliary corpus holds "
                   "sentences of it")
    note = "; ".join(notes)
    lines.append(f"| {row['label']} | {row['seeds']} | "
                 f"{_pct(row['dev_f1'])} | {note} |")
  return lines


def _alternatives(summary: Dict) -> List[str]:
  """The other runs it was chosen over, and by what (``ship --alternatives``)."""
  choice = summary.get("alternatives")
  if not choice:
    return []
  unseen = lambda scores: _pct(scores["novelty"].get("unseen", {}).get(
      "f1", 0.0))
  where = f"{summary['dataset']} {choice['split']}"
  lines = ["## Why these settings", "",
           f"Chosen over the runs below by {choice['rule']}. Scores on "
           f"{where}:", "",
           "| run | its settings that differ | stopped by | dev F1 | "
           "dev F1, unseen names |", "|---|---|---|---|---|",
           f"| **this model** | | {summary['training']['stopped_by']} | "
           f"{_pct(choice['this']['f1'])} | **{unseen(choice['this'])}** |"]
  for run in choice["runs"]:
    differs = ("one of its members, alone" if run.get("member")
               else ", ".join(run["differs"]))
    lines.append(f"| {run['name']} | {differs} | "
                 f"{run['stopped_by']} | {_pct(run['dev']['f1'])} | "
                 f"{unseen(run['dev'])} |")
  return lines


def _data(summary: Dict) -> List[str]:
  data = summary["data"]
  lines = ["## Data and its terms", "", f"Labels: {data['source']}.", "",
           f"Terms: {data['terms']}"]
  if summary.get("vectors_from"):
    lines += ["", "Character vectors: PPMI-SVD over the text (not the "
              "labels) of " + ", ".join(f"`{s}`" for s in
                                        summary["vectors_from"])
              + ", every sentence that occurs in a dev or test split removed "
              "first (`python -m bert_mtl_ner.data --action=vectors`)."]
  return lines


def _calibration(summary: Dict) -> List[str]:
  calib = summary["calibration"]
  how = ("cross-fitted: each half of the split scored at the temperature "
         "fitted on the other half" if calib["cross_fitted"] else
         f"at the temperature fitted on {summary['dataset']} "
         f"{summary['fit_split']}")
  return ["## Calibration", "",
          f"Temperature {calib['temperature']:.3f}, fitted on "
          f"{summary['dataset']} {summary['fit_split']} and stored in "
          "`calibration.json` (it scales the entity scores, never the tags). "
          f"Expected calibration error of the entity scores on "
          f"{summary['dataset']} {summary['split']} ({calib['entities']} "
          f"predicted entities): {calib['ece_before']:.4f} at temperature 1, "
          f"{calib['ece_after']:.4f} after ({how})."]


def _speed(summary: Dict) -> List[str]:
  speed = summary["speed"]
  return ["## Speed", "",
          f"On {speed['hardware']}: {speed['chars_per_second']:.0f} "
          f"characters/s ({speed['sentences_per_second']:.0f} sentences/s) "
          f"tagging the {speed['sentences']} sentences of the split in "
          f"batches of {speed['batch_size']}; one sentence alone takes "
          f"{speed['latency_ms_median']:.1f} ms (median of "
          f"{speed['latency_sentences']})."]


def _novelty(summary: Dict) -> str:
  """How well it finds names it was never taught, when the summary has it."""
  novelty = summary["scores"].get("novelty")
  if not novelty or "unseen" not in novelty or "seen" not in novelty:
    return ""
  unseen, seen = novelty["unseen"], novelty["seen"]
  return (f" It finds {unseen['recall']:.1f}% of those (F1 "
          f"{unseen['f1']:.2f}), against {seen['recall']:.1f}% of the names it "
          f"was taught (F1 {seen['f1']:.2f}).")


def _limits(summary: Dict) -> List[str]:
  unseen = summary["unseen"]
  share = 100 * unseen["unseen"] / max(unseen["entities"], 1)
  return (["## Known limits", ""] +
          [f"- {line}" for line in summary["data"]["limits"]] +
          [f"- Names it has never seen: {unseen['unseen']} of the "
           f"{unseen['entities']} gold entities of {summary['dataset']} "
           f"{summary['split']} ({share:.1f}%) never occur, with their type, "
           "as an entity of its training split." + _novelty(summary),
           "- Characters outside its vocabulary (`vocab.txt`) are read as "
           "`[UNK]`."])


def render(summary: Dict) -> str:
  """The card of a shipped model from its summary."""
  name = summary["name"]
  types = ", ".join(summary["types"])
  lines = [f"# Shipped model `{name}`", "",
           f"Tags {types} in Chinese text. Generated by `python -m "
           f"bert_mtl_ner.ship` from `{SUMMARY}` beside it; do not edit.", "",
           "```bash",
           f"echo 张三在北京大学工作。 | bert-mtl-ner predict --model={name}",
           f"bert-mtl-ner serve --model={name}      # then open "
           "http://127.0.0.1:8501/",
           f"bert-mtl-ner evaluate --model={name} --dataset="
           f"{summary['dataset']} --split={summary['split']}",
           "```", ""]
  for part in (_scores, _training, _choice, _alternatives, _data,
               _calibration, _speed, _limits):
    section = part(summary)
    lines += section + [""] if section else []
  size = summary["weights"].get("folder_bytes", 0)
  lines += ["## Files", "",
            f"{size / 1e6:.1f} MB in all; `SHA256SUMS` holds the sha256 of "
            "each file, checked whenever `--model` loads it."]
  return "\n".join(lines) + "\n"


ARCHITECTURES = {"bilstm_crf": "BiLSTM-CRF", "bert_crf": "BERT-CRF",
                 "bert_bilstm_crf": "BERT-BiLSTM-CRF", "mtl": "multi-task"}


def readme_table(summaries: List[Dict], folder: str) -> str:
  """The README's table of the shipped models, from their summaries.

  Args:
    summaries: the shipped models' summaries.
    folder: the shipped models' folder, relative to the README.
  """
  lines = ["| model | types | architecture | score (whole split) | size | "
           "speed on this CPU | card |", "|---|---|---|---|---|---|---|"]
  for summary in summaries:
    runs = summary["training"].get("members") or [summary["training"]]
    extras = []
    if summary.get("vectors_from"):
      extras.append("character vectors")
    for run in runs:
      flags = dict(line.lstrip("-").partition("=")[::2]
                   for line in run["flags"])
      if int(flags.get("bigram_buckets", 0) or 0):
        extras.append("hashed bigrams")
        break
    architecture = " / ".join(sorted({ARCHITECTURES.get(r.get(
        "model", summary["architecture"]), summary["architecture"])
                                      for r in runs}))
    if extras:
      architecture += " + " + " + ".join(extras)
    if len(runs) > 1:
      architecture = f"ensemble of {len(runs)}: {architecture}"
    scores = summary["scores"]
    score = (f"{summary['dataset']} {summary['split']}: F1 "
             f"{_pct(scores['f1'])}, macro F1 {_pct(scores['macro_f1'])}")
    lines.append(
        f"| `{summary['name']}` | {', '.join(summary['types'])} | "
        f"{architecture} | {score} | "
        f"{summary['weights']['folder_bytes'] / 1e6:.1f} MB | "
        f"{summary['speed']['chars_per_second']:.0f} characters/s | "
        f"[MODEL.md]({folder}/{summary['name']}/{CARD}) |")
  return "\n".join(lines)
