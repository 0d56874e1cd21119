"""A trained model (:class:`ANNModel`), and the one-BLAS-thread guard it runs under."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..color import dequantize, rgb2gray
from ..images import check_image
from .config import ANNConfig
from .layers import Network
from .windows import WindowSampler

__all__ = ["ANNModel", "single_thread_blas"]


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_thread_blas():
    """Run the block with one BLAS thread.

    The network's matrices are small (9 to 49 inputs, tens of units), so a
    second BLAS thread only adds hand-over cost; worse, when another program
    holds the other core, BLAS threads spin and waste it. Measured on coffee
    (10 epochs of the default preset, 2 busy cores): 8.2 s of CPU with the
    default two threads, 2.6 s with one.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


@dataclass(eq=False)
class ANNModel:
    """A network with its config: colorizes any photo."""

    config: ANNConfig
    network: Network

    @classmethod
    def new(cls, config: ANNConfig) -> ANNModel:
        c = config
        return cls(c, Network(c.window * c.window, c.hidden, c.levels, c.activation, c.structure, c.seed))

    def predict_levels(self, gray) -> np.ndarray:
        """gray : (H, W) uint8. Returns (H, W, 3) uint8 level indices."""
        sampler = WindowSampler(gray, self.config.window, self.network.dtype)
        with single_thread_blas():
            out = np.concatenate([self.network.predict_levels(x) for x in sampler.chunks()], axis=1)  # (3, N)
        return out.T.reshape(*sampler.shape, 3)

    def colorize(self, image) -> np.ndarray:
        """Colorize a photo from its gray values alone.

        Parameters
        ----------
        image : (H, W) gray or (H, W, 3) RGB uint8 (only its gray is used)

        Returns
        -------
        (H, W, 3) uint8, K-level colours
        """
        image = np.asarray(image)
        gray = image if image.ndim == 2 else rgb2gray(check_image(image, min_side=1))
        return dequantize(self.predict_levels(gray), self.config.levels)

    @property
    def first_layer_weights(self) -> np.ndarray:
        """(G, w*w, hidden) weights of the first layer (G = 3 per-channel, 1 shared)."""
        return self.network.layers[0].W.copy()
