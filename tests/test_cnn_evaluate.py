"""core.cnn.evaluate: pooled scores, the baselines beside a model, random hints and the baselines' tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.baselines import BASELINES
from core.cnn.evaluate import (
    METRICS,
    Tally,
    baseline_tables,
    baselines_from_tables,
    evaluate_photos,
    fit_baselines,
    random_pixel_hints,
)
from core.cnn.models import HINT_SCALE
from core.color import rgb2gray, rgb2lab
from core.images import load_sample, resize
from core.metrics import chroma_sums, hit_counts, report_accuracy


@pytest.fixture(scope="module")
def photos():
    return [
        resize(load_sample("coffee"), (40, 56)),
        resize(load_sample("chelsea"), (48, 40)),
        resize(load_sample("astronaut"), (36, 36)),
        resize(load_sample("rocket"), (44, 32)),
    ]


def _lab(photo):
    lab = rgb2lab(photo)
    return lab[..., 0], lab[..., 1:]


def test_a_perfect_prediction_scores_1_everywhere(photos):
    L, ab = _lab(photos[0])
    t = Tally()
    t.add(ab, ab, L)
    r = t.result()
    assert set(r) == set(METRICS)
    assert r["accuracy"] == 1.0 and r["hit_rate"] == 1.0 and r["saturation"] == pytest.approx(1.0)
    assert r["auc"] == pytest.approx(1.0, abs=0.01)
    assert r["psnr"] == 100.0  # an exact copy's infinite PSNR is capped
    assert r["ssim"] == pytest.approx(1.0)


def test_a_gray_prediction_hits_nothing_and_has_no_saturation(photos):
    L, ab = _lab(photos[0])
    t = Tally()
    stats = t.add(np.zeros_like(ab), ab, L)
    r = t.result()
    assert stats["colourful"] > 0  # coffee has colourful pixels
    assert r["hit_rate"] == 0.0 and r["saturation"] == 0.0
    assert r["accuracy"] == pytest.approx(report_accuracy(np.zeros_like(ab), ab))
    assert 0.0 <= r["auc"] < 1.0
    assert Tally.own(stats) == r


def test_an_empty_tally_has_no_scores():
    assert Tally().result() == {m: None for m in METRICS}


def test_a_gray_photo_has_no_hit_rate_or_saturation():
    L = np.full((20, 20), 50.0)
    ab = np.zeros((20, 20, 2))
    t = Tally()
    t.add(ab, ab, L)
    r = t.result()
    assert r["hit_rate"] is None and r["saturation"] is None and r["accuracy"] == 1.0


def test_pooling_weighs_every_pixel_the_same_whatever_the_photo_size():
    """Two photos of different sizes pool exactly like one photo made of both, stacked."""
    rng = np.random.default_rng(0)
    L1, ab1 = _lab(resize(load_sample("coffee"), (20, 30)))
    L2, ab2 = _lab(resize(load_sample("chelsea"), (50, 30)))
    pred1 = ab1 + rng.normal(0, 8, ab1.shape)  # close
    pred2 = np.zeros_like(ab2)  # gray
    pooled = Tally()
    pooled.add(pred1, ab1, L1)
    pooled.add(pred2, ab2, L2)
    whole = Tally()
    whole.add(np.concatenate([pred1, pred2]), np.concatenate([ab1, ab2]), np.concatenate([L1, L2]))
    p, w = pooled.result(), whole.result()
    for k in ("accuracy", "auc", "hit_rate", "saturation"):
        assert p[k] == pytest.approx(w[k], rel=1e-12), k
    both_pred, both_true = np.concatenate([pred1, pred2]), np.concatenate([ab1, ab2])
    assert p["accuracy"] == pytest.approx(report_accuracy(both_pred, both_true))
    hits, colourful = hit_counts(both_pred, both_true)
    assert p["hit_rate"] == pytest.approx(hits / colourful)
    ps, ts, _ = chroma_sums(both_pred, both_true)
    assert p["saturation"] == pytest.approx(ps / ts)
    # not the mean of the two photos' scores: the bigger photo counts more
    each = [Tally.own(Tally().add(pred1, ab1, L1)), Tally.own(Tally().add(pred2, ab2, L2))]
    assert p["accuracy"] != pytest.approx(np.mean([e["accuracy"] for e in each]))


def test_evaluate_photos_scores_the_baselines_alone(photos):
    baselines = fit_baselines(photos[:2])
    ev = evaluate_photos(None, photos[2:], baselines=baselines, names=["a", "b"], groups=["g1", "g2"], size=32)
    agg = ev["aggregate"]
    assert set(agg) == {*BASELINES, "truth"}
    for b in BASELINES:
        assert set(agg[b]) == set(METRICS)
        assert 0.0 <= agg[b]["accuracy"] <= 1.0 and 0.0 <= agg[b]["auc"] <= 1.0
    assert agg["gray"]["saturation"] == 0.0
    assert ev["best_baseline"] == max(BASELINES, key=lambda b: agg[b]["accuracy"])
    assert ev["n"] == 2 and ev["size"] == 32 and ev["hints"] == 0
    assert [row["name"] for row in ev["per_image"]] == ["a", "b"]
    assert set(ev["groups"]) == {"g1", "g2"}
    for g, row in zip(("g1", "g2"), ev["per_image"]):  # one photo per group: the group's scores are its own
        for b in BASELINES:
            assert ev["groups"][g][b]["accuracy"] == pytest.approx(row[b]["accuracy"])


def test_groups_pool_their_photos_and_no_groups_no_group_scores(photos):
    baselines = fit_baselines(photos[:1])
    ev = evaluate_photos(None, photos, baselines=baselines, groups=["x", "y", "x", "y"])
    assert "groups" not in evaluate_photos(None, photos[:1], baselines=baselines)
    for g, idx in (("x", [0, 2]), ("y", [1, 3])):
        t = Tally()
        for i in idx:
            L, ab = _lab(photos[i])
            t.add(baselines["lookup"].predict(rgb2gray(photos[i])), ab, L)
        assert ev["groups"][g]["lookup"]["accuracy"] == pytest.approx(t.result()["accuracy"])
    assert ev["per_image"][0]["name"] == "photo 1"


def test_progress_is_called_per_photo(photos):
    seen = []
    evaluate_photos(None, photos[:3], baselines=fit_baselines(photos[:1]), progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_random_pixel_hints_give_count_pixels_their_true_colours():
    ab = np.random.default_rng(0).uniform(-80, 80, (24, 30, 2))
    maps = random_pixel_hints(ab, 17, np.random.default_rng(1))
    assert maps.shape == (24, 30, 3)
    mask = maps[..., 2] == 1
    assert mask.sum() == 17 and set(np.unique(maps[..., 2])) == {0.0, 1.0}
    np.testing.assert_allclose(maps[mask][:, :2] * HINT_SCALE, ab[mask], atol=1e-3)
    assert not maps[~mask].any()
    assert random_pixel_hints(ab, 10_000, np.random.default_rng(1))[..., 2].sum() == 24 * 30  # at most every pixel


def test_baseline_tables_round_trip_predicts_the_same(photos):
    fitted = fit_baselines(photos)
    tables = json.loads(json.dumps(baseline_tables(fitted)))
    back = baselines_from_tables(tables)
    assert set(back) == set(BASELINES)
    gray = rgb2gray(photos[0])
    for b in BASELINES:
        np.testing.assert_allclose(back[b].predict(gray), fitted[b].predict(gray), atol=1e-3)
    assert not back["gray"].predict(gray).any()


def test_a_model_is_scored_on_the_same_pixels_as_the_baselines(photos):
    """A fresh regression U-Net predicts exactly gray, so its row must equal the gray baseline's."""
    from core.cnn import get_model, recipe

    model = get_model(recipe("general", loss="huber", width=8, size=32))
    ev = evaluate_photos(model, photos[2:], baselines=fit_baselines(photos[:2]), hints=3)
    assert ev["hints"] == 3
    for m in ("accuracy", "auc", "hit_rate", "saturation", "psnr", "ssim"):
        assert ev["aggregate"]["model"][m] == pytest.approx(ev["aggregate"]["gray"][m]), m
    for row in ev["per_image"]:
        assert set(row) == {"name", "model", *BASELINES}
