"""The network's layers, each forward step with its backward step beside it.

Layers are *grouped*: ``G`` networks with identical shapes run side by side
through batched ``matmul``. One network per channel is ``G = 3`` with K
outputs each; the shared network is ``G = 1`` with ``3 K`` outputs (three
heads). Activations are ``(G, B, features)``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Linear", "Sigmoid", "ReLU", "SoftmaxCrossEntropy", "Network"]

_ONES: dict = {}


def _ones_row(n, dtype):
    """A cached (1, n) row of ones: ``ones @ x`` sums over the batch faster than ``x.sum``."""
    key = (n, np.dtype(dtype))
    if key not in _ONES:
        _ONES[key] = np.ones((1, n), dtype)
    return _ONES[key]


class Linear:
    """``G`` affine maps side by side: ``y[g] = x[g] @ W[g] + b[g]``.

    Parameters
    ----------
    groups, n_in, n_out : int
    rng : numpy Generator
    gain : float
        Weights are drawn from ``N(0, gain / n_in)`` (2 for ReLU, 1 for sigmoid).
    dtype : numpy dtype
    """

    def __init__(self, groups, n_in, n_out, rng, gain=1.0, dtype=np.float32):
        self.W = (rng.standard_normal((groups, n_in, n_out)) * math.sqrt(gain / n_in)).astype(dtype)
        self.b = np.zeros((groups, 1, n_out), dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.x = None

    def params(self):
        return [(self.W, self.dW), (self.b, self.db)]

    def forward(self, x):
        """x : (B, n_in) shared by all groups, or (G, B, n_in). Returns (G, B, n_out)."""
        self.x = x
        return np.matmul(x, self.W) + self.b

    def backward(self, dy, need_dx=True):
        """dy : (G, B, n_out). Stores dW, db; returns dx (G, B, n_in) or None."""
        x = self.x
        xt = np.swapaxes(x, -1, -2)  # (in, B) or (G, in, B)
        np.matmul(xt, dy, out=self.dW)  # (G, in, out)
        np.matmul(_ones_row(dy.shape[1], dy.dtype), dy, out=self.db)  # (G, 1, out): sum over the batch
        return np.matmul(dy, np.swapaxes(self.W, -1, -2)) if need_dx else None


class Sigmoid:
    """Logistic activation, ``1 / (1 + exp(-x))``."""

    def params(self):
        return []

    def forward(self, x):
        y = np.tanh(x * 0.5)  # sigmoid(x) = (1 + tanh(x / 2)) / 2, which never overflows
        y += 1.0
        y *= 0.5
        self.y = y
        return y

    def backward(self, dy, need_dx=True):
        return dy * self.y * (1.0 - self.y)


class ReLU:
    """Rectified linear unit, ``max(x, 0)``."""

    def params(self):
        return []

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy, need_dx=True):
        return dy * self.mask


_STARTS: dict = {}


def _row_starts(b, k):
    """(3, b) flat offsets ``(c * b + i) * k`` of each row of a (3, b, k) array (cached)."""
    if (b, k) not in _STARTS:
        _STARTS[(b, k)] = np.arange(3 * b, dtype=np.intp).reshape(3, b) * k
    return _STARTS[(b, k)]


class SoftmaxCrossEntropy:
    """Softmax over K levels and cross-entropy against the true level, per channel.

    The logits arrive as ``(G, B, M)``: ``(3, B, K)`` from per-channel networks or
    ``(1, B, 3K)`` from the shared network, which is read as three heads.
    The loss is the cross-entropy summed over the three channels and averaged
    over the batch, so each channel network gets exactly its own gradient.
    """

    def __init__(self, levels):
        self.levels = levels

    def _heads(self, z):
        g, b, m = z.shape
        return z if g == 3 else z[0].reshape(b, 3, self.levels).transpose(1, 0, 2)  # (3, B, K)

    def probabilities(self, z):
        """z : logits (G, B, M). Returns (3, B, K) probabilities."""
        z = self._heads(z)
        # Logits beyond +-60 only occur in a run that is diverging; clipping keeps exp finite there.
        e = np.exp(np.clip(z, -60.0, 60.0))
        return e / np.matmul(e, _ones_row(self.levels, e.dtype).T)  # (3, B, K) / (3, B, 1)

    def forward(self, z, t):
        """z : logits (G, B, M); t : (3, B) int levels. Returns the scalar loss."""
        self.shape = z.shape
        self.p = np.ascontiguousarray(self.probabilities(z))  # (3, B, K)
        b = t.shape[1]
        # Flat positions of p[c, i, t[c, i]]: one gather instead of a broadcast fancy index.
        self.flat_index = (_row_starts(b, self.levels) + t).reshape(-1)  # (3 * B,)
        pt = self.p.reshape(-1)[self.flat_index]  # probability of the true level
        return float(-np.log(np.maximum(pt, 1e-30)).sum() / b)

    def backward(self):
        """Gradient of the loss with respect to the logits: ``(p - onehot(t)) / B``."""
        d, self.p = self.p, None  # reuse the buffer: (3, B, K)
        b = d.shape[1]
        d.reshape(-1)[self.flat_index] -= 1.0
        d *= 1.0 / b
        g = self.shape[0]
        return d if g == 3 else d.transpose(1, 0, 2).reshape(1, b, 3 * self.levels)


class Network:
    """A grouped MLP: Linear -> activation -> ... -> Linear, then softmax heads.

    Parameters
    ----------
    n_in : int
        Inputs per sample (``w * w``).
    hidden : tuple of int
    levels : int
        K, outputs per channel.
    activation : {"sigmoid", "relu"}
    structure : {"per-channel", "shared"}
    seed : int
    dtype : numpy dtype
        float32 for training; float64 for gradient checks.
    """

    def __init__(self, n_in, hidden, levels, activation="sigmoid", structure="per-channel", seed=0, dtype=np.float32):
        rng = np.random.default_rng(seed)
        groups = 3 if structure == "per-channel" else 1
        n_out = levels if groups == 3 else 3 * levels
        gain = 2.0 if activation == "relu" else 1.0
        act = ReLU if activation == "relu" else Sigmoid
        self.layers = []
        sizes = [n_in, *hidden]
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.layers += [Linear(groups, a, b, rng, gain, dtype), act()]
        self.layers.append(Linear(groups, sizes[-1], n_out, rng, 1.0, dtype))
        self.loss_fn = SoftmaxCrossEntropy(levels)
        self.levels = levels
        self.groups = groups
        self.dtype = dtype
        # All parameters live in one flat buffer (and their gradients in another);
        # each layer's W, b, dW, db are views into them, so an optimizer step is
        # a handful of vector operations instead of a handful per array.
        linears = [layer for layer in self.layers if isinstance(layer, Linear)]
        total = sum(layer.W.size + layer.b.size for layer in linears)
        self.flat = np.empty(total, dtype)
        self.flat_grad = np.zeros(total, dtype)
        offset = 0
        for layer in linears:
            for name, grad_name in (("W", "dW"), ("b", "db")):
                arr = getattr(layer, name)
                view = self.flat[offset : offset + arr.size].reshape(arr.shape)
                view[...] = arr
                setattr(layer, name, view)
                setattr(layer, grad_name, self.flat_grad[offset : offset + arr.size].reshape(arr.shape))
                offset += arr.size

    def params(self):
        """List of (parameter, gradient) array pairs, one per weight array (views of the flat buffers)."""
        return [pg for layer in self.layers for pg in layer.params()]

    def flat_params(self):
        """[(all parameters, all gradients)] as two flat vectors: what the optimizers update."""
        return [(self.flat, self.flat_grad)]

    def logits(self, x):
        """x : (B, n_in) float. Returns logits (G, B, M)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss_and_grad(self, x, t):
        """Forward and backward on one batch; gradients land in each layer.

        x : (B, n_in) float; t : (3, B) int levels. Returns the loss (float).
        """
        loss = self.loss_fn.forward(self.logits(x), t)
        d = self.loss_fn.backward()
        for i, layer in enumerate(reversed(self.layers)):
            d = layer.backward(d, need_dx=i < len(self.layers) - 1)
        return loss

    def predict_proba(self, x):
        """x : (B, n_in). Returns (3, B, K) probabilities."""
        return self.loss_fn.probabilities(self.logits(x))

    def predict_levels(self, x):
        """x : (B, n_in). Returns (3, B) uint8 level indices (argmax).

        The most probable level is the largest logit, so no softmax is needed.
        """
        return self.loss_fn._heads(self.logits(x)).argmax(axis=-1).astype(np.uint8)
