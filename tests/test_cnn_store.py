"""core.cnn.store and core.cnn.runs: saving, loading, model cards and the training cache."""

from __future__ import annotations

import json

import cnn_helpers
import numpy as np
import pytest

from core.cnn import get_model, predict_ab, recipe, store
from core.cnn.evaluate import METRICS
from core.cnn.runs import train_on_dataset
from core.cnn.train import TrainResult

# Keras' own model.save() under numpy 2 (third-party, harmless)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

TINY = cnn_helpers.TINY_RUN


def _random_head(model, seed=0):
    layer = model.get_layer("ab_logits")
    kernel, bias = layer.get_weights()
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [rng.normal(0, 0.5, kernel.shape).astype(np.float32), rng.normal(0, 1, bias.shape).astype(np.float32)]
    )
    return model


def _card(model, config, name="tiny"):
    return store.make_card(
        TrainResult(model, config, [], 1.0, False, 0), name=name, data={"name": "none"}, metrics=None, baselines_ab=None
    )


@pytest.fixture(scope="module")
def tiny_dataset():
    return cnn_helpers.tiny_dataset()


@pytest.fixture(scope="module")
def first():
    """The first training through a cache holding a corrupt file under the run's key (shared with test_cnn_cli)."""
    return cnn_helpers.tiny_run()


@pytest.fixture(scope="module")
def cache(first):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(store.CACHE_ENV, str(first["cache"]))
        yield first["cache"]


L_PROBE = np.random.default_rng(0).uniform(0, 100, (32, 48))

# --------------------------------------------------------------------------- saving and loading


def test_save_and_load_round_trip_with_the_card(tmp_path):
    config = recipe("general", width=8, size=32)
    model = _random_head(get_model(config))
    card = _card(model, config)
    path = store.save_model(model, card, tmp_path / "out")
    assert path == tmp_path / "out" / "tiny.keras" and path.is_file()
    assert json.loads(path.with_suffix(".json").read_text()) == json.loads(json.dumps(card))
    assert store.load_card(path) == json.loads(json.dumps(card))
    loaded = store.load_model(path)
    np.testing.assert_allclose(predict_ab(loaded, L_PROBE), predict_ab(model, L_PROBE), atol=1e-4)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def test_a_compact_model_file_is_under_half_the_size_and_colours_within_half_a_unit(tmp_path):
    config = recipe("general", width=16, size=32)
    model = _random_head(get_model(config))
    card = _card(model, config)
    exact = store.save_model(model, card, tmp_path / "exact", "m")
    small = store.save_model(model, card, tmp_path / "small", "m", compact=True)
    assert small.stat().st_size < 0.5 * exact.stat().st_size
    assert store.load_card(small)["compact_weights"] is True and "compact_weights" not in store.load_card(exact)
    loaded = store.load_model(small)
    assert all(w.dtype == "float32" for w in loaded.weights)  # cast back when loaded
    diff = np.abs(predict_ab(loaded, L_PROBE) - predict_ab(model, L_PROBE))
    assert 0 < diff.max() < 0.5  # rounded, by a fraction of an a/b unit


def test_save_model_under_another_name_and_a_model_without_card(tmp_path):
    config = recipe("general", loss="huber", width=8, size=32)
    model = get_model(config)
    path = store.save_model(model, _card(model, config), tmp_path, "other")
    assert path.name == "other.keras" and (tmp_path / "other.json").is_file()
    (tmp_path / "other.json").unlink()
    assert store.load_card(path) is None


def test_model_path_errors_name_what_was_asked_for(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no model 'nosuch'"):
        store.model_path("nosuch")
    missing = tmp_path / "gone.keras"
    with pytest.raises(FileNotFoundError, match="gone.keras"):
        store.model_path(missing)
    with pytest.raises(FileNotFoundError, match="gone.keras"):
        store.load_model(missing)
    other = tmp_path / "weights.h5"
    other.write_bytes(b"not a keras file")
    with pytest.raises(ValueError, match=r"weights\.h5.*not a \.keras file"):
        store.model_path(other)
    monkeypatch.setattr(store, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="committed model 'beach' is missing"):
        store.model_path("beach")
    assert store.committed_models() == []
    (tmp_path / "forest.keras").write_bytes(b"")
    assert store.model_path("forest") == tmp_path / "forest.keras"
    assert store.committed_models() == ["forest"]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 garbage", b"not a zip at all"])
def test_a_corrupt_model_file_is_a_value_error_naming_it(tmp_path, content):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=r"cannot load the model .*broken\.keras"):
        store.load_model(bad)


def test_cache_key_depends_on_the_config_the_data_and_the_starting_model(tmp_path):
    key = store.cache_key(TINY, "abc")
    assert len(key) == 20 and int(key, 16) >= 0
    assert store.cache_key(TINY, "abc") == key
    assert store.cache_key(TINY.replace(steps=3), "abc") != key
    assert store.cache_key(TINY.replace(seed=1), "abc") != key
    assert store.cache_key(TINY, "abd") != key
    start = tmp_path / "start.keras"
    start.write_bytes(b"one")
    fine_tune = TINY.replace(init=str(start))
    k1 = store.cache_key(fine_tune, "abc")
    start.write_bytes(b"two")  # the starting model is keyed by its content, not only its name
    assert store.cache_key(fine_tune, "abc") != k1
    start.write_bytes(b"one")
    assert store.cache_key(fine_tune, "abc") == k1
    start.unlink()
    assert store.cache_key(fine_tune, "abc") != k1  # a missing starting model is keyed too, without an error


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / "c"))
    assert store.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(store.CACHE_ENV)
    assert store.cache_dir().name == "colorlab"


# --------------------------------------------------------------------------- training through the cache


def test_train_on_dataset_trains_once_then_loads_from_the_cache(first, cache, tiny_dataset):
    assert tiny_dataset.fingerprint == first["card"]["data"]["fingerprint"]
    assert first["from_cache"] is False and first["stopped"] is False
    assert first["history"] and first["history"][-1]["step"] == TINY.steps
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".keras")
    again = train_on_dataset(TINY, tiny_dataset)
    assert again["from_cache"] is True and again["history"] == []
    assert "cache" in again["message"]
    np.testing.assert_allclose(predict_ab(again["model"], L_PROBE), predict_ab(first["model"], L_PROBE), atol=1e-4)
    assert again["card"]["key"] == store.cache_key(TINY, tiny_dataset.fingerprint)
    assert {k: v for k, v in again["card"].items() if k != "key"} == json.loads(json.dumps(first["card"]))
    assert sorted(p.name for p in cache.iterdir()) == files  # nothing new written


def test_another_config_is_another_cache_entry(first, cache, tiny_dataset):
    assert store.cached(TINY.replace(seed=1), tiny_dataset.fingerprint) is None
    assert store.cached(TINY, "another fingerprint") is None
    assert store.cached(TINY, tiny_dataset.fingerprint) is not None


def test_a_corrupt_cache_file_is_retrained_with_a_warning(first):
    assert first["from_cache"] is False and first["history"]
    assert any(
        "corrupt or unreadable" in w and "trained again" in w and first["planted"].name in w for w in first["warnings"]
    )
    assert store.load_model(first["planted"])  # replaced by the retrained model


def test_a_cache_card_with_the_wrong_key_is_not_trusted(first, cache, tiny_dataset, tmp_path):
    for p in cache.iterdir():  # a copy: the other tests keep the module's cache
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (card_file,) = tmp_path.glob("*.json")
    card = json.loads(card_file.read_text())
    card_file.write_text(json.dumps({**card, "key": "0" * 20}))
    with pytest.warns(UserWarning, match="its card has key '0+', expected"):
        assert store.cached(TINY, tiny_dataset.fingerprint, folder=tmp_path) is None
    assert not list(tmp_path.iterdir())  # both files removed


def test_the_card_says_what_how_and_how_well(first, tiny_dataset):
    card = first["card"]
    assert card["format"] == store.CARD_FORMAT and card["name"] == "tiny" and card["arch"] == "unet"
    assert card["config"] == TINY.to_dict() and card["loss"] == "bins, rebalanced"
    assert card["parameters"] == sum(int(np.prod(w.shape)) for w in first["model"].weights)
    training = card["training"]
    assert isinstance(training["device"], str) and training["device"]
    assert training["steps"] == TINY.steps and training["stopped"] is False
    assert np.isfinite(training["final_loss"]) and training["seconds"] >= 0
    assert {"python", "numpy", "keras", "backend"} <= set(card["versions"])
    agg = card["metrics"]["aggregate"]
    assert {"model", "gray", "mean", "lookup"} <= set(agg)
    for p in ("model", "gray", "mean", "lookup"):
        assert set(METRICS) <= set(agg[p])
        assert 0.0 <= agg[p]["accuracy"] <= 1.0
    assert card["metrics"]["n"] == len(tiny_dataset.test_idx) and card["metrics"]["size"] == 64
    assert card["data"]["fingerprint"] == tiny_dataset.fingerprint
    assert card["data"]["train_files"] == tiny_dataset.part_names("train")
    assert card["data"]["test_files"] == tiny_dataset.part_names("test")
    assert set(card["baselines_ab"]) == {"mean", "lookup"} and len(card["baselines_ab"]["lookup"]) == 256
    json.dumps(card, allow_nan=False)  # strict JSON
