r"""Runs the experiment grid and writes ``results/REPORT.md`` (run_experiments.sh).

  python -m bert_mtl_ner.experiments --preset=cpu
  python -m bert_mtl_ner.experiments --preset=smoke --results_dir=/tmp/r --seeds=1
  python -m bert_mtl_ner.experiments --preset=paper --bert_model=/models/bert-base-chinese
  python -m bert_mtl_ner.experiments --preset=full --plan
  python -m bert_mtl_ner.experiments --preset=full --budget_minutes=100

Every flag of ``bert_mtl_ner.train`` passes through to every run and overrides
the preset (except what defines a cell: model, dataset, auxiliary tasks,
unlabeled data, attention and weighting switches, seed, model_dir). Finished runs
are kept: running the same command again resumes the grid. A preset with a
record folder (full: ``docs/results/full``) also keeps every finished run there
as a small committed record and writes its report there; ``--plan`` lists the
runs, their state and estimated time without training anything.
"""

import dataclasses
import datetime
import os
import re
import sys
import time
from typing import Dict, Optional, Tuple

from absl import flags
from absl import logging

from bert_mtl_ner import cli
from bert_mtl_ner import config_flags
from bert_mtl_ner import io_utils
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.experiments import grid as grid_lib
from bert_mtl_ner.experiments import plan as plan_lib
from bert_mtl_ner.experiments import presets as presets_lib
from bert_mtl_ner.experiments import pretrained
from bert_mtl_ner.experiments import records
from bert_mtl_ner.experiments import report as report_lib
from bert_mtl_ner.experiments import run_spec
from bert_mtl_ner.experiments import unseen
from bert_mtl_ner.experiments import workers
from bert_mtl_ner.io_utils import atomic_write_text, write_json
from bert_mtl_ner.training.run_config import TrainRun

config_flags.define_flags(TrainRun)
flags.DEFINE_enum("preset", "cpu", list(presets_lib.PRESETS), "Grid size.")
flags.DEFINE_string("results_dir", "results", "Where runs and REPORT.md go.")
flags.DEFINE_list("seeds", [], "Seeds of the grid's rows (default: the "
                  "preset's). The rows the paper's claims rest on keep the "
                  "preset's claim seeds (full: 1,2,3).")
flags.DEFINE_string("cells", "", "Train (and --plan) only the cells whose name "
                    "(dataset/variant) matches this regular expression; the "
                    "report still covers the whole grid.")
flags.DEFINE_string("shard", "", "I/N: train (and --plan) only part I of N "
                    "disjoint parts of the runs, chosen by a stable hash of "
                    "each run's cell and seed, for a cluster's job array "
                    "(docs/experiments.md); the report covers the whole grid.")
flags.DEFINE_integer("jobs", None, "Worker processes sharing the grid (default: "
                     "the preset's); each gets cores/jobs threads.")
flags.DEFINE_string("pretrain", None, "A bert_mtl_ner.pretrain flagfile whose "
                    "encoder the BERT rows use, pretrained once and cached "
                    "(default: the preset's, e.g. configs/pretrain_cpu.cfg); "
                    "empty: the preset's random-init BERT. --bert_model=DIR "
                    "skips it.")
flags.DEFINE_string("pretrain_cache", None, "Where pretrained encoders are "
                    "cached; several, comma-separated, are looked up in order "
                    "and a missing encoder is pretrained into the last "
                    "(default: ../shared/pretrained beside the repository when "
                    "it exists, then RESULTS_DIR/pretrained).")
flags.DEFINE_string("record_dir", None, "Where finished runs are kept as "
                    "committed records and the report is written (default: "
                    "the preset's, full: docs/results/full; relative to the "
                    "repository).")
flags.DEFINE_bool("plan", False, "Print every run, its state and estimated "
                  "time, and the total; train nothing.")
flags.DEFINE_bool("report", False, "Write the report from the runs finished "
                  "so far (committed records and the results folder); train "
                  "nothing.")
flags.DEFINE_bool("rerun_stale", False, "Train again the runs whose committed "
                  "record was made with other flags or another encoder "
                  "(default: refuse them).")
flags.DEFINE_float("budget_minutes", 0, "Start no run whose estimate would end "
                   "it more than this many minutes after the grid started "
                   "(0: no limit); what is left runs next time.")
flags.DEFINE_integer("eval_limit", None, "Score only the first N sentences of "
                     "each evaluation split (default: the preset's; 0: all).")
flags.DEFINE_bool("worker", False, "Internal: run claimed runs, no report.")
FLAGS = flags.FLAGS

CELL_FIELDS = ("model", "dataset", "aux_tasks", "unlabeled", "use_attention",
               "similarity_weights", "seed", "model_dir", "train_file",
               "dev_file")


def locked_fields():
  """TrainRun fields given on the command line (no preset value overrides
  them)."""
  return tuple(f.name for f in dataclasses.fields(TrainRun)
               if FLAGS[f.name].present)


def base_run(preset: presets_lib.Preset) -> TrainRun:
  """TrainRun defaults < preset < flags given on the command line."""
  overrides = {k: v for k, v in preset.overrides.items()
               if not FLAGS[k].present}
  for name in CELL_FIELDS:
    if FLAGS[name].present:
      logging.warning("--%s is set per cell by the grid; ignored", name)
  return config_flags.from_flags(TrainRun, **overrides)


def with_record_dir(preset: presets_lib.Preset) -> presets_lib.Preset:
  """``preset`` with ``--record_dir`` (relative paths from the repository)."""
  folder = FLAGS.record_dir if FLAGS.record_dir is not None else \
      preset.record_dir
  if folder and not os.path.isabs(folder):
    folder = os.path.join(pretrained.REPO_ROOT, folder)
  return dataclasses.replace(preset, record_dir=folder or None)


def relative_command(argv) -> str:
  """The command line with this machine's absolute paths made relative to the
  repository."""
  return "python -m bert_mtl_ner.experiments " + " ".join(
      io_utils.relative_arg(a, str(pretrained.REPO_ROOT)) for a in argv)


def pretraining_flagfile(preset: presets_lib.Preset) -> Optional[str]:
  """The flagfile of the grid's own encoder, or None (random init, or the
  user's --bert_model)."""
  if FLAGS["bert_model"].present:
    return None
  flagfile = preset.pretrain if FLAGS.pretrain is None else FLAGS.pretrain
  return flagfile or None


def default_cache() -> str:
  """``../shared/pretrained`` (when it exists beside the repository: the
  encoder every machine shares), then ``RESULTS_DIR/pretrained``."""
  shared = os.path.join(os.path.dirname(pretrained.REPO_ROOT), "shared",
                        "pretrained")
  local = os.path.join(FLAGS.results_dir, "pretrained")
  return f"{shared},{local}" if os.path.isdir(shared) else local


def with_encoder(base: TrainRun, flagfile: Optional[str],
                 pretrain: bool = True) -> Tuple[TrainRun, Optional[Dict]]:
  """``base`` with the cached encoder of ``flagfile`` (pretrained first if the
  cache lacks it and ``pretrain``) and the encoder's summary for the report;
  ``base`` and None without one, and None for an encoder not pretrained
  yet."""
  if not flagfile:
    return base, None
  cache = FLAGS.pretrain_cache or default_cache()
  if pretrain:
    folder, reused = pretrained.ensure(flagfile, cache, base.data_dir)
  else:
    folder, reused = pretrained.find(flagfile, cache), True
    if not pretrained.is_complete(folder):
      return dataclasses.replace(base, bert_model=folder), None
  about = dict(pretrained.summary(folder), reused=reused,
               flagfile=os.path.relpath(pretrained.resolve_flagfile(flagfile),
                                        pretrained.REPO_ROOT))
  return dataclasses.replace(base, bert_model=folder), about


class Grid:
  """The planned runs of one invocation (re-planned after every run, since
  the best single-task BERT row is known only once its first seed ran).

  The plan always covers every cell, so that the best single-task row is
  chosen among all of them and the report is of the whole grid; ``select``
  (``--cells``) narrows what this invocation trains and plans."""

  def __init__(self, preset, cells, seeds, base, encoder_sha, start,
               select="", shard=None, sharing=1):
    self.preset, self.cells, self.seeds = preset, cells, seeds
    self.base, self.encoder_sha, self.start = base, encoder_sha, start
    self.select, self.shard = select, shard
    self.sharing = sharing  # worker processes training on this machine
    self.locked = locked_fields()
    self.throughput = plan_lib.load_throughput(preset.record_dir)

  def plan(self, whole: bool = False):
    """(runs, how the estimates were made): the selected runs, or with
    ``whole`` every run of the grid."""
    def build(seeds):
      return plan_lib.build_plan(self.cells, self.preset, self.base, seeds,
                                 self.locked, self.encoder_sha,
                                 FLAGS.results_dir)
    runs = build(self.seeds)
    # Estimates come from every run of every seed the preset has records
    # of: with --seeds=2 the seconds per epoch and the epochs early stopping
    # took are still those of seed 1's records (and --budget_minutes sees
    # them), not the cap's worst case.
    every = sorted(set(self.seeds) | set(self.preset.seeds))
    pool = runs if every == sorted(self.seeds) else build(every)
    how = plan_lib.add_estimates(pool, self.throughput)  # from every run
    estimates = {(r.cell.name, r.seed): r.estimate_seconds for r in pool}
    for r in runs:
      r.estimate_seconds = estimates.get((r.cell.name, r.seed))
    if not whole:
      runs = [r for r in runs if re.search(self.select, r.cell.name)]
      if self.shard:
        part, count = self.shard
        runs = [r for r in runs
                if grid_lib.shard_of(r.cell.name, r.seed, count) == part]
    return runs, how

  def check_stale(self, runs) -> None:
    stale = [(records.record_path(self.preset.record_dir, r.cell.dataset,
                                  r.cell.variant, r.seed), r.stale)
             for r in runs if r.state == "stale"]
    if stale and not FLAGS.rerun_stale:
      raise UsageError(records.stale_message(stale))

  def fits(self, run) -> bool:
    """The run can end within ``--budget_minutes``."""
    if not FLAGS.budget_minutes:
      return True
    left = self.start + 60 * FLAGS.budget_minutes - time.time()
    return (run.estimate_seconds or 0) <= left

  def to_train(self, runs):
    """The runs of ``runs`` that this grid still has to train, or to record
    (finished here but without a record in the preset's record folder)."""
    return [r for r in runs if r.state in ("todo", "stale") or (
        r.state == "done" and self.preset.record_dir)]

  def run(self, claim: bool, after_each=None) -> None:
    """Trains and scores every planned run without a result; with ``claim``
    only those this process claims first (see ``workers``); ``after_each()``
    after every run."""
    # The training code (TensorFlow) is imported by the runs alone, so that
    # --plan and --report start without it.
    from bert_mtl_ner.experiments import runner  # pylint: disable=g-import-not-at-top
    version = records.code_version(str(pretrained.REPO_ROOT))
    skipped = set()
    while True:
      runs, _ = self.plan()
      todo = [r for r in self.to_train(runs)
              if (r.cell.name, r.seed) not in skipped]
      if not todo:
        return
      r = todo[0]
      skipped.add((r.cell.name, r.seed))
      folder = run_spec.run_path(FLAGS.results_dir, r.cell, r.seed)
      if r.state == "done":  # finished here, not yet recorded: record it
        runner.run_cell(self.base, r.cell, r.seed, self.preset,
                        FLAGS.results_dir, self.locked, self.encoder_sha)
        continue
      if not self.fits(r):
        print(f"skip {r.cell.name} seed {r.seed}: its estimate "
              f"({r.estimate_seconds / 60:.0f} min) passes --budget_minutes",
              flush=True)
        continue
      if claim and not workers.claim(folder):
        continue
      done = sum(1 for x in runs if x.finished)
      print(f"[{done + 1}/{len(runs)}] {r.cell.name} seed {r.seed}",
            flush=True)
      runner.run_cell(self.base, r.cell, r.seed, self.preset,
                      FLAGS.results_dir, self.locked, self.encoder_sha,
                      FLAGS.rerun_stale, version, self.sharing)
      if after_each:
        after_each()


def main(argv) -> None:
  del argv
  preset = with_record_dir(presets_lib.get_preset(FLAGS.preset))
  if FLAGS.eval_limit is not None:
    preset = dataclasses.replace(preset, eval_limit=FLAGS.eval_limit)
  seeds = [int(s) for s in FLAGS.seeds] or list(preset.seeds)
  flagfile = pretraining_flagfile(preset)
  cells = grid_lib.build_grid(random_init_rows=bool(flagfile)
                              and preset.random_init_rows,
                              extra=preset.extra_cells)
  grid_lib.check_selection(FLAGS.cells, [c.name for c in cells])
  shard = grid_lib.parse_shard(FLAGS.shard)
  base = base_run(preset)
  # run_experiments.sh sets the start before its data checks.
  start = float(os.environ.get("BERT_MTL_NER_GRID_START") or time.time())
  started = datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
  jobs = FLAGS.jobs or preset.jobs
  # Workers find the encoder in the cache that the main process filled; plan
  # and report pretrain nothing.
  base, encoder = with_encoder(base, flagfile,
                               pretrain=not (FLAGS.plan or FLAGS.report))
  encoder_sha = records.encoder_sha256(base.bert_model)
  if FLAGS.report and flagfile and encoder is None:
    # Its records' encoder checksum would match nothing: every BERT row would
    # be left out as stale, and the report written over without them.
    raise UsageError(
        f"--report: no encoder pretrained by {flagfile} in --pretrain_cache "
        f"({FLAGS.pretrain_cache or default_cache()}); the BERT rows' records "
        "are matched to it by checksum. Give the cache that holds it (e.g. "
        "--pretrain_cache=../shared/pretrained).")
  # A worker that run_workers started is one of as many as its environment
  # says; its runs record that.
  sharing = (int(os.environ.get(workers.WORKERS_ENV) or 1) if FLAGS.worker
             else 1)
  grid = Grid(preset, cells, seeds, base, encoder_sha, start, FLAGS.cells,
              shard, sharing)
  if FLAGS.plan:
    runs, how = grid.plan()
    if shard:
      print(f"shard {shard[0]}/{shard[1]}: {len(runs)} of "
            f"{len(grid.plan(whole=True)[0])} runs")
    print(plan_lib.format_plan(runs, how, jobs))
    if encoder_sha is None and flagfile:
      print(f"(no cached encoder at {base.bert_model}: the first grid "
            "invocation pretrains it, about 50 minutes on a 2-core CPU)")
    return
  if FLAGS.worker:
    grid.run(claim=True)
    return
  if not FLAGS.report:
    planned = grid.plan()[0]
    grid.check_stale(planned)
    # The grid's bar is on unless --progress=false (the presets turn off only
    # each run's own bars, which several workers would interleave).
    with progress_lib.bar(len(planned), "grid", "runs",
                          enabled=FLAGS.progress or not FLAGS["progress"].present
                          ) as bar:
      def poll():
        bar.n = sum(1 for r in grid.plan()[0] if r.finished)
        bar.refresh()
      poll()
      # No more workers than runs to train; none (and no TensorFlow) when
      # every run is finished and recorded.
      needed = min(jobs, len(grid.to_train(planned)))
      if needed > 1:
        workers.clear_claims(FLAGS.results_dir)
        workers.run_workers(sys.argv[1:], needed, poll)
      elif needed:
        grid.run(claim=False, after_each=poll)
      else:
        print("nothing to train: every selected run has its result",
              flush=True)
  runs, _ = grid.plan(whole=True)
  meta = {"preset": preset.name, "description": preset.description,
          "command": relative_command(sys.argv[1:]),
          "hardware": records.hardware(gpus=not FLAGS.report), "jobs": jobs,
          "started": started.strftime("%Y-%m-%d %H:%M UTC"),
          "wall_seconds": time.time() - start, "report_only": FLAGS.report}
  if encoder:
    meta["pretraining"] = dict(encoder, tf_model_sha256=encoder_sha)
  out = preset.record_dir or FLAGS.results_dir
  write_report(out, runs, meta, base.data_dir)


def write_report(folder: str, runs, meta, data_dir=None) -> None:
  """``summary.json`` and ``REPORT.md`` of the finished runs of ``runs``, with
  the unfinished ones marked missing (and People's Daily test scored also on
  its sentences unseen in MSRA train: ``unseen``)."""
  results = [r.result for r in runs if r.finished]
  if unseen.scored_whole(results, data_dir):
    overlap = unseen.overlap_counts(data_dir)
    results = unseen.with_unseen_scores(results, overlap.pop("unseen_mask"))
    meta = dict(meta, peoples_daily_overlap=overlap)
  missing = [(r.cell.name, r.seed) for r in runs
             if not r.finished and r.state != "waiting"]
  # Extra seeds of a best single-task row not chosen yet: one set per corpus.
  meta = dict(meta, undecided_seeds=len({(r.cell.dataset, r.seed)
                                          for r in runs
                                          if r.state == "waiting"}),
              stale_records=sum(1 for r in runs if r.state == "stale"),
              left=plan_lib.work_left(runs))
  data = report_lib.report_data(results, meta, missing)
  write_json(os.path.join(folder, "summary.json"), data)
  path = os.path.join(folder, "REPORT.md")
  atomic_write_text(path, report_lib.build_report(results, meta, missing,
                                                  data))
  print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main)
