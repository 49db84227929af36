"""Active learning: the streaming selector, the strategies on a tiny model, and
the simulation's report and resumption."""

import json
import pathlib

import numpy as np
import pytest

from bert_mtl_ner import inference
from bert_mtl_ner import tokenization
from bert_mtl_ner.active import pool
from bert_mtl_ner.active import report
from bert_mtl_ner.active import selection
from bert_mtl_ner.active import simulation
from bert_mtl_ner.active import strategies
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models import ModelConfig, build_model


def test_selector_keeps_the_least_certain_in_bounded_memory():
  rng = np.random.default_rng(0)
  values = rng.random(5000)
  selector = selection.Selector(10, diversity=1.0, pool_factor=3)
  for i, v in enumerate(values):
    selector.offer(float(v), i, f"文本{i}号")
    assert len(selector._heap) <= 30  # pylint: disable=protected-access
  chosen = selector.chosen()
  assert [c.index for c in chosen] == list(np.argsort(values)[:10])
  assert [c.certainty for c in chosen] == sorted(c.certainty for c in chosen)


def test_selector_skips_near_duplicates_and_breaks_ties_by_position():
  selector = selection.Selector(3, diversity=0.7)
  texts = ["北京大学的学生在上海。", "北京大学的学生在上海！", "完全不同的一句话。",
           "另一句也不一样。", "北京大学的学生在上海"]
  for i, text in enumerate(texts):
    selector.offer(0.5 if i != 2 else 0.1, i, text)
  chosen = [c.index for c in selector.chosen()]
  assert chosen == [2, 0, 3]
  assert selection.jaccard(selection.bigrams("ab"), selection.bigrams("ab")) \
      == 1.0


@pytest.fixture(scope="module")
def tagger(bert_vocab_path):
  keras.utils.set_random_seed(2)
  labels = tags_lib.label_list(["LOC", "PER"])
  tokenizer = tokenization.CharTokenizer.from_vocab_file(bert_vocab_path)
  model = build_model(ModelConfig(
      model="bilstm_crf", labels=labels, vocab_size=tokenizer.vocab_size,
      embedding_dim=8, lstm_units=8, max_seq_len=12))
  dense = model.get_layer("emissions")
  dense.kernel.assign(dense.kernel * 30)
  return inference.Tagger(model, tokenizer, labels, 12, batch_size=4)


def test_strategies_give_certainties_in_range(tagger):
  texts = ["张三在北京工作。", "李四去了上海，又去了南京和广州。", "", "一"]
  rng = np.random.default_rng(0)
  for strategy in strategies.STRATEGIES:
    values, entities = strategies.certainties(tagger, texts, strategy, rng)
    assert len(values) == len(entities) == len(texts)
    assert all(0 <= v <= 1 for v in values), (strategy, values)
  decoded = tagger.decode(texts)
  scores = tagger.entity_scores(decoded)
  values, _ = strategies.certainties(tagger, texts, "min_entity_score", rng)
  _, best = tagger.path_certainties(decoded)
  for value, row, p in zip(values, scores, best):
    assert value == (min(row) if row else p)
  values, entities = strategies.certainties(tagger, texts, "random", rng,
                                            with_entities=False)
  assert entities is None and len(values) == 4


def test_confid_is_lowest_where_the_two_best_paths_tie(tagger):
  """confid = 1 - p2/p1 per window; the text takes its least sure window."""
  texts = ["北京上海广州深圳南京杭州成都" * 2]
  decoded = tagger.decode(texts)
  confid, best = tagger.path_certainties(decoded)
  assert len(set(decoded.window_text)) == 1 and len(decoded.window_text) > 1
  assert 0 <= confid[0] <= 1 and 0 < best[0] <= 1
  singles = [tagger.path_certainties(tagger.decode([texts[0][w.start:w.end]]))
             [0][0] for w in tokenization.windows(len(texts[0]),
                                                  tagger.window)]
  assert confid[0] == pytest.approx(min(singles), abs=1e-5)


def test_pool_select_streams_and_skips_blank_lines(tagger):
  documents = iter([(1, "张三在北京。"), (2, ""), (3, "李四在上海。"), (4, "   ")])
  chosen = pool.select(tagger, documents, 5, "confid", batch_size=2)
  assert sorted(c.index for c in chosen) == [1, 3]
  assert all(isinstance(c.payload, list) for c in chosen)


def _record(strategy, seed, f1s, start=500, step=500):
  return {"strategy": strategy, "seed": seed, "rounds": [
      {"labelled": start + i * step, "scores": {"macro_f1": f}}
      for i, f in enumerate(f1s)]}


def test_report_verdict_interpolates_the_mean_curves():
  records = [_record("random", 1, [10, 20, 30]),
             _record("random", 2, [12, 22, 32]),
             _record("confid", 1, [10, 30, 40]),
             _record("confid", 2, [12, 34, 44]),
             _record("min_entity_score", 1, [10, 15, 20])]
  data = report.report_data(records, rounds=2, seeds=2)
  random_curve = data["curves"]["random"]
  assert [p["mean"] for p in random_curve] == [11, 21, 31]
  assert random_curve[1]["std"] == pytest.approx(np.std([20, 22], ddof=1))
  verdict = data["verdicts"]["confid"]
  # confid's mean goes 11 -> 32 between 500 and 1000 labels; 31 at 976.2.
  assert verdict["labels_needed"] == pytest.approx(500 + 500 * 20 / 21)
  assert verdict["share"] == pytest.approx(verdict["labels_needed"] / 1500)
  assert verdict["share"] == pytest.approx(0.651, abs=1e-3) and verdict["met"]
  assert data["verdicts"]["min_entity_score"]["labels_needed"] is None
  assert data["complete"] == {"confid": True, "min_entity_score": False,
                              "random": True}
  text = report.render(dict(data, command="cmd", settings="settings"))
  assert "not every seed and round" in text and "goal not met" in text


def test_simulation_resumes_and_refuses_other_settings(tmp_path, monkeypatch):
  """A killed simulation resumes after its last written round; a record of
  other settings is refused."""
  corpus = [Sentence(tuple(f"句子{i}"), ("O",) * len(f"句子{i}"), "x", i)
            for i in range(40)]
  monkeypatch.setattr(simulation.registry, "read_split",
                      lambda dataset, split, data_dir: iter(corpus))
  trained, kill_at = [], [3]

  def fake_train(sim, labelled, dev_file, dev, seed, folder, reuse=False):
    trained.append(len(labelled))
    if len(trained) == kill_at[0]:
      raise KeyboardInterrupt  # killed during the third training
    return {"labelled": len(labelled), "scores": {"macro_f1": 1.0}}, None

  monkeypatch.setattr(simulation, "train_and_score", fake_train)
  monkeypatch.setattr(simulation, "pick", lambda tagger, pool_, labelled, *a:
                      [i for i in range(40) if i not in labelled][:5])
  sim = simulation.Simulation(strategies=("random",), seeds=(1,), initial=10,
                              step=5, rounds=3)
  with pytest.raises(KeyboardInterrupt):
    simulation.run(sim, str(tmp_path / "runs"), str(tmp_path / "work"))
  path = simulation.record_path(str(tmp_path / "runs"), "random", 1)
  assert len(json.load(open(path))["rounds"]) == 2
  trained.clear()
  kill_at[0] = None
  simulation.run(sim, str(tmp_path / "runs"), str(tmp_path / "work"))
  record = json.load(open(path))
  assert [r["labelled"] for r in record["rounds"]] == [10, 15, 20, 25]
  assert trained == [20, 25]
  other = simulation.Simulation(strategies=("random",), seeds=(1,),
                                initial=10, step=6, rounds=3)
  with pytest.raises(ValueError, match="other settings"):
    simulation.run(other, str(tmp_path / "runs"), str(tmp_path / "work"))


def test_the_committed_report_is_its_summary():
  """docs/active_learning/REPORT.md is what ``report.render`` makes of the
  committed summary.json, and the summary is what the records give."""
  folder = pathlib.Path(__file__).resolve().parents[1] / "docs" / \
      "active_learning"
  if not (folder / "summary.json").exists():
    pytest.skip("no simulation committed yet")
  summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
  assert (folder / "REPORT.md").read_text(encoding="utf-8") == \
      report.render(summary)
  records = report.load_records(str(folder / "runs"))
  rounds = records[0]["identity"]["rounds"]
  fresh = report.report_data(records, rounds, len({r["seed"] for r in
                                                   records}))
  assert json.loads(json.dumps(fresh["curves"])) == summary["curves"]
  assert (folder / "curve.png").read_bytes()[:4] == b"\x89PNG"
