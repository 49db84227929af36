r"""Assembles trained runs into one model directory that averages their CRF
scores (``models.ensemble``).

  python -m bert_mtl_ner.ensemble --members=runs/a,runs/b,runs/c \
      --model_dir=runs/abc

The members must share labels, vocabulary, window and lower-casing; each
keeps its own architecture and features. The new directory holds the
ensemble's config (every member's config inside), the members' weights and
the mean of their CRF transitions (``weights.npz``), ``members.json`` (each
member's flags and how its training ended: epochs, best epoch, dev curve,
stopped by) and, in ``best.json``, the ensemble's F1 on the members' dev
split. ``predict``, ``evaluate``, ``serve``, ``export``, ``calibrate``,
``select`` and ``ship`` take it like any model directory; ``train`` does not.
It is written whole or not at all, and an existing ``--model_dir`` is never
overwritten.
"""

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import ensembling

flags.DEFINE_list("members", None, "Model directories of the trained runs.")
flags.DEFINE_string("model_dir", None, "The new model directory.")
flags.DEFINE_string("data_dir", None, "Data folder (for the dev F1).")
flags.mark_flags_as_required(["members", "model_dir"])
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  members = [ensembling.read_member(path) for path in FLAGS.members]
  ensembling.check_members(members)
  f1 = ensembling.write(FLAGS.model_dir, members, FLAGS.data_dir)
  for member in members:
    history = member["history"]
    print(f"member {member['dir']}: dev F1 {history['dev_f1']:.2f} (epoch "
          f"{history['best_epoch']}, stopped by {history['stopped_by']})")
  print(f"ensemble {FLAGS.model_dir}: dev F1 {f1:.2f}")


if __name__ == "__main__":
  cli.run(main)
