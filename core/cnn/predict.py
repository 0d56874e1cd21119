"""Prediction: a/b from lightness, colour hints, vividness, and full-resolution colorizing.

See docs/CNN.md, "Colorizing a photo".
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from ..color import lab2uint8, merge_l_ab, rgb2lab
from ..images import check_image
from .bins import annealed_mean
from .data import hint_map
from .models import MULTIPLE, is_bins, is_report, log_prior

__all__ = ["WORKING_SIZE", "DEFAULT_VIVIDNESS", "HINT_BOX", "predict_ab", "colorize_lab", "colorize", "parse_hints"]

#: colorize() predicts with the photo scaled so that its shorter side is this (the corpus photos' scale).
WORKING_SIZE = 128

#: The vividness when none is asked for (docs/CNN.md, "Vividness").
DEFAULT_VIVIDNESS = 0.5

#: A hint covers a square of this many pixels a side at the working size.
HINT_BOX = 3


def resize_float(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a (h, w) or (h, w, C) float array to (H, W) or (H, W, C) float32, via Pillow."""
    if arr.ndim == 3:
        return np.stack([resize_float(arr[..., c], size_hw) for c in range(arr.shape[-1])], axis=-1)
    h, w = size_hw
    if arr.shape == (h, w):
        return arr.astype(np.float32)
    im = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def _forward(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    outs = [
        keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outs)


def predict_ab(model, lightness, hints=None, *, vividness: float | None = None, batch_size: int = 8) -> np.ndarray:
    """Predict a/b from lightness (and hint maps), for either network.

    Parameters
    ----------
    model : keras.Model
    lightness : (N, h, w, 1), (N, h, w) or (h, w) float, L in [0, 100]
        The report's network needs h = w = 64; the U-Net takes any size (padded to a multiple of 16 inside).
    hints : (N, h, w, 3) or (h, w, 3) float, optional
        Hint maps (:func:`core.cnn.data.hint_map`); U-Net only. Default: no hints.
    vividness : float in [0, 1], optional
        A classifying U-Net's colour choice: 0 is the mean of its colour distribution (safe: unsure pixels stay
        near gray), 1 the mean once rare colours are weighted up as in its training (vivid; Zhang et al.'s class
        rebalancing). Default :data:`DEFAULT_VIVIDNESS`. Regression models ignore it.
    batch_size : int

    Returns
    -------
    ab : (N, h, w, 2) float32 (or (h, w, 2) for a single (h, w) input), a/b units
    """
    L = np.asarray(lightness, dtype=np.float32)
    single = L.ndim == 2
    if single:
        L = L[None]
    if L.ndim == 3:
        L = L[..., None]
    if L.ndim != 4 or L.shape[-1] != 1:
        raise ValueError(f"lightness must be (N, h, w, 1), (N, h, w) or (h, w); got shape {np.shape(lightness)}")
    n, h, w, _ = L.shape
    if is_report(model):
        side = model.input.shape[1]
        if (h, w) != (side, side):
            raise ValueError(f"the report's network takes {side}x{side} L; got {w}x{h} (resize first, or use colorize)")
        y = _forward(model, L / 100.0, batch_size)  # (N, 2*s*s): all a, then all b, as ab + 128
        return _single(y.reshape(n, 2, h, w).transpose(0, 2, 3, 1) - 128.0, single)
    x = np.zeros((n, h, w, 4), np.float32)
    x[..., 0] = L[..., 0] / 100.0
    if hints is not None:
        x[..., 1:] = np.asarray(hints, np.float32).reshape(n, h, w, 3)
    ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="symmetric")
        x[:, h:, :, 1:] = 0.0  # mirrored hints are not hints
        x[:, :, w:, 1:] = 0.0
    y = _forward(model, x, batch_size)  # (N, H/2, W/2, C)
    if is_bins(model):
        v = DEFAULT_VIVIDNESS if vividness is None else float(vividness)
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"vividness must lie in [0, 1] (0 safe, 1 vivid); got {vividness}")
        y = annealed_mean(y + np.float32(v) * log_prior(model))
    up = np.stack([resize_float(yi, (h + ph, w + pw)) for yi in y])[:, :h, :w]
    return _single(up.astype(np.float32), single)


def _single(ab: np.ndarray, single: bool) -> np.ndarray:
    return ab[0].astype(np.float32) if single else ab.astype(np.float32)


def parse_hints(hints, shape_hw: tuple[int, int], work_hw: tuple[int, int]) -> list:
    """User hints in photo pixels to :func:`core.cnn.data.hint_map` points at the working size.

    Parameters
    ----------
    hints : iterable of (x, y, (r, g, b))
        ``x``, ``y`` in the photo's pixels (0-based, from the top left); ``r, g, b`` in [0, 255].
    shape_hw : (H, W), the photo's size
    work_hw : (h, w), the working size

    Returns
    -------
    list of (y0, y1, x0, x1, a, b)

    Raises
    ------
    ValueError
        A hint outside the photo, or a colour that is not three values in [0, 255]; the message says which.
    """
    H, W = shape_hw
    h, w = work_hw
    points = []
    for k, hint in enumerate(hints or ()):
        try:
            x, y, rgb = hint
            x, y = float(x), float(y)
            rgb = np.asarray(rgb, dtype=np.float64).reshape(3)
        except (TypeError, ValueError):
            raise ValueError(f"hint {k + 1} must be (x, y, (r, g, b)); got {hint!r}") from None
        if not (0 <= x < W and 0 <= y < H):
            raise ValueError(f"hint {k + 1} at ({x:g}, {y:g}) is outside the {W}x{H} photo")
        if not np.all((rgb >= 0) & (rgb <= 255)):  # NaN fails too
            raise ValueError(f"hint {k + 1}'s colour {tuple(rgb)} must have values in [0, 255]")
        a, b = rgb2lab(rgb.astype(np.uint8).reshape(1, 1, 3))[0, 0, 1:]
        cy, cx = int(y * h / H), int(x * w / W)
        r = HINT_BOX // 2
        points.append((max(0, cy - r), min(h, cy + r + 1), max(0, cx - r), min(w, cx + r + 1), float(a), float(b)))
    return points


def colorize_lab(model, rgb, *, hints=None, vividness: float | None = None, working_size: int | None = None):
    """Colorize a photo at full resolution in CIELAB, keeping its exact L.

    1. L of the photo is scaled to the working size (the report's network: 64 x 64; the U-Net: shorter side
       ``working_size``, never enlarged);
    2. a/b are predicted there, with the hints, and upsampled (bilinear) to the photo's size;
    3. they are joined with the photo's own L.

    Parameters
    ----------
    model : keras.Model
    rgb : (H, W, 3) uint8 RGB (its colours are ignored) or (H, W) gray; anything
        :func:`core.images.check_image` accepts
    hints : list of (x, y, (r, g, b)), optional
        Colour hints in the photo's pixels (the U-Net only).
    vividness : float in [0, 1], optional
        See :func:`predict_ab`.
    working_size : int, optional
        Default :data:`WORKING_SIZE`.

    Returns
    -------
    lab : (H, W, 3) float64; ``lab[..., 0]`` equals ``core.color.rgb2lab(rgb)[..., 0]`` exactly
    """
    rgb = check_image(rgb, name="photo to colorize")
    H, W = rgb.shape[:2]
    L = rgb2lab(rgb)[..., 0]  # (H, W) float64 in [0, 100], kept exactly
    if is_report(model):
        if hints:
            raise ValueError("the report's network takes no colour hints; use a U-Net model such as 'general'")
        side = model.input.shape[1]
        h, w = side, side
    else:
        ws = int(working_size or WORKING_SIZE)
        if ws < 16:
            raise ValueError(f"the working size must be at least 16 pixels; got {ws}")
        scale = min(1.0, ws / min(H, W))
        h, w = max(16, round(H * scale)), max(16, round(W * scale))
    L_small = resize_float(L, (h, w))
    maps = hint_map((h, w), parse_hints(hints, (H, W), (h, w))) if hints else None
    ab_small = predict_ab(model, L_small, maps, vividness=vividness)  # (h, w, 2)
    return merge_l_ab(L, resize_float(ab_small, (H, W)))


def colorize(model, rgb, *, hints=None, vividness: float | None = None, working_size: int | None = None):
    """Colorize a photo at full resolution.

    Parameters
    ----------
    model : keras.Model
        From :func:`core.cnn.load_model` (e.g. ``load_model("general")``) or training.
    rgb : (H, W, 3) uint8 or (H, W) gray uint8
    hints : list of (x, y, (r, g, b)), optional
        Colour hints: ``x``, ``y`` in the photo's pixels, ``r, g, b`` in [0, 255].
    vividness, working_size : optional
        See :func:`colorize_lab`.

    Returns
    -------
    (H, W, 3) uint8 RGB, the input's size; its L is the input's (up to RGB rounding and gamut clipping)
    """
    return lab2uint8(colorize_lab(model, rgb, hints=hints, vividness=vividness, working_size=working_size))
