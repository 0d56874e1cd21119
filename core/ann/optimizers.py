"""Optimizers: update (parameter, gradient) pairs in place.

Each optimizer holds a list of ``(parameter, gradient)`` array pairs (the
network hands over its two flat buffers, see :meth:`Network.flat_params`) and
``step()`` updates the parameters in place from the gradients last computed.
"""

from __future__ import annotations

import math

import numpy as np

from .config import OPTIMIZERS

__all__ = ["SGD", "Momentum", "RMSprop", "Adam", "make_optimizer"]


class _Optimizer:
    def __init__(self, pairs, lr):
        self.pairs = pairs
        self.lr = lr
        self.t = 0


class SGD(_Optimizer):
    """Plain gradient descent: ``p -= lr * g`` (the report's)."""

    def step(self):
        for p, g in self.pairs:
            p -= self.lr * g


class Momentum(_Optimizer):
    """Heavy-ball momentum: ``v = mu v - lr g``, ``p += v`` (mu = 0.9)."""

    def __init__(self, pairs, lr, mu=0.9):
        super().__init__(pairs, lr)
        self.mu = mu
        self.v = [np.zeros_like(p) for p, _ in pairs]

    def step(self):
        for (p, g), v in zip(self.pairs, self.v):
            v *= self.mu
            v -= self.lr * g
            p += v


class RMSprop(_Optimizer):
    """``s = rho s + (1 - rho) g^2``, ``p -= lr g / (sqrt(s) + eps)`` (rho = 0.9)."""

    def __init__(self, pairs, lr, rho=0.9, eps=1e-7):
        super().__init__(pairs, lr)
        self.rho, self.eps = rho, eps
        self.s = [np.zeros_like(p) for p, _ in pairs]

    def step(self):
        for (p, g), s in zip(self.pairs, self.s):
            s *= self.rho
            s += (1 - self.rho) * g * g
            p -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(_Optimizer):
    """Adam (Kingma and Ba 2015) with bias correction; beta1 0.9, beta2 0.999."""

    def __init__(self, pairs, lr, b1=0.9, b2=0.999, eps=1e-7):
        super().__init__(pairs, lr)
        self.b1, self.b2, self.eps = b1, b2, eps
        self.m = [np.zeros_like(p) for p, _ in pairs]
        self.v = [np.zeros_like(p) for p, _ in pairs]

    def step(self):
        self.t += 1
        a = self.lr * math.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        for (p, g), m, v in zip(self.pairs, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= a * m / (np.sqrt(v) + self.eps)


def make_optimizer(name: str, pairs, lr: float):
    """Build an optimizer by name (see :data:`OPTIMIZERS`) over (param, grad) pairs."""
    cls = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}.get(name)
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return cls(pairs, lr)
