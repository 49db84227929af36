"""Windowed prediction with a trained model: every character of every text.

Texts longer than a window (``max_seq_len - 2`` characters) are cut into
overlapping windows (``tokenization.windows``); all windows of a batch of texts are
sorted by length, batched, decoded by the model's CRF, and merged back per text
(``tokenization.merge_windows``). A merge can join two windows' paths into an
invalid BIO sequence; it is repaired as the readers repair input (``I-X`` after
anything but ``X`` becomes ``B-X``), so the result is always valid BIO.
"""

from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from bert_mtl_ner import run_dir
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras


def entities_of(text: str, tags: Sequence[str]) -> List[Dict]:
  """JSON-ready entities ``{start, end, type, text}`` of BIO tags over ``text``."""
  return [{"start": s.start, "end": s.end, "type": s.type,
           "text": text[s.start:s.end]} for s in tags_lib.tags_to_spans(tags)]


class Tagger:
  """Predicts BIO tags for character sequences of any length.

  Args:
    model: a model of ``bert_mtl_ner.models`` (outputs ``tags``).
    tokenizer: the tokenizer of its vocabulary.
    labels: label names in id order.
    max_seq_len: tokens per window, specials included.
    stride: characters between window starts; default 3/4 of a window.
    batch_size: windows per model call.
  """

  def __init__(self, model: keras.Model, tokenizer: tokenization.CharTokenizer,
               labels: Sequence[str], max_seq_len: int,
               stride: Optional[int] = None, batch_size: int = 64):
    self.model = model
    self.tokenizer = tokenizer
    self.labels = list(labels)
    self.window = tokenization.max_chars(max_seq_len)
    self.stride = stride
    self.batch_size = batch_size
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec])
    def decode(input_ids, attention_mask):
      return model({"input_ids": input_ids, "attention_mask": attention_mask},
                   training=False)["tags"]

    self._decode = decode

  @classmethod
  def from_model_dir(cls, model_dir: str, batch_size: int = 64) -> "Tagger":
    """The tagger of a trained model directory (best weights)."""
    model, tokenizer, labels, config = run_dir.load(model_dir)
    return cls(model, tokenizer, labels, config.max_seq_len,
               batch_size=batch_size)

  def predict_tags(self, sequences: Sequence[Sequence[str]]) -> List[List[str]]:
    """BIO tags, one per character, for each character sequence."""
    rows = []  # (sequence index, window)
    for index, chars in enumerate(sequences):
      for span in tokenization.windows(len(chars), self.window, self.stride):
        rows.append((index, span))
    order = sorted(range(len(rows)),
                   key=lambda r: rows[r][1].end - rows[r][1].start)
    window_tags: List[Optional[np.ndarray]] = [None] * len(rows)
    for begin in range(0, len(order), self.batch_size):
      chunk = order[begin:begin + self.batch_size]
      encoded = [self.tokenizer.encode(
          sequences[rows[r][0]][rows[r][1].start:rows[r][1].end]) for r in chunk]
      width = max(len(e) for e in encoded)
      ids = np.zeros([len(chunk), width], np.int32)
      mask = np.zeros([len(chunk), width], np.int32)
      for i, e in enumerate(encoded):
        ids[i, :len(e)] = e
        mask[i, :len(e)] = 1
      decoded = self._decode(ids, mask).numpy()
      for i, r in enumerate(chunk):
        span = rows[r][1]
        window_tags[r] = decoded[i, 1:1 + span.end - span.start]
    results: List[List[str]] = []
    cursor = 0
    for chars in sequences:
      spans, preds = [], []
      while cursor < len(rows) and rows[cursor][0] == len(results):
        spans.append(rows[cursor][1])
        preds.append(window_tags[cursor])
        cursor += 1
      merged = tokenization.merge_windows(len(chars), spans, preds)
      names = [self.labels[int(i)] for i in merged]
      results.append(tags_lib.to_bio(names)[0])
    return results

  def entities(self, texts: Sequence[str]) -> List[List[Dict]]:
    """Entities with character offsets into each raw text."""
    return [entities_of(text, tags)
            for text, tags in zip(texts, self.predict_tags(texts))]
