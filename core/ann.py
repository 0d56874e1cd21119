"""The numpy colorizer: a small neural network written from scratch.

A ``w x w`` window of gray values predicts the colour of its centre pixel,
quantized to K levels per channel (the report: 3 x 3 windows, K = 4 levels
0/64/128/192, one 9-9-4 network per channel, softmax output).

Everything here is plain numpy: each layer keeps its backward step beside its
forward step, micrograd-style, and the optimizers update the parameters in
place. No autograd library is used.

Shapes. Networks are *grouped*: ``G`` networks with identical shapes run side by
side through batched ``matmul``. One network per channel is ``G = 3`` with K
outputs each; the shared network is ``G = 1`` with ``3 K`` outputs (three
heads). Activations are ``(G, B, features)``.

Typical use::

    split = make_split(load_image("coffee"), "left-right")
    trainer = ANNTrainer(preset("default"), split)
    for event in trainer.train():          # stop at any event by breaking out
        print(event.epoch, event.loss, event.test_difference)
    result = trainer.result()              # also valid after a stop
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from .baselines import fit_rgb_baselines
from .color import dequantize, quantize, rgb2gray
from .images import check_image
from .metrics import confusion_matrix, difference_map, l1_difference, seed_difference
from .splits import Split

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "STRUCTURES",
    "ANNConfig",
    "PRESETS",
    "preset",
    "Linear",
    "Sigmoid",
    "ReLU",
    "SoftmaxCrossEntropy",
    "Network",
    "make_optimizer",
    "WindowSampler",
    "per_sample_sgd_epoch",
    "ANNModel",
    "ANNEvent",
    "ANNResult",
    "ANNTrainer",
    "run_ann",
    "single_thread_blas",
]

ACTIVATIONS = ("sigmoid", "relu")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
STRUCTURES = ("per-channel", "shared")


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


# ---------------------------------------------------------------------------
# Hyperparameters
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ANNConfig:
    """Hyperparameters of the numpy colorizer (hashable: usable as a cache key)."""

    window: int = 3  # w: a w x w window of gray values around each pixel (odd: 3, 5, 7, ...)
    levels: int = 4  # K: colour levels per channel; stride 256 / K (4 gives 0, 64, 128, 192)
    hidden: tuple[int, ...] = (9,)  # hidden layer widths; () is a linear softmax model
    activation: str = "sigmoid"  # hidden activation: "sigmoid" or "relu"
    structure: str = "per-channel"  # "per-channel": one net per R, G, B; "shared": one trunk, three heads
    optimizer: str = "sgd"  # "sgd", "momentum", "rmsprop" or "adam"
    lr: float = 0.1  # learning rate (step size)
    epochs: int = 10  # passes over the training pixels
    batch_size: int = 32  # windows per mini-batch
    seed: int = 0  # seeds the weights and the shuffling: same seed, same run
    preview_every: int = 5  # emit a preview picture every N epochs (0: never)

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        problems = []
        if self.window < 1 or self.window % 2 == 0:
            problems.append(f"window must be an odd number >= 1, got {self.window}")
        if not 2 <= self.levels <= 256:
            problems.append(f"levels must be between 2 and 256, got {self.levels}")
        if any(h < 1 for h in self.hidden):
            problems.append(f"hidden layer sizes must be >= 1, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.structure not in STRUCTURES:
            problems.append(f"structure must be one of {STRUCTURES}, got {self.structure!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"learning rate must be a positive number, got {self.lr}")
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"batch size must be >= 1, got {self.batch_size}")
        if self.preview_every < 0:
            problems.append(f"preview_every must be >= 0, got {self.preview_every}")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        """JSON-able form (``hidden`` as a list)."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


#: ``report``: the report's setup. ``default``: the best we measured (see README
#: "Numbers"); it is the dashboard's starting point.
PRESETS: dict[str, ANNConfig] = {
    "report": ANNConfig(
        window=3,
        levels=4,
        hidden=(9,),
        activation="sigmoid",
        structure="per-channel",
        optimizer="sgd",
        lr=0.5,
        epochs=10,
        batch_size=16,
        seed=0,
    ),
    "default": ANNConfig(
        window=5,
        levels=4,
        hidden=(32,),
        activation="relu",
        structure="per-channel",
        optimizer="adam",
        lr=0.003,
        epochs=20,
        batch_size=128,
        seed=0,
    ),
}


def preset(name: str, **overrides) -> ANNConfig:
    """A preset, optionally with some fields replaced (``None`` values are ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


# ---------------------------------------------------------------------------
# Layers: each forward step with its backward step beside it
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Optimizers: update (parameter, gradient) pairs in place
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Windows: gathered per batch from an edge-padded image, never all at once
# ---------------------------------------------------------------------------
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


def per_sample_sgd_epoch(network, sampler, levels_idx, lr, order, activation="sigmoid") -> float:
    """The straightforward way: one window, one channel network, one SGD step at a time.

    This is the reference the vectorised path is measured against (``bench ann``)
    and checked against (with batch size 1 and SGD both compute the same updates).
    It updates ``network`` (per-channel structure) in place.

    Parameters
    ----------
    network : Network with ``structure="per-channel"``
    sampler : WindowSampler
    levels_idx : (3, N) int, the true level of each pixel per channel
    lr : float
    order : 1-D int array of pixel indices, visited in this order
    activation : {"sigmoid", "relu"}

    Returns
    -------
    float, the mean loss (summed over channels) over the visited windows
    """
    if network.groups != 3:
        raise ValueError("the per-sample reference covers the per-channel structure only")
    linears = [layer for layer in network.layers if isinstance(layer, Linear)]
    total = 0.0
    for i in order:
        x = sampler.windows(np.array([i]))[0]  # (w*w,)
        for c in range(3):
            inputs, a = [], x
            for layer in linears[:-1]:
                inputs.append(a)
                u = a @ layer.W[c] + layer.b[c, 0]
                a = 1.0 / (1.0 + np.exp(-u)) if activation == "sigmoid" else np.maximum(u, 0.0)
            inputs.append(a)
            z = a @ linears[-1].W[c] + linears[-1].b[c, 0]  # (K,)
            e = np.exp(z - z.max())
            p = e / e.sum()
            t = int(levels_idx[c, i])
            total += -math.log(max(float(p[t]), 1e-30))
            d = p.copy()
            d[t] -= 1.0  # dloss/dz
            for k in range(len(linears) - 1, -1, -1):
                layer, h = linears[k], inputs[k]
                d_prev = None
                if k > 0:
                    d_prev = layer.W[c] @ d
                    d_prev *= h * (1.0 - h) if activation == "sigmoid" else (h > 0)
                layer.W[c] -= lr * np.outer(h, d)
                layer.b[c, 0] -= lr * d
                d = d_prev
    return total / max(len(order), 1)


def _levels_of(rgb, levels):
    """(H, W, 3) uint8 -> (3, H*W) uint8 level indices."""
    return np.ascontiguousarray(quantize(rgb, levels).reshape(-1, 3).T)


# ---------------------------------------------------------------------------
# A trained model
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Training: a stream of progress events
# ---------------------------------------------------------------------------
@dataclass
class ANNEvent:
    """One step of progress.

    Attributes
    ----------
    kind : str
        ``"epoch"`` (every epoch), ``"preview"`` (every ``preview_every`` epochs,
        with a picture), ``"diverged"`` (training ended: loss went non-finite or
        exploded) or ``"done"`` (finished or stopped).
    epoch, epochs : int
        Epochs completed, and planned.
    loss : float
        Mean training cross-entropy of the epoch (summed over the three channels).
    train_difference, test_difference : float
        The report's difference on the training and test parts, in levels.
    preview : (H, W, 3) uint8 or None
        The composed picture (quantized truth on the training side, prediction
        on the test side) on preview and done events.
    message : str
        A human sentence (the reason on ``"diverged"``).
    """

    kind: str
    epoch: int
    epochs: int
    loss: float = float("nan")
    train_difference: float = float("nan")
    test_difference: float = float("nan")
    preview: np.ndarray | None = field(default=None, repr=False)
    message: str = ""


@dataclass(eq=False)
class ANNResult:
    """Everything a run produced, scored on the test part (see :class:`ANNTrainer`)."""

    config: ANNConfig
    split: Split
    model: ANNModel
    train_pred: np.ndarray  # (H1, W1, 3) uint8 K-level prediction of the training part
    test_pred: np.ndarray  # (H2, W2, 3) uint8 K-level prediction of the test part
    test_true: np.ndarray  # (H2, W2, 3) uint8 K-level truth of the test part
    test_gray: np.ndarray  # (H2, W2) uint8
    seed_difference: float  # the report's difference on the test part, in levels
    l1_difference: float  # per-channel L1 on the test part, in levels
    baselines: dict  # name -> {"seed_difference", "l1_difference", "prediction"}
    history: list  # per epoch: {"epoch", "loss", "train_difference", "test_difference"}
    train_seconds: float
    epochs_run: int
    stopped: bool
    diverged: str | None
    error_map: np.ndarray  # (H2, W2) float, |dR + dG + dB| in levels
    confusion: np.ndarray  # (3, K, K) int, rows true level, columns predicted

    @property
    def first_layer_weights(self) -> np.ndarray:
        return self.model.first_layer_weights

    def full_image(self) -> np.ndarray:
        """The report's generated picture: quantized truth on the training side, prediction on the test side."""
        train_true = dequantize(quantize(self.split.train_rgb, self.config.levels), self.config.levels)
        return self.split.compose(train_true, self.test_pred)

    def to_dict(self) -> dict:
        """JSON-able summary (the command line's ``--json`` keys)."""
        return {
            "seed_difference": self.seed_difference,
            "l1_difference": self.l1_difference,
            "baselines": {
                k: {"seed_difference": v["seed_difference"], "l1_difference": v["l1_difference"]}
                for k, v in self.baselines.items()
            },
            "train_seconds": self.train_seconds,
            "epochs": self.epochs_run,
            "stopped": self.stopped,
            "diverged": self.diverged,
            "split": self.split.how,
            "history": self.history,
            "config": self.config.to_dict(),
        }


class ANNTrainer:
    """Trains an :class:`ANNModel` on a :class:`~core.splits.Split`, epoch by epoch.

    Parameters
    ----------
    config : ANNConfig
    split : Split
        ``train_rgb`` is learnt from, ``test_rgb`` is scored.
    """

    def __init__(self, config: ANNConfig, split: Split):
        self.config = config
        self.split = split
        self.model = ANNModel.new(config)
        k = config.levels
        self.train_gray = rgb2gray(split.train_rgb)  # (H1, W1) uint8
        self.test_gray = rgb2gray(split.test_rgb)  # (H2, W2) uint8
        self.train_levels = _levels_of(split.train_rgb, k)  # (3, N1)
        self.train_true = dequantize(quantize(split.train_rgb, k), k)
        self.test_true = dequantize(quantize(split.test_rgb, k), k)
        self.sampler = WindowSampler(self.train_gray, config.window, self.model.network.dtype)
        self.optimizer = make_optimizer(config.optimizer, self.model.network.flat_params(), config.lr)
        self.rng = np.random.default_rng(config.seed + 1)
        self.history: list[dict] = []
        self.epochs_run = 0
        self.train_seconds = 0.0
        self.stopped = False
        self.diverged: str | None = None
        self._stop = False
        # The loss of a model that knows nothing (uniform over K levels, 3 channels);
        # an epoch far above it has diverged, not merely learnt slowly.
        self._blowup = 10.0 * 3.0 * math.log(k)

    def request_stop(self) -> None:
        """Ask training to end after the current batch; the model so far is kept."""
        self._stop = True

    def train_epoch(self) -> float:
        """One pass over the training pixels in shuffled mini-batches. Returns the mean loss."""
        net, opt, bs = self.model.network, self.optimizer, self.config.batch_size
        perm = self.rng.permutation(self.sampler.n)
        # Windows are gathered a chunk of whole batches at a time (about 32k
        # windows, a few MB), never for the whole image.
        chunk = bs * max(1, 32768 // bs)
        total, count = 0.0, 0
        for cstart in range(0, perm.size, chunk):
            cidx = perm[cstart : cstart + chunk]
            xs = self.sampler.windows(cidx)  # (C, w*w)
            ts = self.train_levels[:, cidx]  # (3, C)
            for start in range(0, cidx.size, bs):
                x, t = xs[start : start + bs], ts[:, start : start + bs]
                loss = net.loss_and_grad(x, t)
                if not math.isfinite(loss):
                    return float("nan")
                opt.step()
                total += loss * x.shape[0]
                count += x.shape[0]
                if self._stop:
                    return total / max(count, 1)
        return total / max(count, 1)

    def _predictions(self):
        with np.errstate(over="ignore", invalid="ignore"):
            return self._predict_both()

    def _predict_both(self):
        train_pred = dequantize(self.model.predict_levels(self.train_gray), self.config.levels)
        test_pred = dequantize(self.model.predict_levels(self.test_gray), self.config.levels)
        return train_pred, test_pred

    def train(self) -> Iterator[ANNEvent]:
        """Train for ``config.epochs`` epochs, yielding :class:`ANNEvent` s.

        Break out of the loop (or call :meth:`request_stop`) to stop early;
        :meth:`result` then returns the model as it stands.
        """
        c = self.config
        self._stop = False
        for _ in range(c.epochs):
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"), single_thread_blas():  # divergence is reported below
                loss = self.train_epoch()
            self.train_seconds += time.perf_counter() - t0
            self.epochs_run += 1
            weights_ok = bool(np.isfinite(self.model.network.flat).all())
            if not math.isfinite(loss) or not weights_ok or loss > self._blowup:
                self.diverged = (
                    f"training diverged at epoch {self.epochs_run}: the loss became "
                    f"{'infinite or NaN' if not math.isfinite(loss) else f'{loss:.3g}'} "
                    f"(a model that knows nothing scores {3 * math.log(c.levels):.2f}). "
                    f"The learning rate {c.lr:g} is too large for {c.optimizer}; try {c.lr / 10:g} or smaller."
                )
                yield ANNEvent("diverged", self.epochs_run, c.epochs, loss, message=self.diverged)
                return
            train_pred, test_pred = self._predictions()
            rec = {
                "epoch": self.epochs_run,
                "loss": loss,
                "train_difference": seed_difference(train_pred, self.train_true, c.levels),
                "test_difference": seed_difference(test_pred, self.test_true, c.levels),
            }
            self.history.append(rec)
            yield ANNEvent("epoch", self.epochs_run, c.epochs, loss, rec["train_difference"], rec["test_difference"])
            if self._stop:
                break
            if c.preview_every and self.epochs_run % c.preview_every == 0 and self.epochs_run < c.epochs:
                yield ANNEvent(
                    "preview",
                    self.epochs_run,
                    c.epochs,
                    loss,
                    rec["train_difference"],
                    rec["test_difference"],
                    preview=self.split.compose(self.train_true, test_pred),
                )
        self.stopped = self._stop or self.epochs_run < c.epochs
        last = self.history[-1] if self.history else {}
        yield ANNEvent(
            "done",
            self.epochs_run,
            c.epochs,
            last.get("loss", float("nan")),
            last.get("train_difference", float("nan")),
            last.get("test_difference", float("nan")),
            preview=self.split.compose(self.train_true, self._predictions()[1]),
            message="stopped early" if self.stopped else "finished",
        )

    def result(self) -> ANNResult:
        """Score the model as it stands on the test part, beside the baselines."""
        c, k = self.config, self.config.levels
        train_pred, test_pred = self._predictions()
        baselines = {}
        for name, b in fit_rgb_baselines(self.train_gray, self.split.train_rgb, k).items():
            pred = b.predict(self.test_gray)
            baselines[name] = {
                "seed_difference": seed_difference(pred, self.test_true, k),
                "l1_difference": l1_difference(pred, self.test_true, k),
                "prediction": pred,
            }
        pred_idx = quantize(test_pred, k)
        true_idx = quantize(self.test_true, k)
        confusion = np.stack([confusion_matrix(pred_idx[..., ch], true_idx[..., ch], k) for ch in range(3)])
        return ANNResult(
            config=c,
            split=self.split,
            model=self.model,
            train_pred=train_pred,
            test_pred=test_pred,
            test_true=self.test_true,
            test_gray=self.test_gray,
            seed_difference=seed_difference(test_pred, self.test_true, k),
            l1_difference=l1_difference(test_pred, self.test_true, k),
            baselines=baselines,
            history=list(self.history),
            train_seconds=self.train_seconds,
            epochs_run=self.epochs_run,
            # Also true when the consumer broke out of train() or asked for a stop.
            stopped=self.diverged is None and (self.stopped or self._stop or self.epochs_run < c.epochs),
            diverged=self.diverged,
            error_map=difference_map(test_pred, self.test_true, k, "seed"),
            confusion=confusion,
        )


def run_ann(config: ANNConfig, split: Split, on_event: Callable[[ANNEvent], bool | None] | None = None) -> ANNResult:
    """Train to the end and return the result.

    Parameters
    ----------
    config : ANNConfig
    split : Split
    on_event : callable, optional
        Called with each :class:`ANNEvent`; returning True stops training.
    """
    trainer = ANNTrainer(config, split)
    for event in trainer.train():
        if on_event is not None and on_event(event):
            trainer.request_stop()
    return trainer.result()
