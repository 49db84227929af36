"""Keras layers: the CRF, the wrapped BERT encoder, token dropout, bigram
embeddings, an LSTM without an unusable cuDNN variant."""
