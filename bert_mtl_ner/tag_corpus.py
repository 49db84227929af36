r"""Tags a corpus of any size on Apache Beam (see ``bert_mtl_ner.bulk``).

  python -m bert_mtl_ner.tag_corpus --saved_model=EXPORT --input='news/*.txt' \
      --output=tagged/news [--text_field=text] [--max_chars=100000] \
      [--runner=DirectRunner --direct_num_workers=2 \
       --direct_running_mode=multi_processing]

Input: plain text, one document per line, or JSONL whose ``--text_field``
holds the text (``--input_format``, by default by the file's ending). Output:
``PREFIX-SSSSS-of-NNNNN.jsonl`` shards, one line per input line,
``{"file", "line", "text", "entities"}`` with ``predict``'s entities; lines
that cannot be tagged go to ``PREFIX-errors-*.jsonl`` with their file, line and
reason, and their count is printed at the end. Every flag that is not this
command's is a Beam pipeline option (``--runner``, ``--project``, ...).
"""

from absl import flags

from bert_mtl_ner import bulk
from bert_mtl_ner import cli
from bert_mtl_ner.errors import UsageError

flags.DEFINE_string("saved_model", None, "A SavedModel written by export "
                    "(a path every worker can read).")
flags.DEFINE_string("input", None, "Files to tag: a glob.")
flags.DEFINE_string("output", None, "Prefix of the output shards.")
flags.DEFINE_enum("input_format", "auto", list(bulk.FORMATS),
                  "text: one document per line; jsonl: one JSON object per "
                  "line; auto: jsonl for .jsonl/.json/.ndjson files, else "
                  "text.")
flags.DEFINE_string("text_field", "text", "JSONL: the field with the text.")
flags.DEFINE_integer("max_chars", 100000, "Longer texts go to the dead "
                     "letters (0: no limit).")
FLAGS = flags.FLAGS


def main(argv) -> None:
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  from apache_beam.io.filesystems import FileSystems  # pylint: disable=g-import-not-at-top
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=g-import-not-at-top
  from apache_beam.options.pipeline_options import StandardOptions  # pylint: disable=g-import-not-at-top
  for name in ("saved_model", "input", "output"):
    if not FLAGS[name].value:
      raise UsageError(f"--{name} is required")
  if not FileSystems.exists(FLAGS.saved_model):
    raise UsageError(f"--saved_model={FLAGS.saved_model}: no such directory")
  matched = FileSystems.match([FLAGS.input])[0].metadata_list
  if not matched:
    raise UsageError(f"--input={FLAGS.input} matches no file")
  options = PipelineOptions(argv[1:])
  standard = options.view_as(StandardOptions)
  standard.runner = standard.runner or "DirectRunner"  # said, not guessed
  pipeline = beam.Pipeline(options=options)
  bulk.build(pipeline, FLAGS.saved_model, FLAGS.input, FLAGS.output,
             FLAGS.input_format, FLAGS.text_field, FLAGS.max_chars)
  result = pipeline.run()
  result.wait_until_finish()
  counted = bulk.counts(result)
  said = lambda key: "?" if counted[key] is None else counted[key]
  print(f"tagged {said('tagged')} documents of {len(matched)} file(s) into "
        f"{FLAGS.output}-*.jsonl (the model loaded {said('model_loads')} "
        f"time(s)); {said('dead_letters')} dead-letter record(s) in "
        f"{FLAGS.output}-errors-*.jsonl")


if __name__ == "__main__":
  cli.run(main, pass_unknown=True)
