"""Training batches: random crops at several scales, horizontal flips and random colour hints.

Batches are built from ``uint8`` RGB photos (the decoded corpus, or a scenario's training photos), converted to
CIELAB per batch. Batch ``idx`` depends only on the seed and ``idx``, so a run is reproducible and a resumed run
draws the same batches as an unbroken one. See docs/CNN.md, "Data".
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from ..color import AB_OFFSET, rgb2lab
from .models import HINT_SCALE

__all__ = ["HINT_SHARE", "hint_map", "random_hints", "CropBatches", "ReportBatches", "half_resolution"]

#: Share of the training batches that carry colour hints (the others have none: the automatic colorizer).
HINT_SHARE = 0.5

#: Crops are cut at a side drawn from [MIN_CROP_SHARE, 1] x the photo's shorter side, then scaled to the crop
#: size: objects appear at 0.75 to 1.4 times the scale at which colorize() predicts (docs/CNN.md, "Data").
MIN_CROP_SHARE = 0.55

#: Threads that prepare batches ahead of the training step.
BATCH_WORKERS = 2


def hint_map(shape_hw: tuple[int, int], points=()) -> np.ndarray:
    """The U-Net's hint channels for some points.

    Parameters
    ----------
    shape_hw : (h, w)
    points : iterable of (y0, y1, x0, x1, a, b)
        A box of pixels (rows y0:y1, columns x0:x1) and its colour in a/b units.

    Returns
    -------
    (h, w, 3) float32: a / 110, b / 110 and the mask (1 inside a box)
    """
    out = np.zeros((*shape_hw, 3), np.float32)
    for y0, y1, x0, x1, a, b in points:
        out[y0:y1, x0:x1] = (a / HINT_SCALE, b / HINT_SCALE, 1.0)
    return out


def random_hints(ab: np.ndarray, rng: np.random.Generator, count: int | None = None, sizes=(1, 3, 5)) -> list:
    """Random hints drawn from the true colours, as :func:`hint_map` points.

    Parameters
    ----------
    ab : (h, w, 2) float, the true a/b
    rng : numpy Generator
    count : int, optional
        Number of hints; default geometric with mean 8 (Zhang et al. 2017), at most 40.
    sizes : tuple of int
        Box sides to draw from; each hint is its box's mean colour.

    Returns
    -------
    list of (y0, y1, x0, x1, a, b)
    """
    h, w = ab.shape[:2]
    n = int(count) if count is not None else min(40, int(rng.geometric(1 / 8)))
    points = []
    for _ in range(n):
        s = int(rng.choice(sizes))
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        a, b = ab[y0 : y0 + s, x0 : x0 + s].reshape(-1, 2).mean(0)
        points.append((y0, y0 + s, x0, x0 + s, float(a), float(b)))
    return points


def half_resolution(ab: np.ndarray) -> np.ndarray:
    """Mean of each 2 x 2 block: ``(..., h, w, 2)`` to ``(..., h/2, w/2, 2)`` (the U-Net's output grid)."""
    *lead, h, w, c = ab.shape
    return ab.reshape(*lead, h // 2, 2, w // 2, 2, c).mean(axis=(-4, -2))


class CropBatches(keras.utils.PyDataset):
    """Random crops of photos, at several scales, with flips and hints: ``(x, ab)`` batches for the U-Net.

    ``x`` is ``(bs, s, s, 4)`` float32 (L / 100 and the hint map), ``ab`` the true a/b at half resolution,
    ``(bs, s/2, s/2, 2)`` float32.

    Parameters
    ----------
    images : (N, H, W, 3) uint8 array, or a sequence of (H_i, W_i, 3) uint8
    batch_size, steps, size, seed : int
    hints : bool
        Hints in :data:`HINT_SHARE` of the batches.
    start : int
        First batch index (a resumed run starts where it stopped).
    """

    def __init__(self, images, batch_size: int, steps: int, size: int, seed: int, hints: bool, start: int = 0):
        super().__init__(workers=BATCH_WORKERS, use_multiprocessing=False)
        self.images, self.bs, self.steps, self.size = images, batch_size, steps, size
        self.seed, self.hints, self.start = seed, hints, start

    def __len__(self) -> int:
        return self.steps - self.start

    def batch(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch number ``idx`` of the whole run (0-based), whatever ``start`` is."""
        rng = np.random.default_rng((self.seed, 7, idx))
        s = self.size
        rgb = np.empty((self.bs, s, s, 3), np.uint8)
        for j in range(self.bs):
            im = self.images[int(rng.integers(len(self.images)))]
            h, w = im.shape[:2]
            short = min(h, w)  # a photo smaller than the crop is cropped whole and enlarged
            side = int(rng.integers(min(short, max(s // 2, round(MIN_CROP_SHARE * short))), short + 1))
            y0, x0 = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
            crop = np.asarray(im[y0 : y0 + side, x0 : x0 + side])
            if side != s:
                crop = np.asarray(Image.fromarray(crop).resize((s, s), Image.Resampling.BILINEAR))
            rgb[j] = crop[:, ::-1] if rng.random() < 0.5 else crop
        lab = rgb2lab(rgb).astype(np.float32)  # (bs, s, s, 3)
        x = np.zeros((self.bs, s, s, 4), np.float32)
        x[..., 0] = lab[..., 0] / 100.0
        if self.hints and rng.random() < HINT_SHARE:
            for j in range(self.bs):
                x[j, ..., 1:] = hint_map((s, s), random_hints(lab[j, ..., 1:], rng))
        return x, half_resolution(lab[..., 1:])

    def __getitem__(self, idx: int):
        return self.batch(self.start + idx)


class ReportBatches(keras.utils.PyDataset):
    """Whole photos at 64 x 64, in a fresh seeded order each pass (no augmentation, as in the report).

    Parameters
    ----------
    L : (N, s, s, 1) float, L in [0, 100]
    ab : (N, s, s, 2) float
    batch_size, steps, seed, start : int
    """

    def __init__(self, L, ab, batch_size: int, steps: int, seed: int, start: int = 0):
        super().__init__(workers=BATCH_WORKERS, use_multiprocessing=False)
        self.x = np.asarray(L, np.float32) / 100.0
        n, s = ab.shape[0], ab.shape[1]
        self.y = np.asarray(ab, np.float32).transpose(0, 3, 1, 2).reshape(n, 2 * s * s) + AB_OFFSET  # all a, all b
        self.bs, self.steps, self.seed, self.start = batch_size, steps, seed, start

    def __len__(self) -> int:
        return self.steps - self.start

    def __getitem__(self, idx: int):
        n = len(self.x)
        js = range((self.start + idx) * self.bs, (self.start + idx + 1) * self.bs)
        sel = [np.random.default_rng((self.seed, j // n)).permutation(n)[j % n] for j in js]
        return self.x[sel], self.y[sel]
