import numpy as np
import pytest

from core.metrics import (
    acc_curve,
    auc,
    chroma_sums,
    colorfulness,
    confusion_matrix,
    difference_map,
    hit_counts,
    hit_rate,
    l1_difference,
    psnr,
    report_accuracy,
    saturation_ratio,
    seed_difference,
    ssim,
)


def px(*colors):
    return np.array([colors], dtype=np.uint8)  # (1, N, 3)


def test_seed_difference_by_hand():
    true = px((0, 0, 0), (64, 64, 64))
    pred = px((64, 128, 0), (64, 0, 64))
    # pixel 1: dR+dG+dB = 1 + 2 + 0 = 3 levels; pixel 2: 0 - 1 + 0 = -1 -> 1. Mean 2.
    assert seed_difference(pred, true) == pytest.approx(2.0)
    # L1: 3 and 1 -> 2 as well here; opposite signs show the difference:
    pred2 = px((64, 0, 0), (0, 128, 64))  # +1, (-1, +1, 0)
    assert seed_difference(pred2, true) == pytest.approx((1 + 0) / 2)
    assert l1_difference(pred2, true) == pytest.approx((1 + 2) / 2)


def test_seed_difference_cancels_opposite_errors_but_l1_does_not():
    true = px((0, 64, 0))
    pred = px((64, 0, 0))
    assert seed_difference(pred, true) == 0.0
    assert l1_difference(pred, true) == 2.0


def test_difference_quantizes_first():
    true = px((10, 10, 10))  # level 0
    pred = px((30, 33, 250))  # levels 0, 1, 3
    assert seed_difference(pred, true) == 4.0
    np.testing.assert_array_equal(difference_map(pred, true, 4, "l1"), [[4.0]])
    with pytest.raises(ValueError):
        difference_map(pred, true, 4, "l2")


def test_other_levels_use_their_stride():
    true = px((0, 0, 0))
    pred = px((32, 0, 0))  # level 1 of 8 (stride 32), level 1 of 4 after rounding 0.5 up
    assert seed_difference(pred, true, levels=8) == 1.0
    assert seed_difference(pred, true, levels=16) == 2.0


def test_report_accuracy_by_hand():
    true = np.array([[0.0, 0.0], [10.0, -10.0]])
    pred = np.array([[10.0, 10.5], [0.0, 30.0]])
    # |d| = 10, 10.5, 10, 40 -> two of four within 10
    assert report_accuracy(pred, true) == 0.5
    assert report_accuracy(pred + 128, true + 128) == 0.5


def test_acc_curve_and_auc_by_hand():
    true = np.zeros((4, 2))
    pred = np.array([[0, 0], [3, 4], [6, 8], [300, 0]], float)  # errors 0, 5, 10, 300
    curve = acc_curve(pred, true)
    assert curve.shape == (151,)
    assert curve[0] == 0.25 and curve[4] == 0.25 and curve[5] == 0.5 and curve[10] == 0.75 and curve[150] == 0.75
    assert np.all(np.diff(curve) >= 0)
    # area: 0.25 on [0,4] + trapezoid to 0.5 on [4,5] + 0.5 on [5,9] + trapezoid [9,10] + 0.75 on [10,150]
    expected = (0.25 * 4 + 0.375 + 0.5 * 4 + 0.625 + 0.75 * 140) / 150
    assert auc(curve) == pytest.approx(expected)
    assert auc(acc_curve(true, true)) == pytest.approx(1.0)


def test_psnr_and_ssim():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    b = a.copy()
    b[0, 0, 0] = a[0, 0, 0] ^ 0xFF
    mse = (int(a[0, 0, 0]) - int(b[0, 0, 0])) ** 2 / a.size
    assert psnr(b, a) == pytest.approx(10 * np.log10(255**2 / mse))
    assert psnr(a, a) == float("inf")
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(b, a) < 1.0
    assert -1 <= ssim(np.zeros_like(a), a) < 0.1


def test_colorfulness_by_hand():
    gray = np.full((4, 4, 3), 100, np.uint8)
    assert colorfulness(gray) == 0.0
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 200
    # rg = 200, yb = 100, no spread: M = 0.3 * sqrt(200^2 + 100^2)
    assert colorfulness(red) == pytest.approx(0.3 * np.sqrt(200**2 + 100**2))


def test_confusion_matrix():
    cm = confusion_matrix([0, 1, 1, 3], [0, 1, 2, 2], 4)
    assert cm.shape == (4, 4) and cm.sum() == 4
    assert cm[0, 0] == 1 and cm[1, 1] == 1 and cm[2, 1] == 1 and cm[2, 3] == 1


def test_lab_and_colorization_scores_by_hand():
    from core.color import rgb2lab
    from core.metrics import colorization_scores, lab_scores

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    s = colorization_scores(truth, truth)
    assert s["accuracy"] == 1.0 and s["auc"] == pytest.approx(1.0) and s["seed_difference"] == 0.0
    assert s["psnr"] == float("inf") and s["ssim"] == pytest.approx(1.0)
    gray = np.repeat(truth.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    s = colorization_scores(gray, truth)
    ab_true = rgb2lab(truth)[..., 1:]
    ab_gray = rgb2lab(gray)[..., 1:]
    assert s["accuracy"] == report_accuracy(ab_gray, ab_true)
    assert s["colorfulness"] == pytest.approx(0.0, abs=1e-9)
    assert lab_scores(ab_gray, ab_true, gray, truth)["auc"] == s["auc"]


# Truth chromas 0, 10, 30 and 40: two colourful pixels at the default min_chroma 20.
AB_TRUE = np.array([[[0.0, 0.0], [6.0, 8.0]], [[18.0, 24.0], [0.0, 40.0]]])  # (2, 2, 2)


def test_hit_rate_by_hand():
    pred = np.zeros_like(AB_TRUE)
    pred[1, 0] = (23.0, 24.0)  # 5 from (18, 24): a hit
    pred[1, 1] = (0.0, 15.0)  # 25 from (0, 40): a miss
    pred[0, 1] = (50.0, 50.0)  # far off, but not colourful in the truth: not counted
    assert hit_counts(pred, AB_TRUE) == (1, 2)
    assert hit_rate(pred, AB_TRUE) == 0.5
    assert saturation_ratio(pred, AB_TRUE) == pytest.approx((np.hypot(50, 50) + np.hypot(23, 24) + 15) / 80)


def test_gray_prediction_scores_zero():
    gray = np.zeros_like(AB_TRUE)
    assert hit_rate(gray, AB_TRUE) == 0.0
    assert saturation_ratio(gray, AB_TRUE) == 0.0
    # A true chroma of exactly min_chroma = radius = 20 is colourful, and gray misses it (strict <).
    edge = np.array([[20.0, 0.0], [0.0, -20.0]])
    assert hit_counts(np.zeros_like(edge), edge) == (0, 2)


def test_perfect_and_doubled_predictions():
    assert hit_rate(AB_TRUE, AB_TRUE) == 1.0
    assert saturation_ratio(AB_TRUE, AB_TRUE) == 1.0
    assert saturation_ratio(2 * AB_TRUE, AB_TRUE) == pytest.approx(2.0)
    assert hit_rate(2 * AB_TRUE, AB_TRUE) == 0.0  # 30 and 40 away from 30 and 40: both beyond 20


def test_radius_boundary_is_strict():
    true = np.array([[30.0, 0.0]])  # chroma 30
    assert hit_rate(np.array([[10.0, 0.0]]), true) == 0.0  # exactly 20 away: a miss
    assert hit_rate(np.array([[10.001, 0.0]]), true) == 1.0  # just inside
    assert hit_rate(np.array([[30.0, 19.999]]), true) == 1.0  # inside, along b
    assert hit_rate(np.array([[10.0, 0.0]]), true, radius=20.5) == 1.0
    assert hit_rate(true, true, min_chroma=30.0) == 1.0  # min_chroma is inclusive
    assert np.isnan(hit_rate(true, true, min_chroma=30.5))  # 30 < 30.5: not colourful


def test_nothing_colourful_gives_nan():
    dull = np.array([[[3.0, 4.0], [0.0, 0.0]]])  # chromas 5 and 0
    assert hit_counts(dull, dull) == (0, 0)
    assert np.isnan(hit_rate(dull, dull))
    assert np.isnan(saturation_ratio(dull, np.zeros_like(dull)))
    assert saturation_ratio(np.zeros_like(dull), dull) == 0.0


def test_pooled_counts_over_photos_of_different_sizes():
    small = (np.zeros((1, 1, 2)), np.array([[[0.0, 30.0]]]))  # one colourful pixel, missed
    counts = [hit_counts(AB_TRUE, AB_TRUE), hit_counts(*small)]
    hits, colourful = map(sum, zip(*counts))
    assert (hits, colourful) == (2, 3)
    pred_sum, true_sum, n = chroma_sums(AB_TRUE, AB_TRUE)
    assert (pred_sum, true_sum, n) == (pytest.approx(80.0), pytest.approx(80.0), 4)
    assert chroma_sums(*small) == (0.0, pytest.approx(30.0), 1)


def test_leading_shapes_and_mismatches():
    batch = np.stack([AB_TRUE, AB_TRUE])  # (2, 2, 2, 2)
    assert hit_counts(batch, batch) == (4, 4)
    assert hit_rate(AB_TRUE.reshape(-1, 2), AB_TRUE.reshape(-1, 2)) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        hit_rate(AB_TRUE, AB_TRUE[:1])
    with pytest.raises(ValueError, match="same shape"):
        saturation_ratio(np.zeros((2, 3)), np.zeros((2, 3)))
