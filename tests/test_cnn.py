"""The Keras colorizers: architectures, training, cache, full-resolution colorize, eval, CLI.

Everything trains a few steps on tiny synthetic photos, so the file runs in well under
two minutes on two CPU cores. Tests that need the shared photos use ``COLORLAB_DATA``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from core import cnn, datasets  # noqa: E402
from core.color import lab2uint8, merge_l_ab, rgb2lab  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY = dict(size=16, scales=(16, 24), width=4, batch_size=8, eval_every=1000)


def _np(tensor) -> np.ndarray:
    """A Keras output as a numpy array (``np.asarray`` on a TensorFlow tensor warns under numpy 2)."""
    import keras

    return keras.ops.convert_to_numpy(tensor)


def _scene(seed: int, h: int = 24, w: int = 32) -> np.ndarray:
    """A learnable toy photo: blue bright sky over a dark green-brown ground, with noise."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float64)
    horizon = rng.integers(h // 3, 2 * h // 3)
    img[:horizon] = (90, 150, 230)
    img[horizon:] = (70, 110, 40)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny():
    return datasets.from_images([_scene(i) for i in range(8)], name="tiny")


@pytest.fixture(scope="module")
def tiny_model(tiny):
    return cnn.train_cnn(cnn.CNNConfig(steps=4, **TINY), tiny)


def tiny_model_weights_other_seed():
    import keras

    keras.utils.set_random_seed(1)
    return cnn.build_model(cnn.CNNConfig(seed=1, **TINY)).get_weights()


# --------------------------------------------------------------------------- architectures


def test_report_network_is_the_reports(monkeypatch):
    d = cnn.describe("report")
    assert d["parameters"] == 75_563_904
    types = [lay["type"] for lay in d["layers"]]
    assert types == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
        "Dropout",
        "Dense",
        "Rescaling",
    ]
    assert [lay["output_shape"] for lay in d["layers"]][-1] == [None, 8192]
    assert [lay["parameters"] for lay in d["layers"] if lay["type"] == "Dense"] == [33_556_480, 8_392_704, 33_562_624]


def test_report_output_layout_is_all_a_then_all_b():
    model = cnn.build_model("report")
    dense = model.get_layer("ab")
    kernel, bias = dense.get_weights()
    a_val, b_val = 20.0, -30.0  # targets 148 and 98 out of 255

    def logit(t):
        p = t / 255.0
        return np.log(p / (1 - p))

    bias[:4096] = logit(a_val + 128)
    bias[4096:] = logit(b_val + 128)
    dense.set_weights([np.zeros_like(kernel), bias])
    ab = cnn.predict_ab(model, np.full((2, 64, 64, 1), 50.0, np.float32))
    assert ab.shape == (2, 64, 64, 2)
    assert np.allclose(ab[..., 0], a_val, atol=1e-3) and np.allclose(ab[..., 1], b_val, atol=1e-3)
    with pytest.raises(ValueError, match="64x64"):
        cnn.predict_ab(model, np.zeros((1, 32, 32, 1)))


def test_ours_is_small_fully_convolutional_any_size():
    d = cnn.describe("ours")
    assert 100_000 < d["parameters"] < 1_000_000
    model = cnn.build_model(cnn.CNNConfig(width=4))
    for h, w in [(16, 16), (37, 50), (9, 130)]:
        ab = cnn.predict_ab(model, np.full((2, h, w, 1), 40.0, np.float32))
        assert ab.shape == (2, h, w, 2) and ab.dtype == np.float32 and np.all(np.isfinite(ab))
    assert cnn.predict_ab(model, np.zeros((20, 30))).shape == (20, 30, 2)
    with_context = cnn.build_model(cnn.CNNConfig(width=4, context=True))
    assert cnn.count_parameters(with_context) > cnn.count_parameters(model)
    assert cnn.predict_ab(with_context, np.zeros((1, 24, 40, 1))).shape == (1, 24, 40, 2)


def test_flip_averaging_mirrors_and_averages_for_ours_only():
    model = cnn.build_model(cnn.CNNConfig(width=4))  # random weights: not mirror-symmetric by itself
    L = np.random.default_rng(0).uniform(0, 100, (2, 13, 21, 1)).astype(np.float32)
    plain = cnn.predict_ab(model, L, flip=False)
    mirrored = cnn.predict_ab(model, L[:, :, ::-1], flip=False)[:, :, ::-1]
    assert np.abs(plain - mirrored).max() > 1e-3  # so the check below could fail
    np.testing.assert_allclose(cnn.predict_ab(model, L), 0.5 * (plain + mirrored), atol=1e-5)  # the default
    np.testing.assert_allclose(cnn.predict_ab(model, L[:, :, ::-1]), cnn.predict_ab(model, L)[:, :, ::-1], atol=1e-5)
    report = cnn.build_model("report")  # the report's network is reproduced as it was: no averaging
    L64 = np.random.default_rng(1).uniform(0, 100, (1, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(cnn.predict_ab(report, L64), cnn.predict_ab(report, L64, flip=False))
    assert not np.allclose(cnn.predict_ab(report, L64, flip=True), cnn.predict_ab(report, L64), atol=1e-4)


def test_scored_view_averages_the_squashed_and_the_detail_prediction_for_ours_only():
    model = cnn.build_model(cnn.CNNConfig(width=4))  # random weights
    rng = np.random.default_rng(2)
    L = rng.uniform(0, 100, (3, 8, 8, 1)).astype(np.float32)  # the squashed views
    detail = [rng.uniform(0, 100, shape).astype(np.float32) for shape in ((12, 18, 1), (12, 18, 1), (20, 12, 1))]
    got = cnn.predict_scored_ab(model, L, detail)
    for i in range(3):
        fine = cnn._resize_float(cnn.predict_ab(model, detail[i][None])[0], (8, 8))  # (8, 8, 2)
        np.testing.assert_allclose(got[i], 0.5 * (cnn.predict_ab(model, L[i : i + 1])[0] + fine), atol=1e-4)
    assert np.abs(got - cnn.predict_ab(model, L)).max() > 1e-3  # the detail view counts
    assert np.array_equal(cnn.predict_scored_ab(model, L), cnn.predict_ab(model, L))  # no detail: the squashed view
    with pytest.raises(ValueError, match="detail has 2 photos, lightness 3"):
        cnn.predict_scored_ab(model, L, detail[:2])
    report = cnn.build_model("report")  # a fixed 64 x 64 input: the detail view is not used
    L64 = rng.uniform(0, 100, (1, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(cnn.predict_scored_ab(report, L64, [detail[0]]), cnn.predict_ab(report, L64))
    assert cnn.detail_side(64) == 96 and cnn.detail_side(16) == 24


def test_evaluate_scores_ours_from_both_views(tiny_model):
    photos = [_scene(i, 32, 48) for i in range(10)]
    ds = datasets.from_images(photos, name="wide")
    model = tiny_model.model
    ev = cnn.evaluate(model, ds, size=16)
    L, ab = ds.arrays("test", 16)
    detail = ds.lightness("test", 24)
    assert ev["detail_side"] == 24 and all(d.shape == (24, 36, 1) for d in detail)
    expect = report_accuracy_of(cnn.predict_scored_ab(model, L, detail), ab)
    assert ev["aggregate"]["model"]["accuracy"] == pytest.approx(expect, abs=1e-6)
    squashed = cnn.evaluate(model, ds, size=16, detail=False)
    assert squashed["detail_side"] is None
    assert squashed["aggregate"]["model"]["accuracy"] == pytest.approx(
        report_accuracy_of(cnn.predict_ab(model, L), ab), abs=1e-6
    )
    assert squashed["aggregate"]["gray"] == ev["aggregate"]["gray"]  # the baselines see the squashed view only


def report_accuracy_of(ab_pred, ab_true) -> float:
    """The report's accuracy by hand: the share of a/b values within 10 of the truth."""
    return float(np.mean(np.abs(ab_pred - ab_true) <= 10))


def test_welsch_loss_known_answers_and_training(tiny):
    loss = cnn._welsch_loss(5.0)
    y_true = np.zeros((1, 1, 3, 2), np.float32)
    y_pred = np.array([[[[0, 5], [10, -10], [50, 200]]]], np.float32)  # misses of 0, 5, 10, 10, 50, 200
    # 1 - exp(-d^2 / 50) for each: 0, 1 - e^-0.5, 1 - e^-2 (twice), then ~1 twice
    hand = (0 + (1 - np.exp(-0.5)) + 2 * (1 - np.exp(-2.0)) + 2 * 1.0) / 6
    assert float(loss(y_true, y_pred)) == pytest.approx(hand, abs=1e-6)
    events = []
    cfg = cnn.CNNConfig(loss="welsch", welsch_sigma=10.0, steps=30, lr=3e-3, schedule="constant", **TINY)
    res = cnn.train_cnn(cfg, tiny, progress=events.append)
    losses = [e["loss"] for e in events]
    assert all(0.0 <= x <= 1.0 for x in losses) and np.mean(losses[-5:]) < 0.9 * np.mean(losses[:3])
    assert res.card["loss"] == "welsch" and res.card["config"]["welsch_sigma"] == 10.0
    with pytest.raises(ValueError, match="welsch_sigma"):
        cnn.CNNConfig(loss="welsch", welsch_sigma=0.0)


def test_config_defaults_validation_and_hashing():
    r = cnn.CNNConfig(arch="report")
    assert (r.lr, r.batch_size, r.steps, r.loss, r.optimizer) == (1e-4, 3, 8000, "mse", "adam")
    assert cnn.CNNConfig(arch="report", lr=1e-4) == r and hash(cnn.CNNConfig(arch="report", lr=1e-4)) == hash(r)
    assert cnn.CNNConfig.from_dict(json.loads(json.dumps(cnn.CNNConfig().to_dict()))) == cnn.CNNConfig()
    assert cnn.CNNConfig(epochs=3, batch_size=4).total_steps(10) == 9
    for bad in [
        dict(arch="vgg"),
        dict(lr=-1.0),
        dict(optimizer="rmsprop"),
        dict(loss="ce"),
        dict(size=20),
        dict(dropout=1.0),
    ]:
        with pytest.raises(ValueError):
            cnn.CNNConfig(**bad)


# --------------------------------------------------------------------------- training


def test_a_few_steps_lower_the_loss_and_report_progress(tiny):
    events = []
    res = cnn.train_cnn(cnn.CNNConfig(steps=30, lr=3e-3, schedule="constant", **TINY), tiny, progress=events.append)
    losses = [e["loss"] for e in events]
    assert len(events) == 30 and events[-1]["step"] == 30 and events[-1]["steps"] == 30
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:3])
    assert events[-1]["train_acc"] is not None and events[-1]["test_acc"] is not None
    assert events[0]["epoch"] == pytest.approx(8 / 6)  # 8 crops over 6 training photos
    card = res.card
    assert card["arch"] == "ours" and card["data"]["fingerprint"] == tiny.fingerprint
    assert set(card["metrics"]) >= {"model", "gray", "mean", "lookup"} and card["training"]["steps"] == 30
    assert card["loss"] == "huber" and card["optimizer"] == "adam" and "keras" in card["versions"]


def test_seeded_training_is_reproducible(tiny):
    cfg = cnn.CNNConfig(steps=3, **TINY)
    w1 = cnn.train_cnn(cfg, tiny).model.get_weights()
    w2 = cnn.train_cnn(cfg, tiny).model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert not all(np.array_equal(a, b) for a, b in zip(w1, tiny_model_weights_other_seed()))


def _logits_from_probs(p_a, p_b):
    """(K,) probabilities for a and for b -> (2K,) logits, as a bins model outputs them."""
    return np.log(np.concatenate([p_a, p_b]) + 1e-12)


def test_decode_bins_picks_the_value_most_likely_within_ten():
    k = 64  # bins of 4 a/b units: bin j covers ab + 128 in [4j, 4j + 4)
    one = np.zeros(k)
    one[40] = 1.0  # all mass in [160, 164): any value within 10 of the whole bin is right
    v = cnn.decode_bins(_logits_from_probs(one, one))
    assert v.shape == (2,) and np.all(np.abs(v - 162.0) <= 8.0)  # [154, 170] covers the bin
    # two modes far apart: 0.6 at 60 (a -68) and 0.4 at 200 (a +72); the mean (116) is right for nobody
    two = np.zeros(k)
    two[15], two[50] = 0.6, 0.4
    v = cnn.decode_bins(_logits_from_probs(two, two[::-1]))
    assert abs(v[0] - 62.0) <= 8.0  # the heavier mode of a
    assert abs(v[1] - (4 * (k - 1 - 15) + 2)) <= 8.0  # b's heavier mode is mirrored: bin 48
    # three adjacent bins of 0.3 beat a single bin of 0.35: the +-10 window holds 0.9 against 0.35
    spread = np.zeros(k)
    spread[[20, 21, 22]] = 0.3
    spread[50] = 0.1
    narrow = np.zeros(k)
    narrow[50] = 0.35
    narrow[[5, 30, 60]] = 0.65 / 3
    v = cnn.decode_bins(_logits_from_probs(spread, narrow))
    assert 82.0 <= v[0] <= 90.0 and abs(v[1] - 202.0) <= 8.0  # every v in [82, 90] covers [80, 92)
    # batched shapes: (N, h, w, 2K) -> (N, h, w, 2)
    z = np.random.default_rng(0).normal(size=(2, 3, 5, 2 * k))
    assert cnn.decode_bins(z).shape == (2, 3, 5, 2)


def test_bins_model_trains_predicts_and_saves(tiny, tmp_path):
    cfg = cnn.CNNConfig(loss="bins", bins=32, steps=60, lr=5e-3, schedule="constant", **TINY)
    events = []
    res = cnn.train_cnn(cfg, tiny, progress=events.append)
    losses = [e["loss"] for e in events]
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3])  # from log(32) = 3.47 towards the targets' entropy
    assert res.model.output.shape[-1] == 64 and res.card["loss"] == "bins"
    L, ab = tiny.arrays("test", 16)
    pred = cnn.predict_ab(res.model, L)
    assert pred.shape == ab.shape and np.all(np.abs(pred) <= 128)
    # the toy sky is (90, 150, 230): a ~ 0, b ~ -45 (blue); the ground is green-brown (b > 0)
    sky = pred[:, :3].reshape(-1, 2).mean(axis=0)
    assert sky[1] < -10
    path = cnn.save_model(res.model, res.card, tmp_path, "bins")
    loaded = cnn.load_model(path, safe_mode=True)
    assert np.array_equal(cnn.predict_ab(loaded, L), pred)
    rgb = np.random.default_rng(3).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    lab = cnn.colorize_lab(loaded, rgb, working_size=24)
    assert lab.shape == (30, 50, 3) and np.array_equal(lab[..., 0], rgb2lab(rgb)[..., 0])


def test_rebalance_weights_hand_computed():
    # bins=2 without smoothing: a and b put 3 values in bin 0 and 1 in bin 1, so p = (3/4, 1/4);
    # 1 / (p / 2 + 1/4) = (1.6, 8/3), whose mean under p is 1.2 + 2/3; divided by it: (6/7, 10/7)
    ab = [np.array([-126.0, -126.0, -126.0, 1.0]).reshape(4, 1, 1).repeat(2, axis=2)]  # (4, 1, 2)
    np.testing.assert_allclose(cnn.rebalance_weights(ab, 2, sigma=0), [[6 / 7, 10 / 7]] * 2, rtol=1e-6)
    # photos are weighted by how likely they are drawn: a photo all in bin 1, drawn 3 times in 4, flips it
    two = [np.full((2, 2, 2), -100.0), np.full((2, 2, 2), 50.0)]
    w = cnn.rebalance_weights(two, 2, photo_weights=[0.25, 0.75], sigma=0)
    np.testing.assert_allclose(w, [[10 / 7, 6 / 7]] * 2, rtol=1e-6)
    # lambda = 1 is no rebalancing; colours spread evenly over the bins get weight 1 everywhere
    np.testing.assert_allclose(cnn.rebalance_weights(ab, 2, lam=1.0), np.ones((2, 2)), rtol=1e-6)
    even = [((np.arange(64 * 64) + 0.5) / 16 - 128).reshape(64, 64, 1).repeat(2, axis=2)]  # 64 values a bin
    np.testing.assert_allclose(cnn.rebalance_weights(even, 64, sigma=0), np.ones((2, 64)), rtol=1e-4)
    # with smoothing, the mean weight under the smoothed frequencies is 1, and rare bins weigh more
    rng = np.random.default_rng(0)
    real = [np.stack([rng.normal(0, 8, (16, 16)), rng.normal(20, 15, (16, 16))], axis=-1)]
    w = cnn.rebalance_weights(real, 64)
    assert w.shape == (2, 64) and w.dtype == np.float32
    assert w[0, 32] < 1.0 < w[0, 0] and w[1, 37] < w[1, 10]  # a ~ 0 is common, a = -126 rare; b ~ 20 common
    assert np.all(w > 0)


def test_bins_loss_rebalanced_weights_each_value_by_its_true_bin():
    bins = 4  # bins of ab + 128 each 64 wide: [0, 64), [64, 128), [128, 192), [192, 256)
    cw = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]], np.float32)
    y_true = np.array([[[[10.0, 200.0], [130.0, 70.0]]]], np.float32)  # (1, 1, 2, 2): a in bins 0, 2; b in 3, 1
    y_pred = np.random.default_rng(0).normal(size=(1, 1, 2, 2 * bins)).astype(np.float32)
    plain = cnn._bins_loss(bins, 5.0)
    weighted = cnn._bins_loss(bins, 5.0, cw)
    centres = cnn.bin_centres(bins)
    ce = np.zeros((2, 2))  # (pixel, channel): cross-entropy against the Gaussian soft target, by hand
    for p in range(2):
        for c in range(2):
            t = np.exp(-0.5 * ((y_true[0, 0, p, c] - centres) / 5.0) ** 2)
            z = y_pred[0, 0, p, c * bins : (c + 1) * bins].astype(np.float64)
            ce[p, c] = -np.sum(t / t.sum() * (z - np.log(np.exp(z).sum())))
    assert float(plain(y_true, y_pred)) == pytest.approx(ce.mean(), rel=1e-5)
    hand = (1.0 * ce[0, 0] + 0.5 * ce[0, 1] + 3.0 * ce[1, 0] + 0.5 * ce[1, 1]) / 4
    assert float(weighted(y_true, y_pred)) == pytest.approx(hand, rel=1e-5)


def test_rebalanced_bins_model_trains_and_is_its_own_cache_entry(tiny):
    cfg = cnn.CNNConfig(loss="bins", bins=32, rebalance=True, steps=40, lr=5e-3, schedule="constant", **TINY)
    events = []
    res = cnn.train_cnn(cfg, tiny, progress=events.append)
    losses = [e["loss"] for e in events]
    assert np.all(np.isfinite(losses)) and np.mean(losses[-5:]) < 0.9 * np.mean(losses[:3])
    assert res.card["loss"] == "bins, rebalanced" and res.card["config"]["rebalance"] is True
    fp = "f" * 64
    assert cnn.cache_key(cfg, fp) != cnn.cache_key(replace(cfg, rebalance=False), fp)
    with pytest.raises(ValueError, match="rebalance needs loss='bins'"):
        cnn.CNNConfig(rebalance=True)


def test_cache_key_ignores_settings_that_change_nothing():
    fp = "f" * 64
    base = cnn.cache_key(cnn.CNNConfig(), fp)
    assert cnn.cache_key(cnn.CNNConfig(bins=32, bin_sigma=2.0), fp) == base  # bin settings only count for "bins"
    assert cnn.cache_key(cnn.CNNConfig(welsch_sigma=8.0), fp) == base  # and Welsch's width for "welsch"
    welsch = cnn.CNNConfig(loss="welsch")
    assert cnn.cache_key(welsch, fp) != cnn.cache_key(replace(welsch, welsch_sigma=8.0), fp)
    assert cnn.cache_key(cnn.CNNConfig(loss="bins"), fp) != cnn.cache_key(cnn.CNNConfig(loss="bins", bins=32), fp)
    assert cnn.cache_key(cnn.CNNConfig(ema=0.99), fp) != base
    assert cnn.cache_key(cnn.CNNConfig(focus="beach", mix=0.5), fp) != cnn.cache_key(cnn.CNNConfig(focus="beach"), fp)
    gated = cnn.CNNConfig(focus="beach", mix=0.5, members=2, gate=True)
    assert cnn._key_fields(gated)["gate"] == cnn.GATE_VERSION  # a new gate's features never load an old model
    assert cnn.cache_key(gated, fp) != cnn.cache_key(replace(gated, gate=False), fp)
    assert cnn.cache_key(cnn.CNNConfig(), "e" * 64) != base


def test_ema_keeps_the_averaged_weights(tiny):
    plain = cnn.train_cnn(cnn.CNNConfig(steps=6, **TINY), tiny).model.get_weights()
    avg = cnn.train_cnn(cnn.CNNConfig(steps=6, ema=0.5, **TINY), tiny).model.get_weights()
    assert not all(np.allclose(a, b) for a, b in zip(plain, avg))
    with pytest.raises(ValueError, match="ema"):
        cnn.CNNConfig(ema=1.0)
    with pytest.raises(ValueError, match="bins"):
        cnn.CNNConfig(arch="report", loss="bins")


def test_ensemble_averages_its_members_and_saves_as_one_file(tiny, tmp_path):
    events = []
    res = cnn.train_cnn(cnn.CNNConfig(steps=3, members=2, **TINY), tiny, progress=events.append)
    model = res.model
    assert [e["step"] for e in events] == [1, 2, 3, 4, 5, 6] and {e["steps"] for e in events} == {6}
    assert [e["member"] for e in events] == [1, 1, 1, 2, 2, 2]
    one = cnn.train_cnn(cnn.CNNConfig(steps=3, **TINY), tiny).model  # member 1 is this run (seed 0)
    m1, m2 = model.get_layer("member1"), model.get_layer("member2")
    assert all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), one.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), m2.get_weights()))  # seed 1
    L = rgb2lab(_scene(99))[None, ..., :1]  # (1, 24, 32, 1)
    mean = (cnn.predict_ab(m1, L) + cnn.predict_ab(m2, L)) / 2
    np.testing.assert_allclose(cnn.predict_ab(model, L), mean, atol=1e-4)
    assert res.card["parameters"] == 2 * cnn.count_parameters(one) and res.card["config"]["members"] == 2
    path = cnn.save_model(model, res.card, tmp_path, name="ens")
    again = cnn.load_model(path)  # safe mode: nested built-in models only
    np.testing.assert_allclose(cnn.predict_ab(again, L), mean, atol=1e-4)
    with pytest.raises(ValueError, match="members"):
        cnn.CNNConfig(members=2, loss="bins")


def test_an_ensemble_fine_tuned_from_an_ensemble_starts_each_member_from_its_own(tiny, tmp_path):
    pre = cnn.train_cnn(cnn.CNNConfig(steps=2, members=2, **TINY), tiny)
    path = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")
    one = cnn.CNNConfig(steps=1, lr=1e-9, init=str(path), **TINY)  # a vanishing step: weights stay put
    for k in (1, 2):
        start = pre.model.get_layer(f"member{k}").get_weights()
        got = cnn.train_cnn(replace(one, seed=k - 1), tiny).model.get_weights()
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(start, got))
    ft = cnn.train_cnn(replace(one, members=2), tiny).model
    for k in (1, 2):
        start = pre.model.get_layer(f"member{k}").get_weights()
        got = ft.get_layer(f"member{k}").get_weights()
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(start, got))


def test_a_bins_model_fine_tunes_from_a_regression_model_with_a_zero_head(tiny, tmp_path):
    pre = cnn.train_cnn(cnn.CNNConfig(steps=2, loss="huber", **TINY), tiny)
    path = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")
    cfg = cnn.CNNConfig(steps=1, lr=1e-9, loss="bins", bins=16, init=str(path), **TINY)  # a vanishing step
    res = cnn.train_cnn(cfg, tiny)
    ft = res.model
    trunk = [layer.name for layer in pre.model.layers if layer.weights and layer.name != "ab"]
    for name in trunk:  # every layer but the head starts from the regression model
        got, start = ft.get_layer(name).get_weights(), pre.model.get_layer(name).get_weights()
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(start, got)), name
    head = ft.get_layer("ab_logits").get_weights()
    assert all(np.abs(w).max() < 1e-6 for w in head)  # uniform over the bins before it learns
    L = rgb2lab(_scene(99))[None, ..., :1]  # (1, 24, 32, 1)
    logits = cnn._forward(ft, L / 100.0, 16, False)  # (1, 24, 32, 32)
    assert logits.shape[-1] == 32 and np.abs(logits).max() < 1e-5
    # and back: a regression model from the bins model starts at ab = 0 (gray) everywhere
    path2 = cnn.save_model(ft, res.card, tmp_path, name="bins")
    back = cnn.train_cnn(replace(cfg, loss="huber", init=str(path2)), tiny).model
    np.testing.assert_allclose(cnn.predict_ab(back, L), 0.0, atol=1e-3)


def test_members_of_different_widths_pretrain_fine_tune_and_stop(tiny, tmp_path):
    cfg = cnn.CNNConfig(steps=2, members=2, member_widths=(4, 3), **TINY)
    pre = cnn.train_cnn(cfg, tiny)
    m1, m2 = pre.model.get_layer("member1"), pre.model.get_layer("member2")
    assert m1.get_layer("enc1_a").filters == 4 and m2.get_layer("enc1_a").filters == 3
    narrow = cnn.build_model(replace(cfg, members=1, member_widths=(), width=3))
    assert pre.card["parameters"] == cnn.count_parameters(m1) + cnn.count_parameters(narrow)
    assert pre.card["config"]["member_widths"] == [4, 3]
    path = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")  # safe mode loads it back
    L = rgb2lab(_scene(99))[None, ..., :1]  # (1, 24, 32, 1)
    np.testing.assert_allclose(cnn.predict_ab(cnn.load_model(path), L), cnn.predict_ab(pre.model, L), atol=1e-4)
    # fine-tuning starts each member from its counterpart, whatever its width
    ft = cnn.train_cnn(replace(cfg, steps=1, lr=1e-9, init=str(path)), tiny).model
    for k in (1, 2):
        start, got = pre.model.get_layer(f"member{k}").get_weights(), ft.get_layer(f"member{k}").get_weights()
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(start, got))
    # members of one width start from the starting model's members of that width (here both from member 1)
    same = cnn.train_cnn(replace(cfg, member_widths=(), width=4, steps=1, lr=1e-9, init=str(path)), tiny).model
    for k in (1, 2):
        got = same.get_layer(f"member{k}").get_weights()
        assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(m1.get_weights(), got))
    with pytest.raises(ValueError, match="has width 4, this run's has width 5 .*member_widths"):
        cnn.train_cnn(replace(cfg, member_widths=(), width=5, steps=1, init=str(path)), tiny)  # no member of width 5
    stopped = cnn.train_cnn(cfg, tiny, stop=lambda: True)  # stopped in member 1: that U-Net alone, at its width
    assert stopped.config.members == 1 and stopped.config.width == 4 and stopped.config.member_widths == ()
    # equal widths are the default spelled out: same config, same cache key
    assert cnn.CNNConfig(members=2, member_widths=(16, 16)) == cnn.CNNConfig(members=2)
    assert cnn.cache_key(cfg, "f" * 64) != cnn.cache_key(replace(cfg, member_widths=()), "f" * 64)
    with pytest.raises(ValueError, match="one width >= 1 per member"):
        cnn.CNNConfig(members=2, member_widths=(16, 12, 8))


def test_stopping_an_ensemble_keeps_the_members_trained_so_far(tiny):
    calls = []

    def stop():  # checked after every batch: true at the second batch of member 2
        calls.append(1)
        return len(calls) >= 5

    res = cnn.train_cnn(cnn.CNNConfig(steps=3, members=3, **TINY), tiny, stop=stop)
    assert res.stopped and res.history[-1]["step"] == 5 and res.config.members == 2
    assert res.card["config"]["members"] == 2 and len(res.model.layers) == 4  # L, member1, member2, mean


def test_focus_mixes_other_scenarios_and_scores_the_focus(tmp_path):
    rng = np.random.default_rng(0)
    sea = [_scene(i) for i in range(8)]
    wood = [
        np.clip(_scene(50 + i).astype(int) + rng.integers(-5, 5), 0, 255).astype(np.uint8)[:, ::-1] for i in range(6)
    ]
    ds = datasets._build(
        "scenes",
        [(f"sea/{i}", None, im) for i, im in enumerate(sea)] + [(f"wood/{i}", None, im) for i, im in enumerate(wood)],
        0,
        0.7,
        ["sea"] * 8 + ["wood"] * 6,
    )
    target, w = cnn._focus(cnn.CNNConfig(focus="wood", mix=0.25), ds)
    groups = np.array([ds.groups[i] for i in ds.train_idx])
    assert target.name == "wood" and len(target) == 6
    assert w.sum() == pytest.approx(1.0)
    assert w[groups == "sea"].sum() == pytest.approx(0.25) and w[groups == "wood"].sum() == pytest.approx(0.75)
    _, only = cnn._focus(cnn.CNNConfig(focus="wood"), ds)
    assert only[groups == "sea"].sum() == 0.0
    _, others = cnn._focus(cnn.CNNConfig(focus="wood", mix=1.0), ds)  # only the other scenarios' photos
    assert others[groups == "wood"].sum() == 0.0 and others.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mix must lie"):
        cnn.CNNConfig(focus="wood", mix=1.5)
    res = cnn.train_cnn(cnn.CNNConfig(focus="wood", mix=0.25, steps=3, **TINY), ds)
    assert res.card["name"] == "wood" and res.card["metrics"]["n"] == len(target.test_idx)
    assert res.card["scored_on"]["test_files"] == target.part_names("test")
    assert res.card["data"]["fingerprint"] == ds.fingerprint
    with pytest.raises(ValueError, match="its groups"):
        cnn.train_cnn(cnn.CNNConfig(focus="moon", steps=1, **TINY), ds)
    with pytest.raises(ValueError, match="mix needs focus"):
        cnn.CNNConfig(mix=0.5)


def _two_scenarios():
    """A "scenes" dataset of two scenarios a gray photo tells apart: sea (bright sky on top) and wood (upside down, inverted)."""
    sea = [_scene(i) for i in range(8)]
    wood = [(255 - _scene(50 + i))[::-1].copy() for i in range(6)]
    return datasets._build(
        "scenes",
        [(f"sea/{i}", None, im) for i, im in enumerate(sea)] + [(f"wood/{i}", None, im) for i, im in enumerate(wood)],
        0,
        0.7,
        ["sea"] * 8 + ["wood"] * 6,
    )


def test_gate_features_known_answers():
    import keras

    gate = cnn._build_gate()
    features = keras.Model(gate.input, gate.get_layer("gate_features").output)  # (N, 84)
    flat = np.full((1, 64, 64, 1), 0.5, np.float32)  # L = 50 everywhere
    f = _np(features(flat))[0]
    np.testing.assert_allclose(f[:64], 0.5, atol=1e-6)  # the 8 x 8 block means
    above = 1 / (1 + np.exp(-(0.5 - np.array(cnn.GATE_LEVELS)) / cnn.GATE_SOFTNESS))
    np.testing.assert_allclose(f[64:80], above, atol=1e-5)  # soft share of pixels above each level
    np.testing.assert_allclose(f[80:], 0.0, atol=1e-7)  # no texture
    ramp = np.tile(np.linspace(0, 0.63, 64, dtype=np.float32), (64, 1))[None, ..., None]  # +0.01 per column
    np.testing.assert_allclose(_np(features(ramp))[0, 80:], [0.01, 0, 0, 0], atol=1e-6)  # rising d/dx only
    big = np.full((1, 96, 72, 1), 0.5, np.float32)  # any size is squashed to 64 x 64 first
    np.testing.assert_allclose(_np(features(big))[0], f, atol=1e-5)


def test_gated_model_gives_its_scenario_the_specialist_and_other_photos_the_generalist(tmp_path):
    ds = _two_scenarios()
    config = cnn.CNNConfig(focus="wood", mix=0.5, gate=True, members=2, steps=3, **TINY)
    res = cnn.train_cnn(config, ds)
    model = res.model
    spec = cnn.train_cnn(cnn.CNNConfig(focus="wood", steps=3, **TINY), ds).model  # wood's photos only, seed 0
    gen = cnn.train_cnn(cnn.CNNConfig(focus="wood", mix=0.5, seed=1, steps=3, **TINY), ds).model
    for name, alone in (("member1", spec), ("member2", gen)):
        assert all(np.array_equal(a, b) for a, b in zip(model.get_layer(name).get_weights(), alone.get_weights()))
    assert res.card["gate"]["photos"] == {"focus": 4, "other": 6} and res.card["gate"]["train_accuracy"] == 1.0
    assert res.card["config"]["gate"] is True and "gate fitted" in res.message

    L = np.stack([rgb2lab(im)[..., :1] for im in ds.part("test")])  # (4, 24, 32, 1): 2 sea, 2 wood
    is_wood = np.array([ds.groups[i] == "wood" for i in ds.test_idx])
    p = _np(model.get_layer("gate")(L / 100.0))[:, 0]  # (4,)
    assert (p[is_wood] > 0.9).all() and (p[~is_wood] < 0.1).all()
    q = p[:, None, None, None]  # (4, 1, 1, 1); the mirror image has its own p, so compare without flip averaging
    blend = q * cnn.predict_ab(spec, L, flip=False) + (1 - q) * cnn.predict_ab(gen, L, flip=False)
    np.testing.assert_allclose(cnn.predict_ab(model, L, flip=False), blend, atol=1e-3)

    again = cnn.load_model(cnn.save_model(model, res.card, tmp_path, name="gated"))  # safe mode: built-in layers
    np.testing.assert_allclose(cnn.predict_ab(again, L), cnn.predict_ab(model, L), atol=1e-5)
    stopped = cnn.train_cnn(config, ds, stop=lambda: True)  # stopped in the specialist: that U-Net alone
    assert stopped.stopped and not stopped.config.gate and stopped.config.members == 1 and stopped.config.mix == 0
    assert "gate" not in stopped.card and stopped.model.get_layer("ab") is not None
    with pytest.raises(ValueError, match="gate needs focus"):
        cnn.CNNConfig(gate=True, members=2)
    with pytest.raises(ValueError, match="members=1 .*, 2 .*gate_members='tell'"):
        cnn.CNNConfig(focus="wood", mix=0.5, gate=True, members=3)


def test_conditioned_model_is_one_u_net_told_the_gates_p(tmp_path):
    ds = _two_scenarios()
    config = cnn.CNNConfig(focus="wood", mix=0.5, gate=True, steps=3, **TINY)  # members=1: one conditioned U-Net
    assert config.conditioned and not replace(config, members=2).conditioned
    events = []
    res = cnn.train_cnn(config, ds, progress=events.append)
    model = res.model
    assert [layer.name for layer in model.layers] == ["L", "gate", "member1"]
    film = 2 * (4 + 8 + 16 + 32 + 16 + 8 + 4)  # g and b per channel of the 7 blocks (width 4)
    assert res.card["parameters"] == cnn.count_parameters(cnn.build_model(replace(config, gate=False))) + film + 153
    assert res.card["gate"]["photos"] == {"focus": 4, "other": 6} and res.card["gate"]["train_accuracy"] == 1.0
    assert "gate fitted" in res.message and events[-1]["test_acc"] is not None

    L = np.stack([rgb2lab(im)[..., :1] for im in ds.part("test")])  # (4, 24, 32, 1): 2 sea, 2 wood
    x = L / 100.0
    is_wood = np.array([ds.groups[i] == "wood" for i in ds.test_idx])
    unet = model.get_layer("member1")
    told = {c: _np(unet([x, np.full((4, 1), c, np.float32)])) for c in (0.0, 1.0)}  # (4, 24, 32, 2) each
    assert np.abs(told[1.0] - told[0.0]).max() > 1e-3  # two roles: training taught it what c means
    p = _np(model.get_layer("gate")(x))  # (4, 1)
    assert (p[is_wood] > 0.9).all() and (p[~is_wood] < 0.1).all()
    np.testing.assert_allclose(cnn.predict_ab(model, L, flip=False), _np(unet([x, p])) - 128.0, atol=1e-3)

    again = cnn.load_model(cnn.save_model(model, res.card, tmp_path, name="told"))  # safe mode: built-in layers
    np.testing.assert_allclose(cnn.predict_ab(again, L), cnn.predict_ab(model, L), atol=1e-5)
    stopped = cnn.train_cnn(config, ds, stop=lambda: True)  # stopped: still the U-Net and its gate
    assert stopped.stopped and stopped.config.conditioned and "gate" in stopped.card
    with pytest.raises(ValueError, match="own_share"):
        cnn.CNNConfig(focus="wood", mix=0.5, gate=True, own_share=1.0)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        cnn.CNNConfig(focus="wood", mix=0.5, gate=True, batch_size=1)


def test_told_members_are_conditioned_u_nets_sharing_one_gate_and_averaged(tmp_path):
    ds = _two_scenarios()
    pre = cnn.train_cnn(cnn.CNNConfig(steps=2, members=2, member_widths=(4, 3), **TINY), ds)  # a "scenes" pair
    start = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")
    config = cnn.CNNConfig(
        focus="wood", mix=0.5, gate=True, members=2, member_widths=(4, 3), gate_members="tell", steps=3, **TINY
    )
    assert config.told and not config.conditioned and config.member(1).conditioned and config.member(1).width == 3
    res = cnn.train_cnn(replace(config, init=str(start)), ds)
    model = res.model
    assert [layer.name for layer in model.layers][:2] == ["L", "gate"]
    m1, m2 = model.get_layer("member1"), model.get_layer("member2")
    assert m1.get_layer("enc1_a").filters == 4 and m2.get_layer("enc1_a").filters == 3
    # each member is what one conditioned U-Net of its width and seed trains to, from the start's member of its width
    for k, width in ((1, 4), (2, 3)):
        one = replace(config.member(k - 1), seed=config.seed + k - 1, init=str(start))
        alone = cnn.train_cnn(one, ds).model.get_layer("member1")
        assert alone.get_layer("enc1_a").filters == width
        assert all(
            np.array_equal(a, b) for a, b in zip(model.get_layer(f"member{k}").get_weights(), alone.get_weights())
        )
    one_each = [cnn.build_model(replace(config.member(i), init=None)) for i in (0, 1)]  # each with its own gate
    assert res.card["parameters"] == sum(cnn.count_parameters(m) for m in one_each) - 153  # one gate, not two
    assert res.card["config"]["gate_members"] == "tell" and res.card["gate"]["train_accuracy"] == 1.0

    L = np.stack([rgb2lab(im)[..., :1] for im in ds.part("test")])  # (4, 24, 32, 1): 2 sea, 2 wood
    x = L / 100.0
    p = _np(model.get_layer("gate")(x))  # (4, 1)
    mean = (_np(m1([x, p])) + _np(m2([x, p]))) / 2 - 128.0  # (4, 24, 32, 2)
    np.testing.assert_allclose(cnn.predict_ab(model, L, flip=False), mean, atol=1e-3)
    again = cnn.load_model(cnn.save_model(model, res.card, tmp_path, name="pair"))  # safe mode: built-in layers
    np.testing.assert_allclose(cnn.predict_ab(again, L), cnn.predict_ab(model, L), atol=1e-5)

    stopped = cnn.train_cnn(config, ds, stop=lambda: True)  # stopped in member 1: that conditioned U-Net, gate and all
    assert stopped.stopped and stopped.config.conditioned and stopped.config.width == 4 and "gate" in stopped.card
    # "weigh" stays the default and out of the cache key; one U-Net ignores the setting
    weigh = replace(config, gate_members="weigh")
    assert cnn.cache_key(weigh, "f" * 64) != cnn.cache_key(config, "f" * 64)
    assert "gate_members" not in cnn._key_fields(weigh)
    assert replace(config, members=1, member_widths=(), gate_members="tell").gate_members == "weigh"
    plain = cnn.CNNConfig(members=2, member_widths=(4, 3), **TINY)  # no gate: the setting means nothing, nor keys
    assert replace(plain, gate_members="tell") == plain
    with pytest.raises(ValueError, match="gate_members must be"):
        replace(config, gate_members="vote")
    with pytest.raises(ValueError, match="gate_members must be"):
        replace(plain, gate_members="vote")  # checked with or without a gate


def test_conditioned_model_fine_tunes_from_a_plain_u_net_unchanged_at_first(tmp_path):
    ds = _two_scenarios()
    pre = cnn.train_cnn(cnn.CNNConfig(steps=2, **TINY), ds)
    path = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")
    config = cnn.CNNConfig(focus="wood", mix=0.5, gate=True, steps=1, lr=1e-9, init=str(path), **TINY)
    unet = cnn.train_cnn(config, ds).model.get_layer("member1")  # a vanishing step: the start, FiLM still zero
    L = rgb2lab(_scene(99))[None, ..., :1]  # (1, 24, 32, 1)
    plain = cnn.predict_ab(pre.model, L, flip=False)
    for c in (0.0, 1.0):
        got = _np(unet([L / 100.0, np.full((1, 1), c, np.float32)])) - 128.0
        np.testing.assert_allclose(got, plain, atol=1e-3)


def test_conditioned_batches_tell_the_own_crops_one():
    _, OursBatches = cnn._batch_classes()
    views = [[np.full((20, 20, 3), float(i), np.float32)] for i in range(4)]  # photo i: L = i everywhere
    own, mix = np.array([0.0, 0.0, 0.5, 0.5]), np.full(4, 0.25)
    batches = OursBatches(views, 8, 5, 0, 16, True, mix, told=(own, 6))
    drawn = []
    for k in range(len(batches)):
        (x, c), y = batches[k]  # (8, 16, 16, 1), (8, 1), (8, 16, 16, 2)
        assert x.shape == (8, 16, 16, 1) and y.shape == (8, 16, 16, 2) and c.shape == (8, 1)
        assert (c[:6] == 1).all() and (c[6:] == 0).all()
        photo = np.round(x[:, 0, 0, 0] * 100).astype(int)  # (8,): which photo each crop came from
        assert set(photo[:6]) <= {2, 3}
        drawn += list(photo[6:])
    assert set(drawn) & {0, 1}  # the told-0 crops are drawn with the mix weights


def test_position_maps_known_answers():
    pos = cnn.position_maps(3, 4)  # (3, 4, 2)
    np.testing.assert_allclose(pos[:, 0, 0], [1 / 6, 1 / 2, 5 / 6])  # (row + 0.5) / h
    np.testing.assert_allclose(pos[0, :, 1], [0.75, 0.25, 0.25, 0.75])  # |2 (col + 0.5) / w - 1|
    crop = cnn.crop_position_maps(10, 20, 2, 5, 3, 4)  # rows 2-4, columns 5-8 of a 10 x 20 photo
    np.testing.assert_allclose(crop[:, 0, 0], [0.25, 0.35, 0.45])
    np.testing.assert_allclose(crop[0, :, 1], [0.45, 0.35, 0.25, 0.15], atol=1e-6)
    mirrored = cnn.crop_position_maps(10, 20, 2, 5, 3, 4, flip=True)
    np.testing.assert_allclose(mirrored, crop[:, ::-1])
    keras = cnn._keras()
    layer = cnn._LAYERS["PositionMaps"]()
    for h, w in ((3, 4), (24, 40)):
        got = _np(layer(np.zeros((2, h, w, 1), np.float32)))  # (2, h, w, 2), whatever the input's values
        np.testing.assert_allclose(got, np.broadcast_to(cnn.position_maps(h, w), (2, h, w, 2)), atol=1e-6)
    assert keras.saving.get_registered_object("colorlab>PositionMaps") is cnn._LAYERS["PositionMaps"]


def test_position_batches_say_where_each_crop_sat():
    _, OursBatches = cnn._batch_classes()
    rows, cols = np.meshgrid(np.arange(20.0), np.arange(30.0), indexing="ij")  # (20, 30) each
    view = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.float32)  # L = row, a = column
    batches = OursBatches([[view]], 8, 4, 0, 16, True, told=(None, 4), position=True)
    flipped = 0
    for k in range(len(batches)):
        (x, c, pos), y = batches[k]  # (8, 16, 16, 1), (8, 1), (8, 16, 16, 2), (8, 16, 16, 2)
        assert pos.shape == (8, 16, 16, 2) and c.shape == (8, 1)
        row, col = x[..., 0] * 100.0, y[..., 0] - 128.0  # (8, 16, 16): where each crop pixel came from
        np.testing.assert_allclose(pos[..., 0], (row + 0.5) / 20, atol=1e-5)
        np.testing.assert_allclose(pos[..., 1], np.abs(2 * (col + 0.5) / 30 - 1), atol=1e-5)
        flipped += int((np.diff(col, axis=2) < 0).all(axis=(1, 2)).sum())  # mirrored crops: columns decrease
    assert 0 < flipped < 32
    (x, c), _ = OursBatches([[view]], 8, 1, 0, 16, True, told=(None, 4))[0]  # without position: as before


def test_position_model_starts_unchanged_and_learns_where_pixels_sit(tmp_path):
    ds = _two_scenarios()
    pre = cnn.train_cnn(cnn.CNNConfig(steps=2, **TINY), ds)
    path = cnn.save_model(pre.model, pre.card, tmp_path, name="pre")
    config = cnn.CNNConfig(focus="wood", mix=0.5, gate=True, position=True, steps=1, lr=1e-9, init=str(path), **TINY)
    unet = cnn.train_cnn(config, ds).model.get_layer("member1")  # a vanishing step: the start, positions still zero
    assert [i.name for i in unet.inputs] == ["L", "c", "pos"]
    L = rgb2lab(_scene(99))[None, ..., :1]  # (1, 24, 32, 1)
    pos = cnn.position_maps(24, 32)[None]  # (1, 24, 32, 2)
    plain = cnn.predict_ab(pre.model, L, flip=False)
    for c in (0.0, 1.0):
        got = _np(unet([L / 100.0, np.full((1, 1), c, np.float32), pos])) - 128.0
        np.testing.assert_allclose(got, plain, atol=1e-3)

    res = cnn.train_cnn(replace(config, steps=3, lr=2e-3), ds)
    model = res.model
    unet = model.get_layer("member1")
    assert [layer.name for layer in model.layers] == ["L", "gate", "positions", "member1"]
    assert np.abs(unet.get_layer("enc1_pos").get_weights()[0]).max() > 0  # it learnt to use them
    positions = 2 * (4 + 8 + 16 + 32 + 16 + 8 + 4)  # a 1x1 convolution of 2 maps in each of the 7 blocks (width 4)
    without = cnn.count_parameters(cnn.build_model(replace(config, position=False, init=None)))
    assert res.card["parameters"] == without + positions and res.card["config"]["position"] is True
    x = L / 100.0
    p = _np(model.get_layer("gate")(x))  # (1, 1)
    np.testing.assert_allclose(cnn.predict_ab(model, L, flip=False), _np(unet([x, p, pos])) - 128.0, atol=1e-3)
    again = cnn.load_model(cnn.save_model(model, res.card, tmp_path, name="pos"))  # safe mode: a registered layer
    np.testing.assert_allclose(cnn.predict_ab(again, L), cnn.predict_ab(model, L), atol=1e-5)
    assert cnn.cache_key(config, "f" * 64) != cnn.cache_key(replace(config, position=False), "f" * 64)
    assert "position" not in cnn._key_fields(replace(config, position=False))  # older cached models keep their keys
    with pytest.raises(ValueError, match="position needs gate"):
        cnn.CNNConfig(position=True)


def test_report_network_trains_a_step(tiny):
    res = cnn.train_cnn(cnn.CNNConfig(arch="report", steps=2, optimizer="sgd"), tiny)
    assert res.card["optimizer"] == "sgd" and res.card["parameters"] == 75_563_904


def test_stop_request_ends_training_between_batches(tiny):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 3

    res = cnn.train_cnn(cnn.CNNConfig(steps=50, **TINY), tiny, stop=stop)
    assert res.stopped and res.history[-1]["step"] == 3 and "stopped at step 3" in res.message


def test_divergence_ends_with_a_clear_message(tiny):
    cfg = cnn.CNNConfig(steps=40, optimizer="sgd", lr=1e6, loss="mse", schedule="constant", **TINY)
    with pytest.raises(cnn.TrainingError, match="diverged at step .*lower learning rate"):
        cnn.train_cnn(cfg, tiny)


def test_mirrored_strategy_with_two_logical_cpus(tmp_path):
    script = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from core import cnn, datasets
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        rng = np.random.default_rng(0)
        ds = datasets.from_images([rng.integers(0, 256, (20, 20, 3), dtype=np.uint8) for _ in range(4)])
        res = cnn.train_cnn(cnn.CNNConfig(steps=1, size=16, scales=(16,), width=4, batch_size=4), ds, strategy=strategy)
        print("replicas", strategy.num_replicas_in_sync, "steps", res.card["training"]["steps"])
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "replicas 2 steps 1" in proc.stdout


# --------------------------------------------------------------------------- cache


def test_cache_miss_hit_and_corrupt_file(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv(cnn.CACHE_ENV, str(tmp_path))
    cfg = cnn.CNNConfig(steps=2, **TINY)
    first = cnn.train_or_load(cfg, tiny)
    assert not first.from_cache and first.cache_path.parent == tmp_path and first.cache_path.is_file()
    assert first.cache_path.with_suffix(".json").is_file()
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporaries
    hit = cnn.train_or_load(cfg, tiny)
    assert hit.from_cache and hit.card["key"] == first.card["key"] == cnn.cache_key(cfg, tiny.fingerprint)
    assert all(np.array_equal(a, b) for a, b in zip(hit.model.get_weights(), first.model.get_weights()))
    # another config is another key
    assert cnn.cache_key(cnn.CNNConfig(steps=3, **TINY), tiny.fingerprint) != hit.card["key"]
    first.cache_path.write_bytes(b"PK\x03\x04 this is not a keras file")
    with pytest.warns(UserWarning, match="corrupt"):
        again = cnn.train_or_load(cfg, tiny)
    assert not again.from_cache and "corrupt" in again.message
    assert cnn.train_or_load(cfg, tiny).from_cache  # repaired


def test_a_cached_card_scored_the_old_way_is_scored_again(tiny, tmp_path, monkeypatch):
    """A card written before round 18 (``ours`` scored from the squashed view only) is measured again on a hit."""
    monkeypatch.setenv(cnn.CACHE_ENV, str(tmp_path))
    cfg = cnn.CNNConfig(steps=2, **TINY)
    first = cnn.train_or_load(cfg, tiny)
    assert first.card["metrics"]["detail_side"] == 96 and cnn.metrics_are_current(first.card)
    card_path = first.cache_path.with_suffix(".json")
    old = json.loads(card_path.read_text())
    del old["metrics"]["detail_side"]
    old["metrics"]["model"]["accuracy"] = -1.0  # so the check below sees a new measurement
    card_path.write_text(json.dumps(old))
    assert not cnn.metrics_are_current(old)
    hit = cnn.train_or_load(cfg, tiny)
    assert hit.from_cache and "measured again" in hit.message
    assert hit.card["metrics"]["model"]["accuracy"] == pytest.approx(first.card["metrics"]["model"]["accuracy"])
    assert hit.card["rescored"]["why"] and json.loads(card_path.read_text())["metrics"]["detail_side"] == 96
    other = json.loads(card_path.read_text())
    other["data"]["fingerprint"] = "0" * 64
    with pytest.raises(ValueError, match="fingerprint differs"):
        cnn.rescore(hit.model, other, tiny)


def test_saved_models_load_in_safe_mode(tiny_model, tmp_path):
    path = cnn.save_model(tiny_model.model, tiny_model.card, tmp_path, "toy")
    assert path == tmp_path / "toy.keras" and path.stat().st_size < 5_000_000
    loaded = cnn.load_model(path, safe_mode=True)
    x = np.full((1, 16, 24, 1), 60.0, np.float32)
    assert np.allclose(cnn.predict_ab(loaded, x), cnn.predict_ab(tiny_model.model, x), atol=1e-5)
    assert cnn.load_card(path)["key"] == tiny_model.card["key"]
    with pytest.raises(FileNotFoundError, match="beach, sunset"):
        cnn.load_model(tmp_path / "missing.keras")


# --------------------------------------------------------------------------- colorize, eval


def test_full_resolution_colorize_keeps_size_and_exact_l(tiny_model):
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (75, 203, 3), dtype=np.uint8)
    lab = cnn.colorize_lab(tiny_model.model, rgb, working_size=40)
    assert lab.shape == (75, 203, 3)
    assert np.array_equal(lab[..., 0], rgb2lab(rgb)[..., 0])
    out = cnn.colorize(tiny_model.model, rgb[..., 1])  # a gray (H, W) input works too
    assert out.shape == (75, 203, 3) and out.dtype == np.uint8
    report = cnn.build_model("report")
    lab_r = cnn.colorize_lab(report, rgb)
    assert lab_r.shape == (75, 203, 3) and np.array_equal(lab_r[..., 0], rgb2lab(rgb)[..., 0])


def test_colorize_flip_switch(tiny_model):
    """``flip=False`` is one plain pass of the network; the default averages it with the mirror image's."""
    rng = np.random.default_rng(6)
    rgb = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    model = tiny_model.model
    L = cnn._resize_float(rgb2lab(rgb)[..., 0], (30, 41))  # working size 96 > 41: no scaling
    plain = cnn.predict_ab(model, L, flip=False)  # (30, 41, 2)
    both = 0.5 * (plain + cnn.predict_ab(model, L[:, ::-1], flip=False)[:, ::-1])
    np.testing.assert_allclose(cnn.colorize_lab(model, rgb, flip=False)[..., 1:], plain, atol=1e-4)
    np.testing.assert_allclose(cnn.colorize_lab(model, rgb)[..., 1:], both, atol=1e-4)
    assert not np.allclose(plain, both, atol=1e-3)


def test_resize_float_resizes_each_channel_alike():
    """A (h, w, C) array is resized channel by channel, as each (h, w) channel alone would be."""
    ab = np.random.default_rng(8).uniform(-60, 60, (9, 14, 2)).astype(np.float32)  # (h, w, 2)
    for size in ((20, 31), (5, 7), (9, 14)):
        out = cnn._resize_float(ab, size)
        assert out.shape == (*size, 2) and out.dtype == np.float32
        for c in range(2):
            np.testing.assert_array_equal(out[..., c], cnn._resize_float(ab[..., c], size))


def test_eval_matches_a_hand_computation():
    photos = [_scene(i, 16, 16) for i in range(5)]
    ds = datasets.from_images(photos)  # train 4 (rounded 3.5), test 1... split by the seed
    model = cnn.build_model(cnn.CNNConfig(width=4))
    head = model.get_layer("ab")
    k, _ = head.get_weights()
    const = np.array([12.0, -7.0])  # the model predicts a = 12, b = -7 everywhere
    head.set_weights([np.zeros_like(k), (const / 128.0).astype(np.float32)])
    ev = cnn.evaluate(model, ds, size=8)

    L, ab = ds.arrays("test", 8)
    err = np.abs(ab - const)
    assert ev["aggregate"]["model"]["accuracy"] == pytest.approx(np.mean(err <= 10), abs=1e-6)
    assert ev["aggregate"]["gray"]["accuracy"] == pytest.approx(np.mean(np.abs(ab) <= 10), abs=1e-6)
    _, ab_tr = ds.gray_ab("train", 8)
    mean_ab = ab_tr.reshape(-1, 2).astype(np.float64).mean(axis=0)
    assert ev["aggregate"]["mean"]["accuracy"] == pytest.approx(np.mean(np.abs(ab - mean_ab) <= 10), abs=1e-6)
    # AuC: mean over t = 0..150 of the share of pixels within Euclidean distance t (trapezoid rule)
    d = np.sqrt(((ab - const) ** 2).sum(-1)).ravel()
    curve = np.array([np.mean(d <= t) for t in range(151)])
    assert ev["aggregate"]["model"]["auc"] == pytest.approx((curve[:-1] + curve[1:]).sum() / 2 / 150, abs=1e-4)
    # PSNR of the first test photo, by hand
    i = 0
    pred = lab2uint8(merge_l_ab(L[i, ..., 0], np.broadcast_to(const, ab[i].shape))).astype(np.float64)
    true = lab2uint8(merge_l_ab(L[i, ..., 0], ab[i])).astype(np.float64)
    expect = 10 * np.log10(255.0**2 / np.mean((pred - true) ** 2))
    assert ev["per_image"][i]["model"]["psnr"] == pytest.approx(expect, rel=1e-6)
    assert ev["n"] == len(ds.test_idx) and ev["best_baseline"] in ("gray", "mean", "lookup")


# --------------------------------------------------------------------------- command line


def _write_photos(folder: Path, n: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(_scene(i, 24, 32)).save(folder / f"s{i}.png")


def test_cli_describe_json(capsys):
    from core.cnn_cli import main

    assert main(["describe", "--arch", "report", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["parameters"] == 75_563_904 and isinstance(d["layers"], list)
    assert main(["describe", "--arch", "ours"]) == 0
    assert "parameters" in capsys.readouterr().out


def test_cli_train_rebalanced_bins(tmp_path, monkeypatch, capsys):
    from core.cnn_cli import main

    monkeypatch.setenv(cnn.CACHE_ENV, str(tmp_path / "cache"))
    _write_photos(tmp_path / "photos", 4)
    args = ["train", "--images", str(tmp_path / "photos"), "--steps", "1", "--json"]
    assert main(args + ["--loss", "bins", "--rebalance"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["loss"] == "bins, rebalanced" and card["config"]["rebalance"] is True
    assert main(args + ["--rebalance"]) == 1  # rebalancing weighs classes: it needs the bins loss
    assert "rebalance needs loss='bins'" in capsys.readouterr().err


def test_cli_train_scales(tmp_path, monkeypatch, capsys):
    from core.cnn_cli import main

    monkeypatch.setenv(cnn.CACHE_ENV, str(tmp_path / "cache"))
    _write_photos(tmp_path / "photos", 4)
    args = ["train", "--images", str(tmp_path / "photos"), "--steps", "1", "--json"]
    assert main(args + ["--scales", "64", "96", "128", "160", "192"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["config"]["scales"] == [64, 96, 128, 160, 192]
    assert cnn.CNNConfig.from_dict(card["config"]).scales == (64, 96, 128, 160, 192)
    assert main(args + ["--scales", "48"]) == 1  # a crop of 64 needs a photo at least 64 on its shorter side
    assert "every scale must be >= size (64)" in capsys.readouterr().err


def test_cli_train_eval_colorize(tmp_path, monkeypatch, capsys):
    from core.cnn_cli import main

    monkeypatch.setenv(cnn.CACHE_ENV, str(tmp_path / "cache"))
    _write_photos(tmp_path / "photos", 6)
    out = tmp_path / "models"
    assert (
        main(
            [
                "train",
                "--images",
                str(tmp_path / "photos"),
                "--arch",
                "ours",
                "--steps",
                "2",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    card = json.loads(captured.out)
    assert "step 2/2" in captured.err and "train acc" in captured.err  # progress lines go to stderr
    assert card["training"]["steps"] == 2 and (out / "photos.keras").is_file() and (out / "photos.json").is_file()
    assert main(["eval", "--model", str(out / "photos.keras"), "--images", str(tmp_path / "photos"), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n"] == 6 and set(ev["aggregate"]) >= {"model", "gray", "mean", "lookup"}
    assert set(ev["aggregate"]["model"]) == {"accuracy", "auc", "psnr", "ssim", "colorfulness"}
    assert ev["detail_side"] == 96  # ours is scored from the squashed view and the photo at shorter side 96
    args = ["eval", "--model", str(out / "photos.keras"), "--images", str(tmp_path / "photos"), "--no-detail"]
    assert main([*args, "--json"]) == 0
    squashed = json.loads(capsys.readouterr().out)
    assert squashed["detail_side"] is None and squashed["aggregate"]["gray"] == ev["aggregate"]["gray"]
    ds = datasets.load_folder(tmp_path / "photos", train_ratio=0.0)
    model = cnn.load_model(out / "photos.keras")
    L, ab = ds.arrays("test", 64)
    assert squashed["aggregate"]["model"]["accuracy"] == pytest.approx(report_accuracy_of(cnn.predict_ab(model, L), ab))
    assert main(args) == 0 and "squashed" not in capsys.readouterr().out  # the text says nothing of a second view
    assert main(args[:-1]) == 0 and "shorter side of 96 px" in capsys.readouterr().out
    png = tmp_path / "out.png"
    assert (
        main(["colorize", str(tmp_path / "photos" / "s0.png"), "--model", str(out / "photos.keras"), "--out", str(png)])
        == 0
    )
    from PIL import Image

    assert Image.open(png).size == (32, 24)
    one = tmp_path / "one.png"
    photo = str(tmp_path / "photos" / "s0.png")
    assert main(["colorize", photo, "--model", str(out / "photos.keras"), "--out", str(one), "--no-flip"]) == 0
    from core.images import load_image

    model = cnn.load_model(out / "photos.keras")
    assert np.array_equal(np.asarray(Image.open(one)), cnn.colorize(model, load_image(photo), flip=False))
    assert np.array_equal(np.asarray(Image.open(png)), cnn.colorize(model, load_image(photo)))
    assert main(["colorize", str(tmp_path / "nope.png"), "--model", str(out / "photos.keras"), "--out", str(png)]) == 1
    assert "no such file" in capsys.readouterr().err


# --------------------------------------------------------------------------- committed models


@pytest.mark.parametrize("name", cnn.COMMITTED_MODELS)
def test_committed_recipe_is_the_cards_config(name):
    """``committed_recipe`` (the dashboard's "committed recipe") is the config each committed model was made with."""
    card = cnn.load_card(name) if name in cnn.committed_models() else None
    if card is None:
        pytest.skip(f"models/{name}.json is not committed yet")
    assert cnn.committed_recipe(name) == cnn.CNNConfig.from_dict(card["config"])
    assert cnn.committed_recipe(name, seed=3).seed == 3
    with pytest.raises(ValueError, match="beach, sunset, forest, scenes"):
        cnn.committed_recipe("desert")


@pytest.mark.parametrize("name", cnn.COMMITTED_MODELS)
def test_committed_models_are_small_and_carded(name):
    if name not in cnn.committed_models():
        pytest.skip(f"models/{name}.keras is not committed yet")
    path = cnn.model_path(name)
    assert path.stat().st_size <= 5_000_000
    card = cnn.load_card(name)
    assert card["arch"] == "ours" and card["data"]["fingerprint"] and card["training"]["device"]
    assert {"model", "gray", "mean", "lookup"} <= set(card["metrics"])
    model = cnn.load_model(name)
    assert cnn.colorize(model, np.zeros((20, 30, 3), np.uint8)).shape == (20, 30, 3)


@pytest.mark.skipif(not os.environ.get(datasets.DATA_ENV), reason=f"{datasets.DATA_ENV} is not set")
def test_committed_model_cards_match_a_fresh_evaluation():
    names = [n for n in cnn.committed_models() if n != "scenes"]
    if not names:
        pytest.skip("no committed per-scenario model yet")
    name = names[0]
    card = cnn.load_card(name)
    focus = card["config"].get("focus")
    ds = datasets.load_scenario(datasets.ALL_SCENES if focus else name, seed=card["config"]["seed"])
    assert ds.fingerprint == card["data"]["fingerprint"]
    if focus:  # trained on all scenes' training photos, scored on its own scenario's test split
        ds = ds.subset(focus)
        assert ds.part_names("test") == card["scored_on"]["test_files"]
    ev = cnn.evaluate(cnn.load_model(name), ds, baselines=cnn.baselines_from_card(card))
    assert ev["aggregate"]["model"]["accuracy"] == pytest.approx(card["metrics"]["model"]["accuracy"], abs=1e-4)
