"""Google's TF1 BERT checkpoint format -> our BERT directory: same encoder outputs."""

import json

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner import bert_checkpoint
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.layers import bert_encoder

# Google's variable names (chinese_L-12_H-768_A-12), written out by hand: the
# test must not share the converter's name mapping.
LAYER = ["attention/self/query/kernel", "attention/self/query/bias",
         "attention/self/key/kernel", "attention/self/key/bias",
         "attention/self/value/kernel", "attention/self/value/bias",
         "attention/output/dense/kernel", "attention/output/dense/bias",
         "attention/output/LayerNorm/gamma", "attention/output/LayerNorm/beta",
         "intermediate/dense/kernel", "intermediate/dense/bias",
         "output/dense/kernel", "output/dense/bias", "output/LayerNorm/gamma",
         "output/LayerNorm/beta"]
EMBEDDINGS = ["word_embeddings", "token_type_embeddings",
              "position_embeddings", "LayerNorm/gamma", "LayerNorm/beta"]


def _write_google_checkpoint(folder, values, config):
  with tf.Graph().as_default():
    variables = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()]
    variables.append(tf.compat.v1.Variable(  # a pre-training head: skipped
        np.zeros([4]), name="cls/predictions/output_bias"))
    saver = tf.compat.v1.train.Saver(variables)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      saver.save(session, str(folder / "bert_model.ckpt"))
  (folder / "bert_config.json").write_text(json.dumps(config))
  (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n中\n")


CONFIG = {"vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2,
          "num_attention_heads": 2, "intermediate_size": 32,
          "max_position_embeddings": 40, "type_vocab_size": 2,
          "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
          "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}
IDS = np.array([[2, 7, 9, 3, 0]], np.int32)
MASK = np.array([[1, 1, 1, 1, 0]], np.int32)


def _encode(folder):
  choice = bert_encoder.resolve_bert(str(folder), 30)
  encoder = bert_encoder.BertEncoder(choice.config, choice.weights,
                                     choice.from_pt)
  return encoder((tf.constant(IDS), tf.constant(MASK))).numpy()


def test_tf1_checkpoint_gives_the_same_encoder_outputs(tmp_path):
  values = _google_values()
  source = tmp_path / "google"
  source.mkdir()
  _write_google_checkpoint(source, values, CONFIG)
  out = tmp_path / "converted"
  counts = bert_checkpoint.convert_tf1_checkpoint(str(source), str(out))
  assert counts == {"copied": len(values), "skipped": 1}

  # A reference encoder built from the same numbers by hand (numpy), so a
  # swapped mapping (query for key, say) shows up.
  np.testing.assert_allclose(_encode(out), _numpy_bert(values, IDS, MASK, 2, 2),
                             atol=2e-4)


def _pytorch_name(google: str) -> str:
  """Hugging Face PyTorch names (bert-base-chinese's model.safetensors)."""
  name = google.replace("/layer_", "/layer/").replace("/", ".")
  for old, new in ((".kernel", ".weight"), (".gamma", ".weight"),
                   (".beta", ".bias")):
    name = name.replace(old, new)
  return name if name.endswith((".weight", ".bias")) else name + ".weight"


def test_pytorch_safetensors_load_without_torch(tmp_path):
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  values = _google_values()
  # PyTorch keeps Linear weights as [out, in]: the kernels are transposed.
  tensors = {_pytorch_name(n): np.ascontiguousarray(
      v.T if n.endswith("kernel") else v) for n, v in values.items()}
  assert "bert.encoder.layer.1.attention.self.query.weight" in tensors
  tensors["cls.predictions.bias"] = np.zeros([30], np.float32)  # a head
  save_file(tensors, str(tmp_path / "model.safetensors"),
            metadata={"format": "pt"})
  (tmp_path / "config.json").write_text(json.dumps(CONFIG))
  choice = bert_encoder.resolve_bert(str(tmp_path), 30)
  assert choice.weights == str(tmp_path) and not choice.from_pt
  np.testing.assert_allclose(_encode(tmp_path),
                             _numpy_bert(values, IDS, MASK, 2, 2), atol=2e-4)


def test_pytorch_bin_without_torch_is_a_clear_error(tmp_path):
  import importlib.util  # pylint: disable=g-import-not-at-top
  if importlib.util.find_spec("torch") is not None:
    pytest.skip("torch is installed")
  (tmp_path / "config.json").write_text(json.dumps(CONFIG))
  (tmp_path / "pytorch_model.bin").write_bytes(b"")
  with pytest.raises(UsageError, match="needs PyTorch"):
    bert_encoder.resolve_bert(str(tmp_path), 30)


def _google_values():
  """Random weights under Google's names for ``CONFIG``'s size."""
  rng = np.random.default_rng(0)
  shapes = {"word_embeddings": [30, 16], "token_type_embeddings": [2, 16],
            "position_embeddings": [40, 16], "query/kernel": [16, 16],
            "key/kernel": [16, 16], "value/kernel": [16, 16],
            "attention/output/dense/kernel": [16, 16],
            "intermediate/dense/kernel": [16, 32],
            "output/dense/kernel": [32, 16], "intermediate/dense/bias": [32]}
  names = ([f"bert/embeddings/{n}" for n in EMBEDDINGS] +
           [f"bert/encoder/layer_{i}/{n}" for i in range(2) for n in LAYER] +
           ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"])

  def shape(name):
    if name.startswith("bert/pooler/dense/kernel"):
      return [16, 16]
    for suffix, value in sorted(shapes.items(), key=lambda kv: -len(kv[0])):
      if name.endswith(suffix) and not (
          suffix == "output/dense/kernel" and "attention" in name):
        return value
    return [16]

  return {n: rng.normal(0, 0.5, shape(n)).astype(np.float32) for n in names}


def _layer_norm(x, gamma, beta):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta


def _gelu(x):
  from scipy.special import erf  # pylint: disable=g-import-not-at-top
  return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _numpy_bert(v, ids, mask, layers, heads):
  e = "bert/embeddings/"
  x = (v[e + "word_embeddings"][ids] + v[e + "token_type_embeddings"][0] +
       v[e + "position_embeddings"][:ids.shape[1]])
  x = _layer_norm(x, v[e + "LayerNorm/gamma"], v[e + "LayerNorm/beta"])
  bias = (1 - mask[:, None, None, :]) * -1e9
  for i in range(layers):
    p = f"bert/encoder/layer_{i}/"
    dense = lambda h, n: h @ v[p + n + "/kernel"] + v[p + n + "/bias"]
    split = lambda h: h.reshape(h.shape[0], h.shape[1], heads, -1).transpose(
        0, 2, 1, 3)
    q, k, val = (split(dense(x, f"attention/self/{n}"))
                 for n in ("query", "key", "value"))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1]) + bias
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    context = (probs @ val).transpose(0, 2, 1, 3).reshape(x.shape)
    x = _layer_norm(dense(context, "attention/output/dense") + x,
                    v[p + "attention/output/LayerNorm/gamma"],
                    v[p + "attention/output/LayerNorm/beta"])
    hidden = _gelu(dense(x, "intermediate/dense"))
    x = _layer_norm(dense(hidden, "output/dense") + x,
                    v[p + "output/LayerNorm/gamma"],
                    v[p + "output/LayerNorm/beta"])
  return x


def test_google_names():
  assert bert_checkpoint.google_name(
      "bert_encoder/bert/bert/encoder/layer_._11/attention/self/query/kernel:0"
  ) == "bert/encoder/layer_11/attention/self/query/kernel"
  assert bert_checkpoint.google_name(
      "tf_bert_model/bert/embeddings/word_embeddings/weight:0"
  ) == "bert/embeddings/word_embeddings"


def test_a_missing_release_is_a_clear_error(tmp_path):
  with pytest.raises(UsageError, match="bert_config.json"):
    bert_checkpoint.convert_tf1_checkpoint(str(tmp_path), str(tmp_path / "o"))
