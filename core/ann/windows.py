"""Windows: gathered per batch from an edge-padded image, never all at once."""

from __future__ import annotations

import numpy as np

__all__ = ["WindowSampler"]


class WindowSampler:
    """Gray windows around pixels, gathered by index arithmetic.

    The gray image is normalised to [-1, 1] and edge-padded by ``w // 2`` so
    every pixel gets a full window. A window is one fancy-indexing gather from
    the flat padded image, so only the batch being used is ever built.

    Parameters
    ----------
    gray : (H, W) uint8
    window : int, odd
    dtype : numpy dtype
    """

    def __init__(self, gray, window, dtype=np.float32):
        gray = np.asarray(gray)
        self.shape = gray.shape
        h, w = gray.shape
        r = window // 2
        x = gray.astype(dtype) / dtype(127.5) - dtype(1.0)  # (H, W) in [-1, 1]
        self.padded = np.pad(x, r, mode="edge").ravel()  # (H + 2r) * (W + 2r)
        pw = w + 2 * r
        dy, dx = np.divmod(np.arange(window * window), window)
        self.offsets = (dy * pw + dx).astype(np.int64)  # (w*w,) offsets within a window
        rows, cols = np.divmod(np.arange(h * w, dtype=np.int64), w)
        self.base = rows * pw + cols  # (N,) top-left corner of each pixel's window
        self.n = h * w

    def windows(self, idx=None) -> np.ndarray:
        """Windows of pixels ``idx`` (flat indices; all when None): (B, w*w) float."""
        base = self.base if idx is None else self.base[idx]
        return self.padded[base[:, None] + self.offsets[None, :]]

    def chunks(self, size=65536):
        """All windows in order, in chunks of ``size``: yields (B, w*w)."""
        for start in range(0, self.n, size):
            yield self.windows(np.arange(start, min(start + size, self.n)))
