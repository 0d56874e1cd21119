"""Trivial predictors that every figure in the lab stands beside.

Each is fitted on the training pixels only and then predicts from gray alone:

``gray``
    no colour: R = G = B = gray (RGB), or a = b = 0 (CIELAB).
``mean``
    the mean training colour everywhere.
``lookup``
    a table from each of the 256 gray values to a colour: the most common
    level per channel (RGB, K levels) or the per-channel median a/b (CIELAB).
    Gray values never seen in training borrow the nearest seen one.

Two entry points mirror the two colorizers: :func:`fit_rgb_baselines` for the
numpy network's K-level RGB, :func:`fit_ab_baselines` for the CNN's a/b.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .color import dequantize, quantize, quantize_rgb

__all__ = ["BASELINES", "Baseline", "fit_rgb_baselines", "fit_ab_baselines"]

BASELINES = ("gray", "mean", "lookup")


def _fill_unseen(table: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Copy each unseen row of a (256, C) table from the nearest seen gray value."""
    if not seen.any():
        raise ValueError("cannot fit a lookup table on zero pixels")
    seen_idx = np.flatnonzero(seen)
    pos = np.clip(np.searchsorted(seen_idx, np.arange(256)), 0, seen_idx.size - 1)
    left = seen_idx[np.clip(pos - 1, 0, seen_idx.size - 1)]
    right = seen_idx[pos]
    nearest = np.where(np.abs(np.arange(256) - left) <= np.abs(right - np.arange(256)), left, right)
    return table[nearest]


@dataclass
class Baseline:
    """A fitted baseline: a (256, C) table from gray value to prediction.

    Attributes
    ----------
    name : str
        ``"gray"``, ``"mean"`` or ``"lookup"``.
    space : str
        ``"rgb"`` (predictions are ``uint8`` K-level RGB) or ``"ab"`` (float a/b).
    table : (256, C) array
        The prediction for each gray value.
    """

    name: str
    space: str
    table: np.ndarray = field(repr=False)

    def predict(self, gray) -> np.ndarray:
        """Predict from gray.

        Parameters
        ----------
        gray : (...) uint8 in [0, 255]

        Returns
        -------
        (..., 3) uint8 RGB for ``space="rgb"``, (..., 2) float64 a/b for ``space="ab"``
        """
        return self.table[np.asarray(gray, dtype=np.uint8)]


def fit_rgb_baselines(gray, rgb, levels: int = 4) -> dict[str, Baseline]:
    """Fit the three baselines on K-level RGB.

    Parameters
    ----------
    gray : (N,) or (H, W) uint8, the training pixels' gray values
    rgb : (N, 3) or (H, W, 3) uint8, their true colours
    levels : int, K

    Returns
    -------
    dict name -> :class:`Baseline` with ``space="rgb"``
    """
    g = np.asarray(gray, dtype=np.uint8).ravel()  # (N,)
    idx = quantize(np.asarray(rgb).reshape(-1, 3), levels)  # (N, 3) level indices
    values = np.arange(256, dtype=np.uint8)
    gray_table = quantize_rgb(np.repeat(values[:, None], 3, axis=1), levels)  # (256, 3)

    mean_rgb = np.asarray(rgb, np.float64).reshape(-1, 3).mean(axis=0)
    mean_table = np.tile(quantize_rgb(mean_rgb, levels), (256, 1))

    counts = np.zeros((256, 3, levels), np.int64)  # gray value x channel x level
    for c in range(3):
        np.add.at(counts[:, c, :], (g, idx[:, c]), 1)
    seen = counts[:, 0, :].sum(axis=1) > 0
    modes = dequantize(counts.argmax(axis=2), levels)  # (256, 3), ties go to the lower level
    lookup_table = _fill_unseen(modes, seen)
    return {
        "gray": Baseline("gray", "rgb", gray_table),
        "mean": Baseline("mean", "rgb", mean_table),
        "lookup": Baseline("lookup", "rgb", lookup_table),
    }


def fit_ab_baselines(gray, ab) -> dict[str, Baseline]:
    """Fit the three baselines on CIELAB a/b.

    Parameters
    ----------
    gray : (N,) or (..., ) uint8, the training pixels' gray values
    ab : (N, 2) or (..., 2) float, their true a/b

    Returns
    -------
    dict name -> :class:`Baseline` with ``space="ab"``
    """
    g = np.asarray(gray, dtype=np.uint8).ravel()
    ab = np.asarray(ab, dtype=np.float64).reshape(-1, 2)
    order = np.argsort(g, kind="stable")
    g_sorted, ab_sorted = g[order], ab[order]
    starts = np.searchsorted(g_sorted, np.arange(256), side="left")
    ends = np.searchsorted(g_sorted, np.arange(256), side="right")
    medians = np.zeros((256, 2))
    for v in range(256):
        if ends[v] > starts[v]:
            medians[v] = np.median(ab_sorted[starts[v] : ends[v]], axis=0)
    lookup_table = _fill_unseen(medians, ends > starts)
    return {
        "gray": Baseline("gray", "ab", np.zeros((256, 2))),
        "mean": Baseline("mean", "ab", np.tile(ab.mean(axis=0), (256, 1))),
        "lookup": Baseline("lookup", "ab", lookup_table),
    }
