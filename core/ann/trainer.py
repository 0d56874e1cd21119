"""Training: :class:`ANNTrainer` yields a stream of progress events.

Also the per-sample reference loop (:func:`per_sample_sgd_epoch`) that the
vectorised training is measured and checked against.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..baselines import fit_rgb_baselines
from ..color import dequantize, quantize, rgb2gray
from ..metrics import confusion_matrix, difference_map, l1_difference, seed_difference
from ..splits import Split
from .config import ANNConfig
from .layers import Linear
from .model import ANNModel, single_thread_blas
from .optimizers import make_optimizer
from .windows import WindowSampler

__all__ = ["ANNEvent", "ANNResult", "ANNTrainer", "run_ann", "per_sample_sgd_epoch"]


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
        self._score_idx = self._score_pixels(config.score_sample, config.seed)
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

    def _score_pixels(self, n: int, seed: int):
        """Fixed random pixels (flat indices) of each part for the per-epoch scores; None scores all."""
        if n <= 0 or n >= min(self.train_gray.size, self.test_gray.size):
            return None
        rng = np.random.default_rng(seed + 2)
        return tuple(np.sort(rng.choice(g.size, size=n, replace=False)) for g in (self.train_gray, self.test_gray))

    def _epoch_differences(self) -> tuple[float, float]:
        """The report's difference on the training and test parts (on the fixed sample when one is set)."""
        k = self.config.levels
        if self._score_idx is None:
            train_pred, test_pred = self._predictions()
            return seed_difference(train_pred, self.train_true, k), seed_difference(test_pred, self.test_true, k)
        out = []
        net = self.model.network
        for gray, truth, idx in zip(
            (self.train_gray, self.test_gray), (self.train_true, self.test_true), self._score_idx, strict=True
        ):
            windows = WindowSampler(gray, self.config.window, net.dtype).windows(idx)  # (n, w*w)
            with np.errstate(over="ignore", invalid="ignore"), single_thread_blas():
                pred = dequantize(net.predict_levels(windows).T, k)  # (n, 3)
            out.append(seed_difference(pred[None], truth.reshape(-1, 3)[idx][None], k))
        return out[0], out[1]

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

    def _predict_test(self):
        """The test part's colours only (for previews)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return dequantize(self.model.predict_levels(self.test_gray), self.config.levels)

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
            train_difference, test_difference = self._epoch_differences()
            rec = {
                "epoch": self.epochs_run,
                "loss": loss,
                "train_difference": train_difference,
                "test_difference": test_difference,
            }
            self.history.append(rec)
            yield ANNEvent("epoch", self.epochs_run, c.epochs, loss, rec["train_difference"], rec["test_difference"])
            if self._stop:
                break
            if c.preview_every and self.epochs_run % c.preview_every == 0 and self.epochs_run < c.epochs:
                test_pred = self._predict_test()
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
            preview=self.split.compose(self.train_true, self._predict_test()),
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
