"""Corpora: readers, tag schemes, registry, statistics, overlap, input pipeline.

The command ``python -m bert_mtl_ner.data`` (see ``__main__``) exposes the
statistics, download, overlap, split and vocabulary actions.
"""

from bert_mtl_ner.data.readers import FORMATS, detect_format, read_file
from bert_mtl_ner.data.records import ReadReport, Sentence
from bert_mtl_ner.data.registry import DATASETS, read_split, resolve_data_dir

__all__ = ["DATASETS", "FORMATS", "ReadReport", "Sentence", "detect_format",
           "read_file", "read_split", "resolve_data_dir"]
