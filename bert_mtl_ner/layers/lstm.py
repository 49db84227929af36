"""An LSTM that adds its cuDNN variant to a traced graph only where one can run.

Keras's ``LSTM``, traced into a graph, calls its standard kernel as a function
and registers the cuDNN kernel beside it (with both gradients) so that Grappler
can swap it in on a GPU. On a machine without a GPU the cuDNN function is never
run, but tracing it is a large part of a small model's first training step and
first tagged batch, which every process pays (``bench/lstm_trace.py``).

Without the cuDNN variant, this layer calls the same standard kernel as a
function, as Keras does: the same numbers to the bit
(``tests/test_models.py::test_lstm_without_cudnn_matches_keras_lstm``) at the
same speed. (Keras's other way round the cuDNN variant, its generic RNN loop,
traces as fast but ran slower once traced, when we tried it.)

A graph traced without a GPU (a SavedModel exported on such a machine, say)
therefore holds the standard kernel only, and runs it on a GPU too.
"""

from typing import Optional

import tensorflow as tf
# Keras's own kernel and variable reads (tf-keras is pinned: setup.py).
from tf_keras.src.layers.rnn import gru_lstm_utils
from tf_keras.src.layers.rnn.lstm import standard_lstm

from bert_mtl_ner.keras import keras


def gpu_visible() -> bool:
  """Whether TensorFlow sees a GPU in this process."""
  return bool(tf.config.list_logical_devices("GPU"))


class LSTM(keras.layers.LSTM):
  """``keras.layers.LSTM`` with the cuDNN variant as an argument.

  Args:
    units: as ``keras.layers.LSTM``.
    cudnn: register the cuDNN variant when traced (Keras's behaviour); None
      (the default): when a GPU is visible at construction. The value decided
      is kept in ``get_config``, so ``Bidirectional``'s copies agree.
    **kwargs: as ``keras.layers.LSTM``.
  """

  def __init__(self, units: int, cudnn: Optional[bool] = None, **kwargs):
    super().__init__(units, **kwargs)
    self.cudnn = gpu_visible() if cudnn is None else bool(cudnn)

  def call(self, inputs, mask=None, training=None, initial_state=None):
    """Keras's call; traced without cuDNN, its branch for a traced graph with
    the standard kernel alone (no ragged inputs, states or statefulness)."""
    if (self.cudnn or tf.executing_eagerly() or not self._could_use_gpu_kernel
        or isinstance(inputs, tf.RaggedTensor) or initial_state is not None
        or self.stateful or self.return_state):
      return super().call(inputs, mask=mask, training=training,
                          initial_state=initial_state)
    inputs, initial_state, _ = self._process_inputs(inputs, None, None)
    if isinstance(mask, list):
      mask = mask[0]
    self.reset_dropout_mask()
    dropout_mask = self.get_dropout_mask_for_cell(inputs, training, count=4)
    if dropout_mask is not None:
      inputs = inputs * dropout_mask[0]
    read = gru_lstm_utils.read_variable_value
    # The standard kernel as a function, as Keras calls it, without the
    # attributes that pair it with a cuDNN variant. A new function for each
    # trace, as Keras makes: a trace made outside XLA has no fixed loop length
    # and cannot be reused inside an XLA-compiled step.
    kernel = tf.function(standard_lstm, autograph=False)
    last_output, outputs, _, _, _ = kernel(
        inputs=inputs, init_h=read(initial_state[0]),
        init_c=read(initial_state[1]), kernel=read(self.cell.kernel),
        recurrent_kernel=read(self.cell.recurrent_kernel),
        bias=read(self.cell.bias), mask=mask, time_major=self.time_major,
        go_backwards=self.go_backwards, sequence_lengths=None,
        zero_output_for_mask=self.zero_output_for_mask,
        return_sequences=self.return_sequences)
    return outputs if self.return_sequences else last_output

  def get_config(self):
    config = super().get_config()
    config["cudnn"] = self.cudnn
    return config
