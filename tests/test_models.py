"""Model builders: graphs, shapes, configs, the BERT wrapper."""

import numpy as np
import pytest
import tensorflow as tf
from transformers import BertConfig, TFBertModel

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.layers import lstm as lstm_lib
from bert_mtl_ner.models import (MODELS, TRAINABLE, USES_BERT, ModelConfig,
                                 build_model)

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _config(name, **overrides):
  values = dict(model=name, labels=LABELS, vocab_size=50, embedding_dim=8,
                lstm_units=8, bert_config=bert_encoder.tiny_bert_config(
                    50, hidden_size=16, num_layers=1, num_heads=2,
                    intermediate_size=32, max_position_embeddings=160))
  values.update(overrides)
  return ModelConfig(**values)


def _inputs():
  return {"input_ids": tf.constant([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0]]),
          "attention_mask": tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])}


def test_every_model_name_of_the_run_flags_has_a_builder():
  assert set(MODELS) == set(TRAINABLE) | {"ensemble"}
  assert set(USES_BERT) <= set(TRAINABLE)


@pytest.mark.parametrize("name", sorted(TRAINABLE))  # ensembles: test_ensemble
def test_models_emit_and_decode(name):
  model = build_model(_config(name))
  out = model(_inputs())
  assert out["emissions"].shape == (2, 5, 5)
  assert out["emissions"].dtype == tf.float32
  assert out["tags"].shape == (2, 5) and out["tags"].dtype == tf.int32
  assert not out["tags"].numpy()[1, 3:].any()  # padding decodes to O
  names = [layer.name for layer in model.layers]
  assert "crf" in names and "emissions" in names
  assert ("bert_encoder" in names) == (name != "bilstm_crf")
  assert any(n.startswith("bilstm") for n in names) == (name != "bert_crf")


def test_bilstm_output_ignores_padding():
  model = build_model(_config("bilstm_crf"))
  short = model({"input_ids": tf.constant([[2, 7, 3]]),
                 "attention_mask": tf.constant([[1, 1, 1]])})["emissions"]
  padded = model(_inputs())["emissions"][1:, :3]
  np.testing.assert_allclose(short.numpy(), padded.numpy(), atol=1e-5)


def _traced_bilstm(layer, x, mask):
  """Outputs and gradients of a BiLSTM over ``layer`` in a traced function,
  and the names of the functions the trace put into its graph."""
  bilstm = keras.layers.Bidirectional(layer)
  bilstm(x, mask=mask)

  @tf.function
  def forward_backward(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = bilstm(x, mask=mask)
      loss = tf.reduce_sum(y * y)
    return [y, *tape.gradient(loss, [x, *bilstm.trainable_weights])]

  graph = forward_backward.get_concrete_function(x).graph.as_graph_def()
  return bilstm, forward_backward, {f.signature.name for f in
                                    graph.library.function}


def test_lstm_without_cudnn_matches_keras_lstm():
  x = tf.random.stateless_normal([3, 7, 5], seed=[1, 2])
  mask = tf.sequence_mask([7, 4, 1], 7)
  ref, ref_fn, ref_names = _traced_bilstm(
      keras.layers.LSTM(6, return_sequences=True, name="lstm"), x, mask)
  ours, our_fn, our_names = _traced_bilstm(
      lstm_lib.LSTM(6, cudnn=False, return_sequences=True, name="lstm"), x,
      mask)
  # Bidirectional's copies keep the choice; the weights keep Keras's names.
  assert not ours.forward_layer.cudnn and not ours.backward_layer.cudnn
  assert [w.name.split("/", 1)[1] for w in ours.weights] == [
      w.name.split("/", 1)[1] for w in ref.weights]
  # Keras's LSTM traces the cuDNN variant beside the standard kernel; ours
  # does not.
  assert any("gpu_lstm" in name for name in ref_names)
  assert not any("gpu_lstm" in name for name in our_names)
  # The same numbers, forward and backward, to the bit.
  ours.set_weights(ref.get_weights())
  for got, expected in zip(our_fn(x), ref_fn(x)):
    np.testing.assert_array_equal(got, expected)
  # Without a GPU the default is the same as cudnn=False; the choice made is
  # kept in the config.
  default = lstm_lib.LSTM(4)
  assert default.cudnn == lstm_lib.gpu_visible()
  assert lstm_lib.LSTM.from_config(
      lstm_lib.LSTM(4, cudnn=True).get_config()).cudnn


def test_word2vec_embeddings_are_loaded(write):
  vocab = write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n中\n国\n")
  vectors = write("vec.txt", "2 3\n中 1 2 3\n国 4 5 6\n")
  model = build_model(_config("bilstm_crf", vocab_size=6, embedding_dim=3,
                              embeddings_file=vectors, vocab_file=vocab))
  table = model.get_layer("char_embeddings").embeddings.numpy()
  np.testing.assert_allclose(table[4:6], [[1, 2, 3], [4, 5, 6]])


def test_bert_encoder_config_round_trip():
  layer = bert_encoder.BertEncoder(bert_encoder.tiny_bert_config(
      30, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32),
                                   name="bert_encoder")
  clone = bert_encoder.BertEncoder.from_config(layer.get_config())
  assert clone.bert_config["hidden_size"] == 16 and clone.name == "bert_encoder"
  out = clone((tf.constant([[1, 2]]), tf.constant([[1, 1]])))
  assert out.shape == (1, 2, 16)


def test_max_seq_len_over_bert_positions_is_refused():
  with pytest.raises(UsageError, match="max_seq_len=600 is over the 160"):
    build_model(_config("bert_crf", max_seq_len=600))


def test_unknown_model_name():
  with pytest.raises(UsageError, match="unknown model 'crf_only'"):
    build_model(_config("crf_only"))


def test_bert_model_resolution(tmp_path):
  choice = bert_encoder.resolve_bert("tiny", 99, hidden_size=16, num_layers=1,
                                     num_heads=2, intermediate_size=32)
  assert choice.weights is None and choice.config["vocab_size"] == 99
  with pytest.raises(UsageError, match="no config.json"):
    bert_encoder.resolve_bert(str(tmp_path), 99)


def test_bert_directory_with_tf_weights_loads_them(tmp_path):
  source = TFBertModel(BertConfig(vocab_size=40, hidden_size=16,
                                  num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=32))
  ids = tf.constant([[2, 5, 3]])
  want = source(input_ids=ids).last_hidden_state.numpy()
  source.save_pretrained(str(tmp_path))
  choice = bert_encoder.resolve_bert(str(tmp_path), 40)
  assert choice.weights == str(tmp_path) and not choice.from_pt
  layer = bert_encoder.BertEncoder(choice.config, choice.weights)
  got = layer((ids, tf.ones_like(ids)), training=False).numpy()
  np.testing.assert_allclose(got, want, atol=1e-5)


def _mtl(**overrides):
  return build_model(_config(
      "mtl", main_task="cluener", task_hidden_units=8, attention_heads=2,
      aux_labels={"msra": ["O", "B-ORG", "I-ORG"],
                  "peoples_daily": ["O", "B-PER", "I-PER"]}, **overrides))


def test_mtl_graph_has_attention_and_one_crf_per_task():
  model = _mtl()
  names = [layer.name for layer in model.layers]
  assert "aux_attention" in names and "fusion_norm" in names
  assert isinstance(model.get_layer("aux_attention"),
                    keras.layers.MultiHeadAttention)
  crfs = sorted(n for n in names if n.endswith("crf"))
  assert crfs == ["crf", "msra_crf", "peoples_daily_crf"]
  assert names.count("bert_encoder") == 1  # shared
  for task in ("cluener", "msra", "peoples_daily"):
    assert f"{task}_hidden" in names
  out = model(_inputs())
  assert out["emissions"].shape == (2, 5, 5)
  assert out["msra_emissions"].shape == (2, 5, 3)
  assert out["peoples_daily_tags"].shape == (2, 5)


def test_main_task_gradient_reaches_the_auxiliary_hidden_layers():
  model = _mtl()
  emission_model = keras.Model(model.input, model.get_layer("emissions").output)
  crf = model.get_layer("crf")
  kernels = [model.get_layer(f"{task}_hidden").kernel
             for task in ("msra", "peoples_daily")]
  with tf.GradientTape() as tape:
    emissions = emission_model(_inputs(), training=True)
    loss = -tf.reduce_mean(crf.log_likelihood(
        emissions, tf.zeros([2, 5], tf.int32), _inputs()["attention_mask"]))
  for grad in tape.gradient(loss, kernels):
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
  # Without the attention layer the main loss does not reach them.
  plain = _mtl(use_attention=False)
  assert "aux_attention" not in [layer.name for layer in plain.layers]
  emission_model = keras.Model(plain.input, plain.get_layer("emissions").output)
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(emission_model(_inputs()))
  assert tape.gradient(loss, plain.get_layer("msra_hidden").kernel) is None


def test_mtl_refuses_main_task_as_auxiliary():
  with pytest.raises(UsageError, match="both the main and an auxiliary"):
    build_model(_config("mtl", main_task="msra",
                        aux_labels={"msra": ["O"]}))


def test_bilstm_crf_with_bigrams():
  model = build_model(_config("bilstm_crf", bigram_buckets=101, bigram_dim=4))
  assert model.get_layer("bigram_embeddings").table.input_dim == 101
  assert model.get_layer("char_bigram").output.shape[-1] == 8 + 2 * 4
  assert model(_inputs())["emissions"].shape == (2, 5, 5)
