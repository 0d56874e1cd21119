"""Glue between pages and ``core``: cached models and the score rows the tables show.

Every number is computed by a ``core`` function (the score sets by
:func:`core.metrics.lab_scores` and :func:`core.metrics.colorization_scores`);
this module only chooses which ones to call and arranges their inputs. ``core.cnn`` is imported only
inside the functions that need a CNN, and it imports TensorFlow lazily itself.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from core import metrics
from core.baselines import BASELINES, fit_ab_baselines
from core.color import lab2uint8, merge_l_ab, rgb2gray, rgb2lab
from core.metrics import THRESHOLDS


@st.cache_resource(show_spinner="Loading the pretrained CNN (TensorFlow starts the first time)…", max_entries=8)
def pretrained_model(name: str):
    """A committed model and its card, shared read-only by all sessions."""
    from core.cnn import store

    return store.load_model(name), store.load_card(name)


def committed_model_names() -> list[str]:
    from core.cnn import store

    return store.committed_models()


@st.cache_resource(show_spinner="Reading the scenario photos…", max_entries=8)
def scenario_dataset(name: str, root: str):
    """A scenario dataset from the data folder (read-only, shared)."""
    from core.datasets import load_scenario

    return load_scenario(name, root)


def cnn_colorize(model, rgb: np.ndarray, *, hints=None, vividness=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Colorize at full resolution with a CNN (optionally with colour hints and a vividness).

    Returns
    -------
    rgb_out : (H, W, 3) uint8
    lab_out : (H, W, 3) float, L from the photo, a/b predicted
    seconds : float, the colorize time
    """
    from core import cnn

    t0 = time.perf_counter()
    lab = cnn.colorize_lab(model, rgb, hints=hints, vividness=vividness)
    out = lab2uint8(lab)
    return out, lab, time.perf_counter() - t0


def ab_baseline_predictions(card: dict | None, rgb: np.ndarray, train_rgb: np.ndarray | None = None) -> dict:
    """a/b baselines for a photo: from a model card's tables, or fitted on ``train_rgb``.

    Returns
    -------
    dict name -> (H, W, 2) float a/b prediction (empty when neither source exists)
    """
    baselines = None
    if card is not None and card.get("baselines_ab"):
        from core.cnn.evaluate import baselines_from_tables

        baselines = baselines_from_tables(card["baselines_ab"])
    if baselines is None and train_rgb is not None:
        baselines = fit_ab_baselines(rgb2gray(train_rgb), rgb2lab(train_rgb)[..., 1:])
    if baselines is None:
        return {}
    gray = rgb2gray(rgb)
    return {name: baselines[name].predict(gray) for name in BASELINES}


def lab_scores(ab_pred: np.ndarray, rgb_true: np.ndarray, rgb_pred: np.ndarray | None = None) -> dict:
    """The CNN family of scores for one photo (:func:`core.metrics.lab_scores`).

    Parameters
    ----------
    ab_pred : (H, W, 2) float, predicted a/b
    rgb_true : (H, W, 3) uint8, the true photo
    rgb_pred : (H, W, 3) uint8, optional; default: true L joined with ``ab_pred``
    """
    lab_true = rgb2lab(rgb_true)
    if rgb_pred is None:
        rgb_pred = lab2uint8(merge_l_ab(lab_true[..., 0], ab_pred))
    return metrics.lab_scores(ab_pred, lab_true[..., 1:], rgb_pred, rgb_true)


def common_scores(rgb_pred: np.ndarray, rgb_true: np.ndarray, levels: int = 4) -> dict:
    """Scores in common units for any RGB prediction (:func:`core.metrics.colorization_scores`)."""
    return metrics.colorization_scores(rgb_pred, rgb_true, levels)


__all__ = [
    "THRESHOLDS",
    "pretrained_model",
    "committed_model_names",
    "scenario_dataset",
    "cnn_colorize",
    "ab_baseline_predictions",
    "lab_scores",
    "common_scores",
]
