"""bert_mtl_ner: multi-task BERT-BiLSTM-AM-CRF for Chinese named entity recognition.

The package is laid out by role, in the order data flows through it:

* ``bert_mtl_ner.data``: corpus readers, tag schemes, the dataset registry, statistics,
  cross-corpus overlap and the ``tf.data`` input pipeline.
* ``bert_mtl_ner.tokenization``: one-token-per-character BERT tokenization and windowing.
"""

__version__ = "0.1.0"

from bert_mtl_ner import quiet as _quiet  # pylint: disable=g-import-not-at-top

_quiet.configure()
