"""BiLSTM-CRF: character embeddings, BiLSTM, emissions, CRF (no BERT).

With ``config.char_dropout`` a share of the input characters is read as
``[UNK]`` in training (``layers.token_dropout``). With
``config.bigram_buckets`` the embeddings of each character's left and right
bigram (hashed, ``layers.bigram_embedding``) are concatenated to its character
embedding.

Dropout (``config.dropout``) acts on the embeddings and on the BiLSTM outputs, as
in Lample et al. (2016); their 0.5 is what ``configs/*_bilstm_crf.cfg`` use.
"""

import numpy as np

from bert_mtl_ner import tokenization
from bert_mtl_ner.errors import DataError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers.bigram_embedding import BigramEmbedding
from bert_mtl_ner.layers.token_dropout import TokenDropout
from bert_mtl_ner.models import heads
from bert_mtl_ner.models.config import ModelConfig


def load_word2vec_text(path: str, vocab_file: str, dim: int,
                       seed: int = 0) -> np.ndarray:
  """An embedding matrix [vocab, dim] from a word2vec text file.

  Rows of characters found in the file take their vectors; the others keep a
  small random init. The first line may be the ``count dim`` header.

  Raises:
    DataError: a vector of the wrong size, or a file that is not UTF-8 text.
  """
  vocab = tokenization.load_vocab(vocab_file)
  rng = np.random.default_rng(seed)
  matrix = rng.normal(0, 0.1, size=[max(vocab.values()) + 1, dim]).astype(
      np.float32)
  from bert_mtl_ner.data.readers import iter_lines  # pylint: disable=g-import-not-at-top
  for number, line in iter_lines(path):
    fields = line.rstrip().split(" ")
    if number == 1 and len(fields) == 2:
      continue  # "count dim" header
    if len(fields) != dim + 1:
      raise DataError(path, number, f"expected a token and {dim} numbers, found "
                      f"{len(fields) - 1} numbers", line[:80])
    if fields[0] in vocab:
      try:
        matrix[vocab[fields[0]]] = np.asarray(fields[1:], np.float32)
      except ValueError:
        raise DataError(path, number, "not a number in the vector",
                        line[:80]) from None
  return matrix


def build_bilstm_crf(config: ModelConfig) -> keras.Model:
  """Builds the BiLSTM-CRF baseline.

  Args:
    config: model config (``embedding_dim``, ``embeddings_file``,
      ``char_dropout``, ``bigram_*``, ``lstm_*``).

  Returns:
    A functional model ``{input_ids, attention_mask}`` -> ``{emissions, tags}``.
  """
  inputs = heads.model_inputs()
  initializer = "uniform"
  if config.embeddings_file:
    matrix = load_word2vec_text(config.embeddings_file, config.vocab_file,
                                config.embedding_dim)
    initializer = keras.initializers.Constant(matrix)
  input_ids = inputs["input_ids"]
  if config.char_dropout:
    vocab = tokenization.load_vocab(config.vocab_file)
    input_ids = TokenDropout(
        config.char_dropout, vocab[tokenization.UNK],
        [vocab[t] for t in (tokenization.PAD, tokenization.CLS,
                            tokenization.SEP)], name="char_dropout")(input_ids)
  features = keras.layers.Embedding(
      config.vocab_size, config.embedding_dim,
      embeddings_initializer=initializer, name="char_embeddings")(input_ids)
  if config.bigram_buckets:
    bigrams = BigramEmbedding(config.vocab_size, config.bigram_buckets,
                              config.bigram_dim, name="bigram_embeddings")(
                                  input_ids)
    features = keras.layers.Concatenate(name="char_bigram")([features, bigrams])
  features = keras.layers.Dropout(config.dropout,
                                  name="embedding_dropout")(features)
  features = heads.bilstm_stack(features, inputs["attention_mask"], config)
  outputs = heads.crf_outputs(features, inputs["attention_mask"], config)
  return keras.Model(inputs, outputs, name="bilstm_crf")
