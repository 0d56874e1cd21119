"""Training: losses, the progress callback, stop requests, checkpoints and resuming.

:func:`train_cnn` trains a network on ``uint8`` photos (the corpus, or a scenario's training photos), reporting
progress events and honouring a stop request. See docs/CNN.md, "Training".
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import ops

from ..color import rgb2lab
from ..metrics import report_accuracy
from .bins import SOFT_SIGMA, bin_centres, bin_prior, rebalance_weights
from .config import CNNConfig
from .data import CropBatches, ReportBatches
from .models import get_model

__all__ = ["TrainingError", "TrainResult", "train_cnn", "device_name", "versions", "CHECKPOINT_MINUTES"]

#: Minutes between checkpoints of a run given a checkpoint folder.
CHECKPOINT_MINUTES = 3.0


class TrainingError(RuntimeError):
    """Training could not go on (the loss became NaN or exploded); the message says what to change."""


@dataclass
class TrainResult:
    """What :func:`train_cnn` returns.

    Attributes
    ----------
    model : keras.Model
        Ready to predict (a classifier's rebalancing is already divided back out of its logits).
    config : CNNConfig
    history : list of dict
        The progress events, in order.
    seconds : float
        Training wall time (this run, plus the time before a resume).
    stopped : bool
        True when a stop request ended training early.
    steps_done : int
    """

    model: object
    config: CNNConfig
    history: list = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    steps_done: int = 0
    message: str = ""


def device_name() -> str:
    """The device training runs on: a GPU's name when the backend sees one, else the CPU's core count."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return f"{len(gpus)} GPU ({', '.join(g.name for g in gpus)})"
    elif backend == "jax":
        import jax

        devs = [d for d in jax.devices() if d.platform != "cpu"]
        if devs:
            return f"{len(devs)} {devs[0].platform.upper()} ({devs[0].device_kind})"
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def versions() -> dict:
    """Library versions for a model card."""
    v = {"python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__}
    v["backend"] = keras.backend.backend()
    if v["backend"] == "tensorflow":
        import tensorflow as tf

        v["tensorflow"] = tf.__version__
    elif v["backend"] == "jax":
        import jax

        v["jax"] = jax.__version__
    return v


def class_weights(images, seed: int = 0, photos: int = 2000) -> np.ndarray:
    """Rebalancing weights of the a/b bins, from the colours of up to ``photos`` training photos at 32 x 32.

    Returns
    -------
    (Q,) float32, see :func:`core.cnn.bins.rebalance_weights`
    """
    from ..images import resize

    rng = np.random.default_rng((seed, 3))
    idx = rng.choice(len(images), size=min(photos, len(images)), replace=False)
    small = np.stack([resize(np.asarray(images[int(i)]), (32, 32)) for i in idx])
    return rebalance_weights(bin_prior(rgb2lab(small)[..., 1:]))


def _bins_loss(weights=None):
    """Cross-entropy against soft targets (a Gaussian over the bin centres), optionally rebalanced.

    ``y_true``: (N, h, w, 2) a/b; ``y_pred``: (N, h, w, Q) logits. Keras ops only (any backend).
    """
    centres = ops.convert_to_tensor(bin_centres())
    q = int(centres.shape[0])
    w = None if weights is None else ops.convert_to_tensor(np.asarray(weights, np.float32))
    scale = 1.0 / (2.0 * SOFT_SIGMA * SOFT_SIGMA)

    def bins_crossentropy(y_true, y_pred):
        t = ops.reshape(ops.cast(y_true, "float32"), (-1, 1, 2))  # (P, 1, 2)
        target = ops.softmax(-scale * ops.sum(ops.square(t - centres), axis=-1), axis=-1)  # (P, Q)
        ce = -ops.sum(target * ops.log_softmax(ops.reshape(y_pred, (-1, q)), axis=-1), axis=-1)  # (P,)
        if w is None:
            return ops.mean(ce)
        return ops.mean(ops.sum(target * w, axis=-1) * ce)

    return bins_crossentropy


def _loss(config: CNNConfig, weights=None):
    if config.loss == "bins":
        return _bins_loss(weights)
    if config.loss == "huber":
        return keras.losses.Huber(delta=10.0)  # a/b units: squared within the report's tolerance, linear beyond
    return keras.losses.MeanSquaredError()


def _optimizer(config: CNNConfig):
    lr = config.lr
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=config.steps, alpha=0.05)
    return keras.optimizers.Adam(learning_rate=lr)


def _divide_out(model, weights) -> None:
    """Fold the rebalancing out of a classifier: logits - log(w), so its softmax is the plain colour posterior.

    Trained with per-bin weights ``w``, the network's distribution is proportional to ``w`` times the colours'
    posterior; subtracting ``log w`` from the last layer's bias undoes that exactly.
    """
    log_w = np.log(np.asarray(weights, np.float32))
    layer = model.get_layer("ab_logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias - log_w])
    model.get_layer("rebalance").log_w.assign(log_w)


def _should_stop(stop) -> bool:
    if stop is None:
        return False
    return bool(stop.is_set() if hasattr(stop, "is_set") else stop())


def train_cnn(
    config: CNNConfig,
    images,
    *,
    monitor=None,
    progress=None,
    stop=None,
    checkpoint_dir=None,
    resume: bool = False,
    init_model=None,
    report_arrays=None,
    verbose: int = 0,
) -> TrainResult:
    """Train a network.

    Parameters
    ----------
    config : CNNConfig
    images : (N, H, W, 3) uint8 array or sequence of (H_i, W_i, 3) uint8
        The training photos (U-Net: random crops of them). Ignored for the report's network.
    monitor : (L, ab), optional
        Photos scored about 10 times a run for the progress events' accuracy: (N, h, w, 1) L in [0, 100]
        and (N, h, w, 2) a/b, h and w multiples of 16 (the report's network: 64 x 64).
    progress : callable(event: dict) -> None, optional
        Called about 100 times a run with ``{"step", "steps", "loss", "accuracy", "seconds"}``; ``accuracy`` is
        the report's accuracy on ``monitor`` (a fraction), filled about 10 times a run, else None.
    stop : callable() -> bool or threading.Event, optional
        Checked after every step; when true, training stops and the model so far is returned.
    checkpoint_dir : path, optional
        Save the model, its optimizer and the step reached there every :data:`CHECKPOINT_MINUTES`.
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` (same config) instead of starting afresh.
    init_model : keras.Model, optional
        Start from these weights (fine-tuning); its architecture must match the config's.
    report_arrays : (L, ab), optional
        The report's network trains on these whole photos, (N, 64, 64, 1) and (N, 64, 64, 2).
    verbose : int

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingError
        When the loss becomes NaN or explodes; the message names the step and suggests a lower rate.
    """
    start, seconds_before, weights = 0, 0.0, None
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    state_path = ckpt / "state.json" if ckpt else None
    if config.loss == "bins" and config.rebalance:
        weights = class_weights(images, config.seed)
    model = None
    if resume and state_path is not None and state_path.is_file():
        state = json.loads(state_path.read_text())
        if state.get("config") != config.to_dict():
            raise ValueError(f"the checkpoint in {ckpt} is of another config; start afresh without --resume")
        model = keras.saving.load_model(ckpt / "model.keras", compile=False, safe_mode=True)
        start, seconds_before = int(state["step"]), float(state["seconds"])
    if model is None:
        model = get_model(config)
        if init_model is not None:
            model.set_weights(init_model.get_weights())
    optimizer = _optimizer(config)
    model.compile(optimizer=optimizer, loss=_loss(config, weights))
    if start:  # the optimizer's moments and step count, as they were
        opt_vars = np.load(ckpt / "optimizer.npz")
        optimizer.build(model.trainable_variables)
        for v, k in zip(optimizer.variables, sorted(opt_vars.files, key=int)):
            v.assign(opt_vars[k])
    if config.arch == "report":
        data = ReportBatches(*report_arrays, config.batch_size, config.steps, config.seed, start)
    else:
        data = CropBatches(images, config.batch_size, config.steps, config.size, config.seed, config.hints, start)

    history: list[dict] = []
    every = max(1, config.steps // 100)
    score_every = max(1, config.steps // 10)
    st = {"stopped": False, "error": None, "sum": 0.0, "n": 0, "first": None, "saved": time.perf_counter()}
    t0 = time.perf_counter()

    def score():
        if monitor is None:
            return None
        from .predict import predict_ab

        probe = model
        if weights is not None:  # score the calibrated model, as it will be saved
            probe = st.get("probe") or get_model(config)
            st["probe"] = probe
            probe.set_weights(model.get_weights())
            _divide_out(probe, weights)
        return report_accuracy(predict_ab(probe, monitor[0]), monitor[1])

    def save_checkpoint(step):
        ckpt.mkdir(parents=True, exist_ok=True)
        model.save(ckpt / "model.keras")
        np.savez(ckpt / "optimizer.npz", **{str(i): np.asarray(v) for i, v in enumerate(optimizer.variables)})
        state = {"config": config.to_dict(), "step": step, "seconds": seconds_before + time.perf_counter() - t0}
        (ckpt / "state.json").write_text(json.dumps(state))

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            k = start + batch + 1
            avg = float(np.asarray((logs or {}).get("loss", np.nan)))  # Keras' running mean since the start
            loss_k = (batch + 1) * avg - batch * st.get("avg", 0.0)
            st["avg"] = avg
            st["first"] = loss_k if st["first"] is None else st["first"]
            if not math.isfinite(loss_k) or (batch > 10 and loss_k > 100.0 * max(st["first"], 1e-6)):
                st["error"] = (
                    f"training diverged at step {k}: the loss became {loss_k:.4g} (it was {st['first']:.4g} at "
                    f"the start). Try a lower learning rate than {config.lr:g}."
                )
                self.model.stop_training = True
                return
            st["sum"] += loss_k
            st["n"] += 1
            if _should_stop(stop):
                st["stopped"] = True
                self.model.stop_training = True
            last = k == config.steps or st["stopped"]
            if ckpt and (last or time.perf_counter() - st["saved"] > 60 * CHECKPOINT_MINUTES):
                save_checkpoint(k)
                st["saved"] = time.perf_counter()
            if k % every == 0 or last:
                event = {
                    "step": k,
                    "steps": config.steps,
                    "loss": st["sum"] / max(1, st["n"]),
                    "accuracy": score() if (k % score_every == 0 or last) else None,
                    "seconds": seconds_before + time.perf_counter() - t0,
                }
                st["sum"], st["n"] = 0.0, 0
                history.append(event)
                if progress is not None:
                    progress(event)

    if len(data):
        model.fit(data, epochs=1, verbose=verbose, callbacks=[Progress()])
    if st["error"]:
        raise TrainingError(st["error"])
    if weights is not None:
        _divide_out(model, weights)
    done = history[-1]["step"] if history else start
    seconds = seconds_before + time.perf_counter() - t0
    msg = f"stopped at step {done} of {config.steps}" if st["stopped"] else f"trained {done} steps in {seconds:.0f} s"
    return TrainResult(model, config, history, seconds, st["stopped"], done, msg)
