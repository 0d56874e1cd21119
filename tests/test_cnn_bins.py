"""core.cnn.bins: the a/b bins, soft targets, rebalancing and the annealed mean (numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.cnn.bins import BIN_STEP, annealed_mean, bin_centres, bin_prior, rebalance_weights, soft_targets
from core.color import rgb2lab


def test_bin_centres_are_distinct_points_of_the_10_unit_grid_including_gray():
    c = bin_centres()
    assert c.ndim == 2 and c.shape[1] == 2 and c.dtype == np.float32
    assert 150 <= len(c) <= 484  # a real share of the 22 x 22 grid, never all of it
    assert np.all(np.mod(c, BIN_STEP) == 0)
    assert len(np.unique(c, axis=0)) == len(c)
    assert np.any(np.all(c == 0, axis=1))


@pytest.mark.parametrize(
    "rgb", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (255, 128, 0)]
)
def test_strong_colours_have_a_bin_within_half_a_bin_diagonal(rgb):
    ab = rgb2lab(np.array(rgb, np.uint8).reshape(1, 1, 3))[0, 0, 1:]
    nearest = np.sqrt(((bin_centres() - ab) ** 2).sum(1)).min()
    assert nearest <= BIN_STEP / math.sqrt(2) + 1e-6


def test_soft_targets_are_distributions_peaking_at_the_nearest_centre():
    rng = np.random.default_rng(0)
    c = bin_centres()
    ab = c[rng.integers(len(c), size=200)] + rng.uniform(-4.9, 4.9, (200, 2))  # off-centre but inside a bin
    t = soft_targets(ab.reshape(10, 20, 2))
    assert t.shape == (10, 20, len(c)) and t.dtype == np.float32
    assert np.all(t >= 0)
    np.testing.assert_allclose(t.sum(-1), 1.0, atol=1e-5)
    nearest = np.argmin(((ab[:, None, :] - c) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(t.reshape(200, -1).argmax(1), nearest)


def test_soft_targets_with_explicit_centres_hand_computed():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    t = soft_targets(np.array([5.0, 0.0]), centres=centres)  # equidistant: half each
    np.testing.assert_allclose(t, [0.5, 0.5], atol=1e-6)
    t = soft_targets(np.array([0.0, 0.0]), centres=centres, sigma=5.0)  # exp(-100 / 50) = e^-2
    np.testing.assert_allclose(t, [1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2))], rtol=1e-5)


TOY = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 20.0]])


def test_annealed_mean_at_temperature_1_is_the_probability_weighted_mean():
    logits = np.log([1.0, 2.0, 3.0])  # p = 1/6, 2/6, 3/6
    ab = annealed_mean(logits, 1.0, centres=TOY)
    np.testing.assert_allclose(ab, [10 * 2 / 6, 20 * 3 / 6], atol=1e-4)
    # any shift of the logits is the same distribution; batches decode row by row
    batch = np.stack([logits, logits + 100.0, np.zeros(3)])
    out = annealed_mean(batch.reshape(3, 1, 3), 1.0, centres=TOY)
    assert out.shape == (3, 1, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 0], ab, atol=1e-4)
    np.testing.assert_allclose(out[2, 0], TOY.mean(0), atol=1e-4)


def test_annealed_mean_tends_to_the_mode_as_the_temperature_drops():
    logits = np.log([1.0, 2.0, 3.0])
    mode = TOY[2]
    dist = [np.hypot(*(annealed_mean(logits, t, centres=TOY) - mode)) for t in (1.0, 0.6, 0.38, 0.2, 0.05)]
    assert all(a > b for a, b in zip(dist, dist[1:]))
    assert dist[-1] < 1.0


@pytest.mark.parametrize("temperature", [0.0, -0.5, 1.01, 2.0, math.nan])
def test_annealed_mean_rejects_temperatures_outside_0_1(temperature):
    with pytest.raises(ValueError, match=r"temperature must lie in \(0, 1\]"):
        annealed_mean(np.zeros(3), temperature, centres=TOY)


def test_bin_prior_is_a_distribution_over_the_bins_near_the_samples():
    rng = np.random.default_rng(1)
    ab = rng.normal([40.0, 30.0], 3.0, (5000, 2))
    p = bin_prior(ab)
    assert p.shape == (len(bin_centres()),)
    assert np.all(p >= 0)
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-9)
    np.testing.assert_allclose(bin_centres()[p.argmax()], [40.0, 30.0])


def test_rebalance_weights_have_mean_1_under_the_prior_and_favour_rare_bins():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.full(len(bin_centres()), 0.3))
    w = rebalance_weights(p)
    assert w.shape == p.shape and w.dtype == np.float32
    assert math.isclose(float((p * w).sum()), 1.0, rel_tol=1e-5)
    order = np.argsort(p)  # rarest first
    assert np.all(np.diff(w[order]) <= 1e-6)  # weights fall as the colour gets commoner
    assert w[p.argmin()] > w[p.argmax()]
    # lam = 1 ignores the prior: every bin weighs 1
    np.testing.assert_allclose(rebalance_weights(p, lam=1.0), 1.0, rtol=1e-5)


def test_rebalance_weights_hand_computed():
    p = np.array([0.5, 0.25, 0.25])
    raw = 1.0 / (0.5 * p + 0.5 / 3)  # Zhang et al., eq. 4, lambda = 0.5
    np.testing.assert_allclose(rebalance_weights(p), raw / (p * raw).sum(), rtol=1e-6)
