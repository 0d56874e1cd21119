"""The diagnostic scripts in scripts/ (their numbers against hand computations)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from core import cnn, datasets

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _constant_model(a: float, b: float):
    """A U-Net that predicts a, b everywhere (its last layer's weights zeroed, its bias set)."""
    model = cnn.build_model(cnn.CNNConfig(width=4))
    head = model.get_layer("ab")
    k, _ = head.get_weights()
    head.set_weights([np.zeros_like(k), (np.array([a, b]) / 128.0).astype(np.float32)])
    return model


def test_cast_oracles_match_a_hand_computation():
    cast = _script("cnn_cast")
    rng = np.random.default_rng(3)
    photos = [np.clip(rng.normal((150, 110, 80), 30, (16, 16, 3)), 0, 255).astype(np.uint8) for _ in range(6)]
    ds = datasets.from_images(photos)
    const = np.array([12.0, -7.0])
    out = cast.cast_table(_constant_model(*const), ds, size=8)

    L, ab = ds.arrays("test", 8)
    _, ab_train = ds.arrays("train", 8)
    assert out["n"] == len(ab) >= 1
    for row, t in zip(out["per_image"], ab, strict=True):

        def within(p, t=t):  # the report's accuracy, by hand
            return np.mean(np.abs(p - t) <= 10)

        assert np.isclose(row["model"], within(const))
        assert np.isclose(row["shift"], within(np.median(t, axis=(0, 1))))  # constant + median(t - constant)
        assert np.isclose(row["scale"], max(within(k * const) for k in np.arange(0, 2.0001, 0.05)))
        assert row["scale"] >= row["model"]  # the factor 1 is among those tried
        assert np.isclose(row["mean_error"], np.abs(const - t.mean(axis=(0, 1))).mean(), atol=1e-4)
        assert np.isclose(row["train_mean_error"], np.abs(ab_train.mean(axis=(0, 1, 2)) - t.mean(axis=(0, 1))).mean())
    assert np.isclose(out["mean"]["model"], np.mean([r["model"] for r in out["per_image"]]))


def test_shift_averaging_crops_each_shifted_prediction_back_into_place():
    cv = _script("cnn_cv")
    keras = cnn._keras()
    # a pixelwise model: each shifted pass, cropped back correctly, gives exactly the unshifted prediction
    inp = keras.Input((None, None, 1))
    pixelwise = keras.Model(inp, keras.layers.Conv2D(2, 1, name="ab")(inp))
    pixelwise.get_layer("ab").set_weights(
        [np.array([[[[40.0, -25.0]]]], np.float32), np.array([128.0, 130.0], np.float32)]
    )
    L = np.random.default_rng(5).uniform(0, 100, (2, 13, 21, 1)).astype(np.float32)  # (N, h, w, 1), odd sizes
    plain = cnn.predict_ab(pixelwise, L)
    shifted = cv.predict_shifted(pixelwise, L, 4)
    assert shifted.shape == plain.shape == (2, 13, 21, 2)
    np.testing.assert_allclose(shifted, plain, atol=1e-4)
    np.testing.assert_allclose(plain[..., 0], 0.4 * L[..., 0], atol=1e-4)  # the model itself, by hand
    # a U-Net sees a moved pooling grid, so its shifted passes differ; shift 0 is plain predict_ab
    unet = cnn.build_model(cnn.CNNConfig(width=4))  # random weights
    np.testing.assert_array_equal(cv.predict_shifted(unet, L, 0), cnn.predict_ab(unet, L))
    assert not np.allclose(cv.predict_shifted(unet, L, 4), cnn.predict_ab(unet, L), atol=1e-4)


def test_soup_averages_the_weights_of_each_fold_model(tmp_path):
    cv = _script("cnn_cv")
    keras = cnn._keras()
    cfg = cnn.CNNConfig(width=2)
    dirs = [tmp_path / "a", tmp_path / "b"]
    saved = {}
    for k, d in enumerate(dirs):
        keras.utils.set_random_seed(k)
        for fold in (0, 1):
            for s in cv.SCENARIOS:
                model = cnn.build_model(cfg)  # fresh random weights for each file
                cnn.save_model(model, {"config": cfg.to_dict()}, d, name=f"{s}-all-fold{fold}")
                saved[(k, s, fold)] = model.get_weights()
    out = cv.soup(dirs, tmp_path / "soup")
    for fold in (0, 1):
        for s in cv.SCENARIOS:
            got = cnn.load_model(out / f"{s}-all-fold{fold}.keras").get_weights()
            a, b = saved[(0, s, fold)], saved[(1, s, fold)]
            assert len(got) == len(a)
            for g, x, y in zip(got, a, b):
                np.testing.assert_allclose(g, (x + y) / 2, rtol=1e-6, atol=1e-7)
            assert any(not np.allclose(g, x) for g, x in zip(got, a))  # not just the first model copied
            assert (out / f"{s}-all-fold{fold}.json").is_file()


def test_folds_option_reaches_the_soup_and_the_scoring(tmp_path, monkeypatch):
    cv = _script("cnn_cv")
    cfg = cnn.CNNConfig(width=2)
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        for fold in (0, 1, 2):
            for s in cv.SCENARIOS:
                cnn.save_model(cnn.build_model(cfg), {"config": cfg.to_dict()}, d, name=f"{s}-all-fold{fold}")
    scored = []
    monkeypatch.setattr(cv, "ensemble", lambda dirs, folds=(0, 1), **kw: scored.append((list(dirs), folds)))
    assert cv.main(["--ensemble", *map(str, dirs), "--folds", "0", "1", "2"]) == 0
    assert scored[-1] == (dirs, (0, 1, 2))
    assert cv.main(["--ensemble", *map(str, dirs)]) == 0  # the default, as before: folds 0 and 1
    assert scored[-1] == (dirs, (0, 1))
    out = tmp_path / "soup"
    assert cv.main(["--ensemble", *map(str, dirs), "--soup", str(out), "--folds", "2"]) == 0
    assert scored[-1] == ([out], (2,))
    assert sorted(p.name for p in out.glob("*.keras")) == [f"{s}-all-fold2.keras" for s in sorted(cv.SCENARIOS)]


def test_teacher_views_replace_only_ab_by_the_teachers_mean():
    cv = _script("cnn_cv")
    rng = np.random.default_rng(3)
    views = [[rng.uniform(-40, 40, (h, w, 3)).astype(np.float32) for h, w in ((8, 8), (9, 13))] for _ in range(2)]
    for per in views:
        for v in per:
            v[..., 0] = rng.uniform(0, 100, v.shape[:2])
    before = [[v.copy() for v in per] for per in views]
    hits = cv.teacher_views(views, [_constant_model(10.0, -20.0), _constant_model(30.0, 0.0)])  # mean (20, -10)
    expected = []
    for per, old in zip(views, before):
        for v, o in zip(per, old):
            np.testing.assert_array_equal(v[..., 0], o[..., 0])  # L untouched
            np.testing.assert_allclose(v[..., 1], 20.0, atol=1e-3)
            np.testing.assert_allclose(v[..., 2], -10.0, atol=1e-3)
            expected.append(np.mean(np.abs(np.array([20.0, -10.0]) - o[..., 1:]) <= 10))
    assert np.isclose(hits, np.mean(expected), atol=1e-3)


def test_scale_averaging_resizes_each_prediction_back():
    cv = _script("cnn_cv")
    L = np.random.default_rng(7).uniform(0, 100, (2, 16, 16, 1)).astype(np.float32)  # (N, h, w, 1)
    const = _constant_model(12.0, -7.0)
    out = cv.predict_scaled(const, L, (20, 24))
    assert out.shape == (2, 16, 16, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], 12.0, atol=1e-3)  # every pass, resized back, is the same constant
    np.testing.assert_allclose(out[..., 1], -7.0, atol=1e-3)
    unet = cnn.build_model(cnn.CNNConfig(width=4))  # random weights
    np.testing.assert_array_equal(cv.predict_scaled(unet, L), cnn.predict_ab(unet, L))  # no sizes: plain
    big = np.stack([cnn._resize_float(x, (24, 24)) for x in L])  # (N, 24, 24, 1)
    back = np.stack([cnn._resize_float(y, (16, 16)) for y in cnn.predict_ab(unet, big)])  # (N, 16, 16, 2)
    np.testing.assert_allclose(cv.predict_scaled(unet, L, (24,)), (cnn.predict_ab(unet, L) + back) / 2, atol=1e-4)
