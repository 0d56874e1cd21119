"""Metrics, each with its units.

Two families:

* the numpy network's scores on K-level RGB (:func:`seed_difference`,
  :func:`l1_difference`), in *levels* (multiples of the stride S = 256 / K);
* the CNN's scores on CIELAB a/b (:func:`report_accuracy`, :func:`acc_curve`,
  :func:`auc`, and for vividness :func:`hit_rate` and :func:`saturation_ratio`)
  plus image scores on RGB (:func:`psnr`, :func:`ssim`, :func:`colorfulness`).

The a/b scores that average over pixels have pooled forms (:func:`hit_counts`,
:func:`chroma_sums`) returning sums and counts, so that a score over many photos
of different sizes weighs every pixel alike.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .color import quantize, rgb2lab

__all__ = [
    "seed_difference",
    "l1_difference",
    "difference_map",
    "report_accuracy",
    "acc_curve",
    "auc",
    "THRESHOLDS",
    "hit_counts",
    "hit_rate",
    "chroma_sums",
    "saturation_ratio",
    "psnr",
    "ssim",
    "colorfulness",
    "confusion_matrix",
    "lab_scores",
    "colorization_scores",
]

#: Thresholds of Zhang et al.'s acc(t): 0, 1, ..., 150 (Euclidean ab distance).
THRESHOLDS = np.arange(151)


def _level_indices(rgb, levels: int) -> np.ndarray:
    return quantize(np.asarray(rgb), levels).astype(np.int16)


def difference_map(pred, true, levels: int = 4, kind: str = "seed") -> np.ndarray:
    """Per-pixel difference in levels, the map behind the two scores below.

    Parameters
    ----------
    pred, true : (H, W, 3) uint8 RGB; both are quantized to K levels first
    levels : int
    kind : {"seed", "l1"}
        ``"seed"``: ``|dR + dG + dB|``; ``"l1"``: ``|dR| + |dG| + |dB|``.

    Returns
    -------
    (H, W) float64, in levels (one level = one stride S)
    """
    d = _level_indices(pred, levels) - _level_indices(true, levels)  # (H, W, 3) signed levels
    if kind == "seed":
        return np.abs(d.sum(axis=-1)).astype(np.float64)
    if kind == "l1":
        return np.abs(d).sum(axis=-1).astype(np.float64)
    raise ValueError(f"kind must be 'seed' or 'l1', got {kind!r}")


def seed_difference(pred, true, levels: int = 4) -> float:
    """The report's difference: ``mean(|dR + dG + dB|) / S``.

    Both images are quantized to K levels, so for K = 4 one unit is a step of
    64 in one channel. This is the report's definition, kept exactly; note that
    it sees only the *sum* of the channel errors, so errors of opposite sign
    cancel (predicting (64, 0, 0) for (0, 64, 0) scores 0). Use
    :func:`l1_difference` for a score that cannot cancel.

    Parameters
    ----------
    pred, true : (H, W, 3) uint8 RGB
    levels : int

    Returns
    -------
    float, in levels per pixel (>= 0)
    """
    return float(difference_map(pred, true, levels, "seed").mean())


def l1_difference(pred, true, levels: int = 4) -> float:
    """Per-channel L1 in levels: ``mean(|dR| + |dG| + |dB|) / S`` (>= seed difference)."""
    return float(difference_map(pred, true, levels, "l1").mean())


def confusion_matrix(pred_idx, true_idx, levels: int) -> np.ndarray:
    """Counts of (true level, predicted level) pairs.

    Parameters
    ----------
    pred_idx, true_idx : int arrays of level indices in [0, K - 1], same shape

    Returns
    -------
    (K, K) int64, rows are the true level, columns the predicted one
    """
    t = np.asarray(true_idx, dtype=np.int64).ravel()
    p = np.asarray(pred_idx, dtype=np.int64).ravel()
    return np.bincount(t * levels + p, minlength=levels * levels).reshape(levels, levels)


def report_accuracy(ab_pred, ab_true, tolerance: float = 10.0) -> float:
    """The report's CNN accuracy: share of a and b values within ``tolerance``.

    a and b are counted separately (a pixel contributes two values), and a value
    counts when ``|pred - true| <= tolerance``. The offset of +128 cancels, so
    this works on a/b or on the ``ab + 128`` targets alike.

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units

    Returns
    -------
    float in [0, 1]
    """
    d = np.abs(np.asarray(ab_pred, np.float64) - np.asarray(ab_true, np.float64))
    return float(np.mean(d <= tolerance))


def acc_curve(ab_pred, ab_true, thresholds=THRESHOLDS) -> np.ndarray:
    """Zhang et al. (2016) acc(t): share of pixels whose Euclidean ab error is <= t.

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units
    thresholds : 1-D array of t, default 0..150

    Returns
    -------
    (len(thresholds),) float64 in [0, 1], non-decreasing
    """
    d = np.asarray(ab_pred, np.float64) - np.asarray(ab_true, np.float64)
    err = np.sqrt((d**2).sum(axis=-1)).ravel()  # (N,) Euclidean ab error
    err.sort()
    return np.searchsorted(err, np.asarray(thresholds, np.float64), side="right") / max(err.size, 1)


def auc(curve, thresholds=THRESHOLDS) -> float:
    """Area under acc(t), normalised by the threshold range: a number in [0, 1]."""
    t = np.asarray(thresholds, np.float64)
    return float(np.trapezoid(np.asarray(curve, np.float64), t) / (t[-1] - t[0]))


def _ab_pair(ab_pred, ab_true) -> tuple[np.ndarray, np.ndarray]:
    """Both a/b arrays as float64, checked to have the same shape ``(..., 2)``."""
    pred = np.asarray(ab_pred, np.float64)
    true = np.asarray(ab_true, np.float64)
    if pred.shape != true.shape or pred.ndim < 1 or pred.shape[-1] != 2:
        raise ValueError(f"a/b arrays must have the same shape (..., 2), got {pred.shape} and {true.shape}")
    return pred, true


def _chroma(ab: np.ndarray) -> np.ndarray:
    """(..., 2) a/b -> (...) chroma ``sqrt(a^2 + b^2)``, float64 >= 0."""
    return np.hypot(ab[..., 0], ab[..., 1])


def hit_counts(ab_pred, ab_true, *, min_chroma: float = 20.0, radius: float = 20.0) -> tuple[int, int]:
    """Colourful pixels, and those of them whose colour was hit: the pooled form of :func:`hit_rate`.

    Sum both counts over photos of any sizes and divide for a rate in which every
    colourful pixel weighs the same.

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units, same shape
        Any leading shape, e.g. (H, W, 2) for one photo or (N, H, W, 2).
    min_chroma : float, keyword-only
        A pixel is colourful when its true chroma ``sqrt(a^2 + b^2)`` is
        ``>= min_chroma``.
    radius : float, keyword-only
        A colourful pixel is hit when the Euclidean distance between its
        predicted and true (a, b) is strictly ``< radius``.

    Returns
    -------
    hits : int
        Colourful pixels that were hit, ``0 <= hits <= colourful``.
    colourful : int
        Pixels whose true chroma is at least ``min_chroma``.
    """
    pred, true = _ab_pair(ab_pred, ab_true)
    colourful = _chroma(true) >= min_chroma  # (...) bool
    hit = colourful & (_chroma(pred - true) < radius)
    return int(np.count_nonzero(hit)), int(np.count_nonzero(colourful))


def hit_rate(ab_pred, ab_true, *, min_chroma: float = 20.0, radius: float = 20.0) -> float:
    """Hit rate on colourful pixels: how often a vivid colour was predicted close to right.

    Among the pixels whose true chroma ``sqrt(a^2 + b^2)`` is at least
    ``min_chroma``, the share whose predicted (a, b) lies strictly within
    ``radius`` (Euclidean distance in the a/b plane) of the true (a, b).
    Unlike :func:`report_accuracy`, a gray or washed-out prediction cannot score
    well: the distance from gray (0, 0) to a true colour is its chroma, so
    whenever ``radius <= min_chroma`` (the defaults: 20 and 20) a gray
    prediction scores exactly 0, the strict ``<`` making a true chroma of
    exactly 20 a miss too.

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units, same shape
        Any leading shape, e.g. (H, W, 2) or (N, H, W, 2).
    min_chroma, radius : float, keyword-only
        See :func:`hit_counts`.

    Returns
    -------
    float in [0, 1], or ``nan`` when no pixel is colourful.
    """
    hits, colourful = hit_counts(ab_pred, ab_true, min_chroma=min_chroma, radius=radius)
    return hits / colourful if colourful else float("nan")


def chroma_sums(ab_pred, ab_true) -> tuple[float, float, int]:
    """Summed predicted and true chroma: the pooled form of :func:`saturation_ratio`.

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units, same shape

    Returns
    -------
    pred_sum : float
        Sum over the pixels of the predicted chroma ``sqrt(a^2 + b^2)`` (>= 0).
    true_sum : float
        The same for the truth (>= 0).
    count : int
        Number of pixels (the product of the leading shape).
    """
    pred, true = _ab_pair(ab_pred, ab_true)
    return float(_chroma(pred).sum()), float(_chroma(true).sum()), int(true[..., 0].size)


def saturation_ratio(ab_pred, ab_true) -> float:
    """How vivid the prediction is next to the truth: mean predicted chroma / mean true chroma.

    1 is as vivid as the truth, 0 is gray, above 1 more vivid than the truth.
    It says nothing about whether the hues are right (see :func:`hit_rate`).

    Parameters
    ----------
    ab_pred, ab_true : (..., 2) float, CIELAB a/b units, same shape

    Returns
    -------
    float >= 0, or ``nan`` when the truth's mean chroma is 0 (a gray truth).
    """
    pred_sum, true_sum, _ = chroma_sums(ab_pred, ab_true)
    return pred_sum / true_sum if true_sum > 0 else float("nan")


def psnr(pred, true) -> float:
    """Peak signal-to-noise ratio of RGB ``uint8`` images, in dB (inf when equal)."""
    pred = np.asarray(pred)
    true = np.asarray(true)
    if np.array_equal(pred, true):
        return float("inf")
    return float(peak_signal_noise_ratio(true, pred, data_range=255))


def ssim(pred, true) -> float:
    """Structural similarity of RGB ``uint8`` images (mean over channels), in [-1, 1]."""
    pred = np.asarray(pred)
    true = np.asarray(true)
    side = min(pred.shape[:2])
    win = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(true, pred, data_range=255, channel_axis=-1, win_size=win))


def colorfulness(rgb) -> float:
    """Hasler and Suesstrunk (2003) colorfulness, the M^(3) variant.

    ``rg = R - G``, ``yb = (R + G) / 2 - B`` on 0..255 values, and
    ``M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)``.
    0 for a gray image; their scale calls about 33 "moderately", 59 "quite"
    and 82 "highly" colourful.

    Parameters
    ----------
    rgb : (H, W, 3) uint8

    Returns
    -------
    float >= 0
    """
    x = np.asarray(rgb, dtype=np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def lab_scores(ab_pred, ab_true, rgb_pred, rgb_true) -> dict:
    """The CNN family of scores for one colorized photo.

    Parameters
    ----------
    ab_pred, ab_true : (H, W, 2) float, CIELAB a/b
    rgb_pred, rgb_true : (H, W, 3) uint8, the same photos in RGB

    Returns
    -------
    dict
        ``accuracy`` (:func:`report_accuracy`, share in [0, 1]), ``auc`` (of
        :func:`acc_curve`, in [0, 1]), ``psnr`` (dB), ``ssim`` ([-1, 1]),
        ``colorfulness`` (of the prediction, Hasler-Suesstrunk M^(3)), ``hit_rate``
        (:func:`hit_rate`, nan without colourful pixels), ``saturation``
        (:func:`saturation_ratio`) and ``curve`` (acc(t) for t = 0..150).
    """
    curve = acc_curve(ab_pred, ab_true)
    return {
        "accuracy": report_accuracy(ab_pred, ab_true),
        "auc": auc(curve),
        "hit_rate": hit_rate(ab_pred, ab_true),
        "saturation": saturation_ratio(ab_pred, ab_true),
        "psnr": psnr(rgb_pred, rgb_true),
        "ssim": ssim(rgb_pred, rgb_true),
        "colorfulness": colorfulness(rgb_pred),
        "curve": curve,
    }


def colorization_scores(rgb_pred, rgb_true, levels: int = 4) -> dict:
    """Every score in common units, for any colorizer's RGB output.

    What the comparison table shows: :func:`lab_scores` on the a/b of both
    photos, plus the report's difference on K-level RGB.

    Parameters
    ----------
    rgb_pred, rgb_true : (H, W, 3) uint8
    levels : int, K for :func:`seed_difference`

    Returns
    -------
    dict, the keys of :func:`lab_scores` and ``seed_difference`` (levels)
    """
    scores = lab_scores(rgb2lab(rgb_pred)[..., 1:], rgb2lab(rgb_true)[..., 1:], rgb_pred, rgb_true)
    scores["seed_difference"] = seed_difference(rgb_pred, rgb_true, levels)
    return scores
