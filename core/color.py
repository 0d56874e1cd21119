"""Colour spaces and quantization, after scikit-image's ``colorconv``.

Conventions used throughout the lab

* RGB images are ``(H, W, 3) uint8`` in [0, 255].
* Gray is the luminance Y of Rec. 709 (the weights of ``skimage.color.rgb2gray``,
  0.2125 R + 0.7154 G + 0.0721 B; the report's 0.21/0.72/0.07 rounded), as
  ``uint8`` in [0, 255]. The numpy network sees gray; the CNN sees CIELAB L,
  which is a monotone function of the same Y, so both parts share one gray.
* CIELAB (D65): L in [0, 100], a and b roughly in [-128, 127].
* The CNN's targets follow the report: ``ab + 128``, i.e. [0, 255].
* Quantization to K levels uses the stride ``S = 256 / K`` and nearest
  rounding; for the report's K = 4 the levels are 0, 64, 128, 192.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage import color as _skcolor

__all__ = [
    "rgb2lab",
    "lab2rgb",
    "rgb2gray",
    "gray2rgb",
    "lab2uint8",
    "quantize",
    "dequantize",
    "quantize_rgb",
    "level_stride",
    "AB_OFFSET",
    "ab2target",
    "target2ab",
    "merge_l_ab",
]

#: Offset that maps a/b into [0, 255] for the CNN's sigmoid x 255 output.
AB_OFFSET = 128.0


def _as_float_rgb(rgb) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    return rgb.astype(np.float64)


def rgb2lab(rgb) -> np.ndarray:
    """RGB to CIELAB (D65, 2 degree observer).

    Parameters
    ----------
    rgb : (..., 3) uint8 in [0, 255] or float in [0, 1]

    Returns
    -------
    lab : (..., 3) float64, L in [0, 100], a and b roughly in [-128, 127]
    """
    return _skcolor.rgb2lab(_as_float_rgb(rgb))


def lab2rgb(lab) -> np.ndarray:
    """CIELAB to RGB.

    Parameters
    ----------
    lab : (..., 3) float, L in [0, 100]

    Returns
    -------
    rgb : (..., 3) float64 in [0, 1] (out-of-gamut colours are clipped, without scikit-image's warning
        about it: predicted a/b often leave the gamut, and the clip is the intended behaviour)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Conversion from CIE-LAB", category=UserWarning)
        return np.clip(_skcolor.lab2rgb(np.asarray(lab, dtype=np.float64)), 0.0, 1.0)


def lab2uint8(lab) -> np.ndarray:
    """CIELAB to RGB ``uint8``: ``(..., 3)`` float L in [0, 100] to [0, 255]."""
    return np.rint(lab2rgb(lab) * 255.0).astype(np.uint8)


def rgb2gray(rgb) -> np.ndarray:
    """Luminance of an RGB image.

    Parameters
    ----------
    rgb : (H, W, 3) uint8

    Returns
    -------
    gray : (H, W) uint8 in [0, 255], ``round(0.2125 R + 0.7154 G + 0.0721 B)``
    """
    y = _skcolor.rgb2gray(_as_float_rgb(rgb))  # (H, W) float in [0, 1]
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)


def gray2rgb(gray) -> np.ndarray:
    """Repeat a ``(H, W)`` gray image into ``(H, W, 3)`` (same dtype)."""
    gray = np.asarray(gray)
    return np.repeat(gray[..., None], 3, axis=-1)


def level_stride(levels: int) -> float:
    """The distance ``S = 256 / K`` between neighbouring levels."""
    if not 2 <= int(levels) <= 256:
        raise ValueError(f"levels must be between 2 and 256, got {levels}")
    return 256.0 / int(levels)


def quantize(values, levels: int = 4) -> np.ndarray:
    """Map 0..255 values to level indices by nearest rounding.

    Parameters
    ----------
    values : array of int or float in [0, 255]
    levels : int
        K, the number of levels.

    Returns
    -------
    idx : uint8 array of the same shape, in [0, K - 1]; ``idx = clip(floor(v / S + 1/2), 0, K - 1)``
        (ties round up; 255 maps to the top level, 192 for K = 4).
    """
    s = level_stride(levels)
    idx = np.floor(np.asarray(values, dtype=np.float64) / s + 0.5)
    return np.clip(idx, 0, levels - 1).astype(np.uint8)


def dequantize(idx, levels: int = 4) -> np.ndarray:
    """Level indices back to 0..255 values: ``round(idx * S)`` as ``uint8``."""
    s = level_stride(levels)
    return np.rint(np.asarray(idx, dtype=np.float64) * s).astype(np.uint8)


def quantize_rgb(rgb, levels: int = 4) -> np.ndarray:
    """Snap an RGB ``uint8`` image to its K-level colours (0, 64, 128, 192 for K = 4)."""
    return dequantize(quantize(rgb, levels), levels)


def ab2target(ab) -> np.ndarray:
    """a, b to the report's CNN target range: ``ab + 128``, float in [0, 255]."""
    return np.asarray(ab, dtype=np.float64) + AB_OFFSET


def target2ab(target) -> np.ndarray:
    """The CNN's ``ab + 128`` outputs back to a, b."""
    return np.asarray(target, dtype=np.float64) - AB_OFFSET


def merge_l_ab(lightness, ab) -> np.ndarray:
    """Join ``(H, W)`` L in [0, 100] and ``(H, W, 2)`` a, b into ``(H, W, 3)`` LAB."""
    lightness = np.asarray(lightness, dtype=np.float64)
    return np.concatenate([lightness[..., None], np.asarray(ab, dtype=np.float64)], axis=-1)
