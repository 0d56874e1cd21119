"""Quantized a/b colours for the classifying U-Net (Zhang, Isola and Efros 2016, "Colorful Image Colorization").

The a/b plane is cut into squares of :data:`BIN_STEP` units; the bins kept are those whose centre is a
displayable colour at some lightness (sRGB gamut). Plain numpy: nothing here imports Keras.
See docs/CNN.md, "Classification and vividness".
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from skimage.color import lab2xyz

__all__ = [
    "BIN_STEP",
    "SOFT_SIGMA",
    "REBALANCE_LAMBDA",
    "bin_centres",
    "bin_prior",
    "rebalance_weights",
    "soft_targets",
    "annealed_mean",
]

#: Width of a bin, in a/b units (Zhang et al.: 10).
BIN_STEP = 10.0

#: Soft targets: a Gaussian of this width (a/b units) over the bin centres around the true colour.
SOFT_SIGMA = 5.0

#: Class rebalancing mixes this share of the uniform distribution into the colour frequencies (the paper's 0.5).
REBALANCE_LAMBDA = 0.5

_XYZ2RGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)


@lru_cache(maxsize=1)
def bin_centres() -> np.ndarray:
    """The a/b bins that hold displayable colours: those whose square meets the sRGB gamut at some lightness.

    Returns
    -------
    (Q, 2) float32, the bins' centres in a/b units (Q = 255 for a step of 10)
    """
    g = np.arange(-110.0, 111.0, BIN_STEP)
    a, b = np.meshgrid(g, g, indexing="ij")
    centres = np.stack([a.ravel(), b.ravel()], axis=1)  # (G, 2)
    off = np.linspace(-0.45, 0.45, 5) * BIN_STEP
    oa, ob = np.meshgrid(off, off, indexing="ij")
    probes = (centres[:, None, :] + np.stack([oa.ravel(), ob.ravel()], axis=1)).reshape(-1, 2)  # (G * 25, 2)
    L = np.linspace(1.0, 99.0, 50)
    lab = np.concatenate([np.repeat(L, len(probes))[:, None], np.tile(probes, (len(L), 1))], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # negative Z: out of gamut anyway
        rgb_linear = lab2xyz(lab) @ _XYZ2RGB.T
    ok = np.all((rgb_linear >= 0.0) & (rgb_linear <= 1.0), axis=1).reshape(len(L), len(centres), -1).any(axis=(0, 2))
    return centres[ok].astype(np.float32)


def soft_targets(ab, centres=None, sigma: float = SOFT_SIGMA) -> np.ndarray:
    """Soft one-hot targets: a Gaussian of ``sigma`` around each true a/b, over the bin centres.

    Parameters
    ----------
    ab : (..., 2) float, a/b units
    centres : (Q, 2) float, optional (default :func:`bin_centres`)
    sigma : float

    Returns
    -------
    (..., Q) float32, each row summing to 1
    """
    centres = bin_centres() if centres is None else np.asarray(centres, np.float32)
    ab = np.asarray(ab, np.float32)
    d2 = ((ab[..., None, :] - centres) ** 2).sum(-1)  # (..., Q)
    logit = -d2 / (2.0 * sigma * sigma)
    w = np.exp(logit - logit.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)).astype(np.float32)


def bin_prior(ab_samples, sigma: float = SOFT_SIGMA) -> np.ndarray:
    """How often each bin's colour occurs in some training colours (soft-assigned, then normalised).

    Parameters
    ----------
    ab_samples : (P, 2) float, a/b units (pixels drawn from the training photos)

    Returns
    -------
    (Q,) float64, summing to 1
    """
    ab = np.asarray(ab_samples, np.float32).reshape(-1, 2)
    total = np.zeros(len(bin_centres()))
    for i in range(0, len(ab), 50_000):
        total += soft_targets(ab[i : i + 50_000], sigma=sigma).sum(0)
    return total / total.sum()


def rebalance_weights(prior, lam: float = REBALANCE_LAMBDA) -> np.ndarray:
    """Per-bin loss weights: ``1 / ((1 - lam) p + lam / Q)``, scaled to mean 1 under ``p`` (Zhang et al., eq. 4).

    Parameters
    ----------
    prior : (Q,) float, from :func:`bin_prior`
    lam : float in (0, 1]

    Returns
    -------
    (Q,) float32
    """
    p = np.asarray(prior, np.float64)
    w = 1.0 / ((1.0 - lam) * p + lam / len(p))
    return (w / (p * w).sum()).astype(np.float32)


def annealed_mean(logits, temperature: float = 1.0, centres=None) -> np.ndarray:
    """Decode bin logits into a/b: the mean of the distribution sharpened by a temperature.

    ``T = 1`` is the plain mean of the predicted distribution (safe: unsure pixels drift toward gray);
    lower ``T`` moves toward the most likely colour (vivid). The paper used T = 0.38.

    Parameters
    ----------
    logits : (..., Q) float
    temperature : float in (0, 1]
    centres : (Q, 2), optional

    Returns
    -------
    (..., 2) float32, a/b units
    """
    if not 0.0 < temperature <= 1.0:
        raise ValueError(f"the temperature must lie in (0, 1]; got {temperature}")
    centres = bin_centres() if centres is None else np.asarray(centres, np.float32)
    z = np.asarray(logits, np.float32) / np.float32(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return (p @ centres).astype(np.float32)
