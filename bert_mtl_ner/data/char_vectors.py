"""Character vectors from unlabeled text: PPMI of co-occurrence, then SVD.

A BiLSTM-CRF learns its character embeddings from the labeled corpus alone, so a
character seen a few times (the given names of MSRA test are mostly new) gets a
poor vector. Counting which characters occur near which in plain text, weighting
the counts by positive pointwise mutual information (with the context
distribution smoothed by ``alpha``, Levy et al. 2015) and keeping the top
``dim`` singular directions gives every character a vector shaped by all its
contexts. No dependency beyond numpy/scipy, deterministic, seconds on a CPU.

The text comes from the training splits and CLUENER2020's unlabeled test file,
never from a dev or test split: any sentence whose text occurs in one is dropped
first. The vectors are written in word2vec text format, keyed by vocabulary
token, for ``--embeddings_file``.
"""

from typing import Iterable, List, Sequence, Tuple

import numpy as np
from scipy import sparse
from scipy.sparse import linalg

from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import tokenization
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.io_utils import atomic_open

SOURCES = ("msra:train", "peoples_daily:train", "cluener:train",
           "cluener:test")


def cooccurrence(sentences: Iterable[Sentence],
                 tokenizer: tokenization.CharTokenizer, window: int = 2,
                 progress: bool = False) -> sparse.csr_matrix:
  """Symmetric counts [vocab, vocab] of ids within ``window``, weighted 1/d
  (with ``progress``, a bar over the sentences on stderr)."""
  size = tokenizer.vocab_size
  pieces: List[np.ndarray] = []
  gap = np.full(window, -1, np.int64)
  total = len(sentences) if hasattr(sentences, "__len__") else None
  for sentence in progress_lib.bar(total, "counting", enabled=progress,
                                   iterable=sentences):
    pieces.append(np.asarray(tokenizer.char_ids(sentence.chars), np.int64))
    pieces.append(gap)
  flat = np.concatenate(pieces) if pieces else np.zeros([0], np.int64)
  flat[flat == tokenizer.unk_id] = -1
  rows, cols, weights = [], [], []
  for distance in range(1, window + 1):
    a, b = flat[:-distance], flat[distance:]
    keep = (a >= 0) & (b >= 0)
    rows += [a[keep], b[keep]]
    cols += [b[keep], a[keep]]
    weights.append(np.full(2 * int(keep.sum()), 1.0 / distance))
  return sparse.csr_matrix(
      (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
      shape=(size, size))


def ppmi_vectors(counts: sparse.csr_matrix, dim: int, alpha: float = 0.75,
                 seed: int = 0) -> np.ndarray:
  """Unit-length vectors [vocab, dim] from the SVD of the PPMI of ``counts``."""
  counts = counts.tocoo()
  rows = np.asarray(counts.sum(axis=1)).ravel()
  context = rows ** alpha
  context /= context.sum()
  # log P(w, c) / (P(w) P_alpha(c)); the total count cancels out.
  pmi = np.log(counts.data / (rows[counts.row] * context[counts.col]))
  keep = pmi > 0
  ppmi = sparse.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])),
                           shape=counts.shape)
  k = min(dim, min(ppmi.shape) - 1)
  start = np.random.default_rng(seed).uniform(size=min(ppmi.shape))
  u, s, _ = linalg.svds(ppmi, k=k, v0=start)
  vectors = u * np.sqrt(s)[None, :]
  norms = np.linalg.norm(vectors, axis=1, keepdims=True)
  return np.divide(vectors, norms, out=np.zeros_like(vectors),
                   where=norms > 0)


def write_word2vec(path: str, tokens: Sequence[str], vectors: np.ndarray,
                   skip: Iterable[str] = ()) -> int:
  """Writes ``token v1 v2 ...`` lines (with the ``count dim`` header) for
  tokens whose vector is not zero; returns how many were written."""
  skip = set(skip)
  rows: List[Tuple[str, np.ndarray]] = [
      (t, v) for t, v in zip(tokens, vectors)
      if t not in skip and t.strip() == t and t and np.any(v)]
  with atomic_open(path) as out:
    out.write(f"{len(rows)} {vectors.shape[1]}\n")
    for token, vector in rows:
      out.write(token + " " + " ".join(f"{x:.5f}" for x in vector) + "\n")
  return len(rows)
