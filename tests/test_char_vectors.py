"""Character vectors from unlabeled text: counts, PPMI-SVD, word2vec output."""

import numpy as np

from bert_mtl_ner import tokenization
from bert_mtl_ner.data import char_vectors
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.models.bilstm_crf import load_word2vec_text

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "张", "李", "王", "说", "去",
          "北", "京", "上", "海", "了"]


def _tokenizer():
  return tokenization.CharTokenizer({t: i for i, t in enumerate(TOKENS)})


def _sentences(texts):
  return [Sentence(tuple(t), None, "x", i + 1) for i, t in enumerate(texts)]


def test_counts_are_symmetric_weighted_and_stay_inside_sentences():
  counts = char_vectors.cooccurrence(_sentences(["张说", "李去北", "?王"]),
                                     _tokenizer(), window=2).toarray()
  ids = {t: i for i, t in enumerate(TOKENS)}
  assert counts[ids["张"], ids["说"]] == counts[ids["说"], ids["张"]] == 1.0
  assert counts[ids["李"], ids["北"]] == 0.5  # two apart
  assert counts[ids["说"], ids["李"]] == 0.0  # across sentences
  assert counts[ids["王"]].sum() == 0.0  # its only neighbour is [UNK]


def test_characters_in_the_same_contexts_get_close_vectors():
  texts = [f"{name}说去{place}了" for name in "张李王" for place in
           ("北京", "上海")] * 5
  counts = char_vectors.cooccurrence(_sentences(texts), _tokenizer())
  vectors = char_vectors.ppmi_vectors(counts, dim=4)
  ids = {t: i for i, t in enumerate(TOKENS)}
  norms = np.linalg.norm(vectors[[ids[c] for c in "张李说北"]], axis=1)
  np.testing.assert_allclose(norms, 1.0, atol=1e-6)
  cos = lambda a, b: float(vectors[ids[a]] @ vectors[ids[b]])
  assert cos("张", "李") > 0.99  # interchangeable surnames
  assert cos("张", "李") > cos("张", "京") + 0.2


def test_word2vec_file_loads_as_embeddings(tmp_path, write):
  counts = char_vectors.cooccurrence(_sentences(["张说去北京了"] * 3),
                                     _tokenizer())
  vectors = char_vectors.ppmi_vectors(counts, dim=3)
  path = str(tmp_path / "vectors.txt")
  written = char_vectors.write_word2vec(path, TOKENS, vectors,
                                        skip=TOKENS[:4])
  assert written == 6  # the characters seen next to another known one
  vocab = write("vocab.txt", "\n".join(TOKENS) + "\n")
  matrix = load_word2vec_text(path, vocab, 3)
  np.testing.assert_allclose(matrix[TOKENS.index("京")],
                             vectors[TOKENS.index("京")], atol=1e-5)
