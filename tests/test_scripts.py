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
