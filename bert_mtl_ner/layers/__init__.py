"""Keras layers: the CRF, the wrapped BERT encoder."""
