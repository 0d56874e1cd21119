"""The Keras colorizers: the report's network, reproduced, and our small U-Net.

Both models read CIELAB lightness and predict a/b; Keras 3 only (no backend
code in the models, so ``KERAS_BACKEND=jax`` works for building, training and
predicting). TensorFlow/Keras are imported lazily, on first use, never at
``import core``.

Conventions
-----------
* Model input: ``x = L / 100``, ``(N, h, w, 1) float32`` in [0, 1].
* Model output: the report's target ``ab + 128`` in [0, 255].

  - ``report``: ``(N, 8192)``, all 64x64 a values then all b values, as in the
    report (sigmoid x 255).
  - ``ours``: ``(N, h, w, 2)`` at the input's size (any size; internally padded
    to a multiple of 8), or, trained with ``loss="bins"``, ``(N, h, w, 2 * K)``
    logits: K bins of ab + 128 over [0, 256) for a, then K for b (decoded by
    :func:`decode_bins`).

  Use :func:`predict_ab` rather than calling a model directly: it normalises,
  pads, reshapes and subtracts the offset for either architecture.
* Full-resolution colorizing (:func:`colorize`): predict a/b at a working
  resolution, upsample a/b to the photo's size and join them with the photo's
  own, exact L.

Main entry points
-----------------
:class:`CNNConfig`          frozen, hashable hyperparameters (the cache key).
:func:`train_cnn`           train with progress events and a stop request.
:func:`train_or_load`       the same through the model cache (``$COLORLAB_CACHE``).
:func:`load_model`          a committed model by name (``beach``, ``sunset``, ``forest``, ``scenes``) or a ``.keras`` path.
:func:`load_card`           its JSON model card.
:func:`colorize`            full-resolution colorizing, ``(H, W, 3) uint8`` in, same size out.
:func:`predict_ab`          a/b of L arrays.
:func:`evaluate`            per-image and aggregate metrics, next to the baselines.
:func:`describe`            layer table and parameter count of an architecture.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
import uuid
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from .baselines import BASELINES, Baseline, fit_ab_baselines
from .color import AB_OFFSET, lab2uint8, merge_l_ab, rgb2lab
from .images import check_image
from .metrics import acc_curve, auc, colorfulness, lab_scores, report_accuracy

__all__ = [
    "ARCHS",
    "COMMITTED_MODELS",
    "MODELS_DIR",
    "CACHE_ENV",
    "REPORT_SIZE",
    "REPORT_FIGURES",
    "CNNConfig",
    "TrainingError",
    "TrainResult",
    "build_model",
    "describe",
    "count_parameters",
    "train_cnn",
    "train_or_load",
    "gated_model",
    "cache_dir",
    "cache_key",
    "save_model",
    "load_model",
    "load_card",
    "model_path",
    "committed_models",
    "predict_ab",
    "colorize",
    "colorize_lab",
    "evaluate",
    "baselines_from_card",
]

#: The two architectures.
ARCHS = ("report", "ours")

#: Names of the committed models in ``models/`` (per scenario, and one for all scenes).
COMMITTED_MODELS = ("beach", "sunset", "forest", "scenes")

#: The repository's ``models/`` folder.
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"

#: Environment variable overriding the cache folder (default ``~/.cache/colorlab``).
CACHE_ENV = "COLORLAB_CACHE"

#: The report's working size: 64 x 64.
REPORT_SIZE = 64

#: ``ours`` is scored from two views of each photo (round 18, rules 56-57 of docs/CNN.md): the photo squashed to
#: the scoring size (the only view of the report's network and the baselines), and the photo with its aspect kept
#: at a shorter side of ``DETAIL_RATIO`` x the scoring size (96 px for 64 x 64), its a/b resized to the scoring
#: size. The two a/b are averaged (:func:`predict_scored_ab`).
DETAIL_RATIO = 1.5

#: The report's printed accuracies (its "sunrise" scenario is our "sunset").
REPORT_FIGURES = {"beach": 0.64, "sunset": 0.54, "forest": 0.57}

#: The report's accuracy tolerance, in a/b units (|predicted - true| <= 10 counts as right).
TOLERANCE = 10.0

#: Format version of model cards and cache keys.
CARD_FORMAT = 1

#: Training losses: regression on ab + 128 ("mse", "mae", "huber", "welsch") or classification over ab bins ("bins").
LOSSES = ("mse", "mae", "huber", "welsch", "bins")

_ARCH_DEFAULTS = {
    # field: (report, ours)
    "lr": (1e-4, 2e-3),
    "batch_size": (3, 16),
    "steps": (8000, 600),
    "loss": ("mse", "huber"),
    "schedule": ("constant", "cosine"),
}


class TrainingError(RuntimeError):
    """Training could not go on (the loss became NaN or diverged); the message says what to change."""


def _keras():
    import keras  # lazy: TensorFlow/JAX start only when a CNN is used

    if not _LAYERS:  # registered before any model is built or loaded
        _LAYERS["PositionMaps"] = _position_maps_class(keras)
    return keras


#: The project's own Keras layers, defined (and registered for safe-mode loading) by the first :func:`_keras` call.
_LAYERS: dict = {}


def _position_maps_class(keras):
    """The ``PositionMaps`` layer class (defined here so that importing ``core.cnn`` does not import Keras)."""

    @keras.saving.register_keras_serializable(package="colorlab")
    class PositionMaps(keras.layers.Layer):
        """Where each pixel sits in its input: ``y = (row + 0.5) / h`` and ``|2 (col + 0.5) / w - 1|``.

        Input ``(N, h, w, C)``, any size; output ``(N, h, w, 2)`` float, both maps in [0, 1]: the height
        from the top, and the distance from the vertical centre line (which a left-right flip leaves
        unchanged). Built from ``cumsum`` of ones, so it works for any input size on every backend.
        """

        def call(self, x):
            ops = keras.ops
            ones = ops.ones_like(x[..., :1])  # (N, h, w, 1)
            y = (ops.cumsum(ones, axis=1) - 0.5) / ops.sum(ones, axis=1, keepdims=True)  # (N, h, w, 1)
            xc = (ops.cumsum(ones, axis=2) - 0.5) / ops.sum(ones, axis=2, keepdims=True)  # (N, h, w, 1)
            return ops.concatenate([y, ops.abs(2.0 * xc - 1.0)], axis=-1)

        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (2,)

    return PositionMaps


def position_maps(h: int, w: int) -> np.ndarray:
    """The position maps a U-Net with ``position`` sees for an ``h x w`` input (as ``PositionMaps``).

    Returns
    -------
    pos : (h, w, 2) float32, in [0, 1]: ``(row + 0.5) / h`` and ``|2 (col + 0.5) / w - 1|``
    """
    return crop_position_maps(h, w, 0, 0, h, w)


def crop_position_maps(view_h: int, view_w: int, y0: int, x0: int, h: int, w: int, flip: bool = False) -> np.ndarray:
    """Position maps of an ``h x w`` crop at ``(y0, x0)`` of a ``view_h x view_w`` photo: where its pixels sat.

    Returns
    -------
    pos : (h, w, 2) float32, in [0, 1]; with ``flip`` the crop's columns are mirrored, as the crop itself is
    """
    y = (y0 + np.arange(h) + 0.5) / view_h  # (h,)
    x = np.abs(2.0 * (x0 + np.arange(w) + 0.5) / view_w - 1.0)  # (w,)
    if flip:
        x = x[::-1]
    out = np.empty((h, w, 2), np.float32)
    out[..., 0] = y[:, None]
    out[..., 1] = x[None, :]
    return out


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class CNNConfig:
    """Hyperparameters of one CNN training run (frozen and hashable: part of the cache key).

    Fields left as ``None`` take the architecture's default, so
    ``CNNConfig(arch="report")`` is the report's setup: Adam 1e-4 (or
    ``optimizer="sgd"``, plain gradient descent), batch 3, 8000 steps, MSE.
    """

    arch: str = "ours"  # "report": the report's network, exactly; "ours": small fully convolutional U-Net
    optimizer: str = "adam"  # "adam" or "sgd" (plain gradient descent, as the report words it)
    lr: float | None = None  # learning rate; default 1e-4 (report) or 2e-3 (ours)
    batch_size: int | None = None  # photos (report) or crops (ours) per step; default 3 or 16
    steps: int | None = None  # training iterations; default 8000 (report) or 600 (ours); ignored when epochs is set
    epochs: int | None = None  # if set, steps = epochs * ceil(train photos / batch_size)
    seed: int = 0  # seeds weights, batches and augmentation (runs are reproducible on the CPU)
    size: int = REPORT_SIZE  # training size: the report's input side (64) / our square crop side
    loss: str | None = (
        None  # "mse", "mae" (L1), "huber", "welsch" on ab + 128, or "bins" (ours: classification); default mse/huber
    )
    huber_delta: float = 10.0  # Huber's switch from squared to linear, in a/b units (the accuracy tolerance)
    welsch_sigma: float = 5.0  # loss="welsch": width of 1 - exp(-d^2 / (2 sigma^2)), in a/b units
    bins: int = 64  # loss="bins": classes per channel, equal bins of ab + 128 over [0, 256) (64: 4 a/b units wide)
    bin_sigma: float = 5.0  # loss="bins": soft targets, a Gaussian of this width (a/b units) over the bin centres
    rebalance: bool = False  # loss="bins": weight each a/b value by its bin's rarity (Zhang et al. 2016, lambda 0.5)
    dropout: float = 0.0  # report: rate of the dropout before the output layer (the report mostly left it off)
    width: int = 16  # ours: filters of the first level; doubled at each of the 3 downsamplings
    context: bool = False  # ours: add a whole-image context vector (global average pool + 2 dense) at the bottleneck
    scales: tuple = (64, 96, 128)  # ours: shorter sides the photos are rescaled to before random crops
    flip: bool = True  # ours: random horizontal flips (never vertical: the sky stays on top)
    schedule: str | None = (
        None  # "constant" or "cosine" learning-rate decay; default constant (report) or cosine (ours)
    )
    focus: str | None = None  # ours, on a dataset of several scenarios ("scenes"): the one the model is for
    mix: float = 0.0  # with focus: share of training crops drawn from the other scenarios' training photos
    ema: float = 0.0  # momentum of an exponential moving average of the weights, kept as the final model (0: off)
    working_size: int = 96  # ours: longest side a photo is scaled to for prediction by colorize()
    init: str | None = None  # start from this model (committed name or .keras path): fine-tuning
    members: int = 1  # ours: U-Nets trained one after another (seeds seed, seed+1, ...), their a/b averaged
    member_widths: tuple = ()  # ours, members > 1: each member's first-level filters, e.g. (16, 12); () = width for all
    gate: bool = False  # ours, focus, mix: a scene gate; members=1: one U-Net told its p, members>1: see gate_members
    gate_members: str = "weigh"  # gate, members>1: "weigh" (2: p weighs a specialist and a generalist) or "tell"
    # (each member a U-Net told p, as with members=1, their a/b averaged; round 16)
    own_share: float = 0.5  # gate, told U-Nets: share of each batch's crops from the focus scenario's photos, told c=1
    position: bool = False  # gate: each told U-Net also sees where each pixel sits in the photo (round 23)
    eval_every: int = 0  # steps between train/test accuracy evaluations; 0: about 10 per run

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        pick = 0 if self.arch == "report" else 1
        for name, defaults in _ARCH_DEFAULTS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, defaults[pick])
        object.__setattr__(self, "scales", tuple(int(s) for s in self.scales))
        widths = tuple(int(w) for w in self.member_widths)
        object.__setattr__(self, "member_widths", () if all(w == self.width for w in widths) else widths)
        if self.gate_members == "tell" and (int(self.members) == 1 or not self.gate):  # means nothing there (nor keys)
            object.__setattr__(self, "gate_members", "weigh")
        object.__setattr__(self, "lr", float(self.lr))
        checks = [
            (self.optimizer in ("adam", "sgd"), f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}"),
            (
                self.loss in LOSSES,
                f"loss must be one of {', '.join(repr(x) for x in LOSSES)}, got {self.loss!r}",
            ),
            (self.loss != "bins" or self.arch == "ours", "loss='bins' needs arch='ours' (the report's head is fixed)"),
            (2 <= int(self.bins) <= 256, f"bins must lie in [2, 256], got {self.bins}"),
            (self.bin_sigma > 0, f"bin_sigma must be > 0, got {self.bin_sigma}"),
            (not self.rebalance or self.loss == "bins", f"rebalance needs loss='bins', got loss={self.loss!r}"),
            (self.welsch_sigma > 0, f"welsch_sigma must be > 0, got {self.welsch_sigma}"),
            (
                self.schedule in ("constant", "cosine"),
                f"schedule must be 'constant' or 'cosine', got {self.schedule!r}",
            ),
            (math.isfinite(self.lr) and self.lr > 0, f"lr must be a positive number, got {self.lr}"),
            (int(self.batch_size) >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (int(self.steps) >= 1, f"steps must be >= 1, got {self.steps}"),
            (self.epochs is None or int(self.epochs) >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (0.0 <= self.dropout < 1.0, f"dropout must lie in [0, 1), got {self.dropout}"),
            (
                self.size >= 8 and (self.arch == "report" or self.size % 8 == 0),
                f"size must be >= 8 (a multiple of 8 for ours), got {self.size}",
            ),
            (self.width >= 1, f"width must be >= 1, got {self.width}"),
            (all(s >= self.size for s in self.scales), f"every scale must be >= size ({self.size}), got {self.scales}"),
            (self.working_size >= 8, f"working_size must be >= 8, got {self.working_size}"),
            (0.0 <= self.ema < 1.0, f"ema must lie in [0, 1), got {self.ema}"),
            (0.0 <= self.mix <= 1.0, f"mix must lie in [0, 1], got {self.mix}"),
            (self.mix == 0.0 or self.focus is not None, "mix needs focus (the scenario the model is for)"),
            (int(self.members) >= 1, f"members must be >= 1, got {self.members}"),
            (
                not self.member_widths
                or (self.arch == "ours" and len(self.member_widths) == self.members and min(self.member_widths) >= 1),
                f"member_widths needs arch='ours' and one width >= 1 per member ({self.members}); "
                f"got {self.member_widths}",
            ),
            (
                self.members == 1 or (self.arch == "ours" and self.loss != "bins"),
                "members > 1 (an ensemble) needs arch='ours' and a regression loss",
            ),
            (
                self.gate_members in ("weigh", "tell"),
                f"gate_members must be 'weigh' or 'tell', got {self.gate_members!r}",
            ),
            (
                not self.gate
                or (
                    self.focus is not None and self.mix > 0 and (self.members in (1, 2) or self.gate_members == "tell")
                ),
                "gate needs focus (the scenario), mix > 0 (the other scenarios' share of the generalist's crops) "
                "and members=1 (one U-Net told the gate's p), 2 (a specialist and a generalist) or, with "
                "gate_members='tell', any number of U-Nets each told p; "
                f"got focus={self.focus!r}, mix={self.mix}, members={self.members}",
            ),
            (0.0 < self.own_share < 1.0, f"own_share must lie in (0, 1), got {self.own_share}"),
            (
                not self.position or self.told,
                "position needs gate (the position maps are an input of the gate-conditioned U-Nets); "
                f"got gate={self.gate}, members={self.members}, gate_members={self.gate_members!r}",
            ),
            (
                not self.told or int(self.batch_size) >= 2,
                f"a gate-conditioned U-Net needs batch_size >= 2 (crops told 1 and told 0), got {self.batch_size}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        if self.arch == "report" and self.size != REPORT_SIZE:
            # the report's network is defined at 64 x 64; other sizes are allowed but change the parameter count
            pass

    @property
    def conditioned(self) -> bool:
        """One U-Net told, per photo, the gate's probability that it is of the focus scenario (``gate``, ``members=1``)."""
        return self.gate and self.members == 1

    @property
    def told(self) -> bool:
        """Every U-Net is told the gate's p: one conditioned U-Net, or several averaged (``gate_members="tell"``)."""
        return self.gate and (self.members == 1 or self.gate_members == "tell")

    def total_steps(self, n_train: int) -> int:
        """Training steps for ``n_train`` photos: ``steps``, or ``epochs * ceil(n_train / batch_size)``."""
        if self.epochs is not None:
            return int(self.epochs) * max(1, math.ceil(n_train / int(self.batch_size)))
        return int(self.steps)

    def member_width(self, i: int) -> int:
        """First-level filters of member ``i`` (0-based) of an ensemble or gated pair."""
        return self.member_widths[i] if self.member_widths else self.width

    def member(self, i: int) -> CNNConfig:
        """Member ``i`` (0-based) of an ensemble or gated model, as one U-Net's config: its own width, and no gate
        unless every member is told the gate's p (then a conditioned U-Net's config)."""
        return replace(self, members=1, member_widths=(), gate=self.told, width=self.member_width(i))

    def to_dict(self) -> dict:
        """JSON-ready fields (tuples as lists)."""
        d = asdict(self)
        d["scales"] = list(self.scales)
        d["member_widths"] = list(self.member_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CNNConfig:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        for name in ("scales", "member_widths"):
            if name in kw:
                kw[name] = tuple(kw[name])
        return cls(**kw)


# --------------------------------------------------------------------------- models


def build_model(config: CNNConfig | str = "ours"):
    """Build an untrained model.

    Parameters
    ----------
    config : CNNConfig or str
        A config, or an architecture name (its default config).

    Returns
    -------
    keras.Model
        Input ``(None, h, w, 1)`` = L / 100; output ``ab + 128`` (see the module notes).
        ``report`` at 64 x 64 has 75,563,904 parameters.
    """
    if isinstance(config, str):
        config = CNNConfig(arch=config)
    if config.arch == "report":
        return _build_report(config)
    if config.conditioned:
        return _build_conditioned(config)
    if config.told:
        return _build_told(config)
    if config.members > 1:
        return _build_gated(config) if config.gate else _build_ensemble(config)
    return _build_ours(config)


def _build_ensemble(config: CNNConfig):
    """``members`` U-Nets side by side on the same L; the output is the mean of their ab + 128."""
    keras = _keras()
    inp = keras.Input((None, None, 1), name="L")
    outs = []
    for i in range(config.members):
        member = _build_ours(config.member(i), name=f"member{i + 1}")  # nested models need unique names
        outs.append(member(inp))  # (N, h, w, 2) each
    out = keras.layers.Average(name="mean")(outs)  # (N, h, w, 2), ab + 128
    return keras.Model(inp, out, name="ours_ensemble")


def _build_gated(config: CNNConfig):
    """A specialist (``member1``) and a generalist (``member2``) U-Net, weighed per photo by a scene gate.

    Output: ``p * member1 + (1 - p) * member2`` (ab + 128), where ``p`` = :func:`_build_gate`'s
    probability that the photo is of the scenario the model is for: a photo of it gets the
    specialist's colours, any other photo the generalist's.
    """
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((None, None, 1), name="L")
    spec = _build_ours(config.member(0), name="member1")(inp)  # (N, h, w, 2), ab + 128
    gen = _build_ours(config.member(1), name="member2")(inp)  # (N, h, w, 2)
    p = layers.Reshape((1, 1, 1), name="p_own")(_build_gate()(inp))  # (N, 1, 1, 1)
    q = layers.Rescaling(-1.0, offset=1.0, name="p_other")(p)  # 1 - p
    out = layers.Add(name="blend")([layers.Multiply(name="own")([spec, p]), layers.Multiply(name="other")([gen, q])])
    return keras.Model(inp, out, name="ours_gated")


def _build_conditioned(config: CNNConfig):
    """One U-Net (``member1``) told, per photo, the scene gate's probability ``p`` that the photo is of its scenario.

    Trained with ``c = 1`` on crops of the scenario's own photos (a specialist's data) and ``c = 0`` on crops
    drawn with ``mix`` (a generalist's), it is one network in two roles; at prediction ``c = p``. It has the
    parameters of one U-Net, plus its FiLM layers (see :func:`_build_ours`) and the gate's 153.
    """
    keras = _keras()
    inp = keras.Input((None, None, 1), name="L")
    p = _build_gate()(inp)  # (N, 1)
    unet = _build_ours(config, name="member1", condition=True)
    out = unet([inp, p] + _positions(config.position, inp))  # (N, h, w, 2), ab + 128
    return keras.Model(inp, out, name="ours_conditioned")


def _build_told(config: CNNConfig):
    """``members`` conditioned U-Nets (``member1``, ...), each told the one scene gate's ``p``; the mean of their a/b.

    Round 16: two conditioned U-Nets of widths 16 and 12, fine-tuned from the two members of ``scenes``,
    beat one by about a point in cross-validation (docs/CNN.md). Each member is what
    :func:`_build_conditioned` holds; the gate is shared.
    """
    keras = _keras()
    inp = keras.Input((None, None, 1), name="L")
    p = _build_gate()(inp)  # (N, 1)
    pos = _positions(config.position, inp)  # [] or [(N, h, w, 2)]
    outs = []
    for i in range(config.members):
        member = _build_ours(config.member(i), name=f"member{i + 1}", condition=True)
        outs.append(member([inp, p] + pos))  # (N, h, w, 2) each, ab + 128
    out = keras.layers.Average(name="mean")(outs)  # (N, h, w, 2)
    return keras.Model(inp, out, name="ours_conditioned_ensemble")


def _own_view(conditioned):
    """A conditioned U-Net (inputs L / 100, c and any positions) as a one-input model told ``c = 1``: its specialist."""
    keras = _keras()
    layers = keras.layers
    inp = keras.Input((None, None, 1), name="L")
    ones = layers.Rescaling(0.0, offset=1.0)(layers.GlobalAveragePooling2D()(inp))  # (N, 1) of ones
    return keras.Model(inp, conditioned([inp, ones] + _positions(len(conditioned.inputs) == 3, inp)))


def _positions(position: bool, inp) -> list:
    """``[PositionMaps of inp]`` (N, h, w, 2) for U-Nets that see positions (``CNNConfig.position``), else ``[]``.

    At prediction the input is the whole photo (padded to a multiple of 8 by :func:`_forward`, a few rows
    and columns that shift the maps by under 8 px), so the maps are the pixels' positions in the photo.
    """
    return [_LAYERS["PositionMaps"](name="positions")(inp)] if position else []


#: The gate's feature set: part of a gated model's cache key, so a change of features is never served from the cache.
#: 2: block means, soft histogram and texture (1, never released: without texture).
GATE_VERSION = 2

#: The gate's histogram levels (of L / 100) and their softness: sigmoid((x - level) / softness).
GATE_LEVELS = tuple(float(v) for v in np.linspace(0.05, 0.95, 16))
GATE_SOFTNESS = 0.05


def _build_gate(name: str = "gate"):
    """The scene gate: a logistic regression on fixed features of the photo's lightness.

    Input L / 100, ``(N, h, w, 1)``, any size; it is squashed to 64 x 64 (the report's view).
    Features (84): the 8 x 8 block means (where the light and the dark are), a soft
    cumulative histogram (the share of pixels above each of :data:`GATE_LEVELS`) and the
    texture (the mean rising and falling horizontal and vertical differences).
    Output ``(N, 1)``: the probability that the photo is of the model's scenario.
    The feature layers are fixed; ``gate_p`` is fitted by :func:`_fit_gate`.
    """
    keras = _keras()
    layers = keras.layers
    k = len(GATE_LEVELS)
    inp = keras.Input((None, None, 1), name="L")
    x = layers.Resizing(REPORT_SIZE, REPORT_SIZE, antialias=True, name="gate_view")(inp)  # (N, 64, 64, 1)
    layout = layers.Flatten(name="gate_layout")(layers.AveragePooling2D(8, name="gate_blocks")(x))  # (N, 64)
    above = layers.Conv2D(k, 1, activation="sigmoid", trainable=False, name="gate_levels")(x)  # (N, 64, 64, k)
    hist = layers.GlobalAveragePooling2D(name="gate_hist")(above)  # (N, k)
    # (N, 62, 62, 4): rectified differences, rising and falling, along x and y
    edges = layers.Conv2D(4, 3, activation="relu", use_bias=False, trainable=False, name="gate_edges")(x)
    texture = layers.GlobalAveragePooling2D(name="gate_texture")(edges)  # (N, 4): mean rising/falling d/dx, d/dy
    feats = layers.Concatenate(name="gate_features")([layout, hist, texture])  # (N, 84)
    p = layers.Dense(1, activation="sigmoid", name="gate_p")(feats)  # (N, 1)
    model = keras.Model(inp, p, name=name)
    levels = np.asarray(GATE_LEVELS, np.float32)
    model.get_layer("gate_levels").set_weights(
        [np.full((1, 1, 1, k), 1.0 / GATE_SOFTNESS, np.float32), -levels / GATE_SOFTNESS]
    )
    d = np.zeros((3, 3, 1, 4), np.float32)  # central differences: +d/dx, -d/dx, +d/dy, -d/dy
    d[1, 2, 0, 0], d[1, 0, 0, 0] = 0.5, -0.5
    d[2, 1, 0, 2], d[0, 1, 0, 2] = 0.5, -0.5
    d[..., 1], d[..., 3] = -d[..., 0], -d[..., 2]
    model.get_layer("gate_edges").set_weights([d])
    return model


def gated_model(specialist, generalist, dataset, config: CNNConfig):
    """Join two trained U-Nets and a scene gate fitted on a dataset's training photos (see ``CNNConfig.gate``).

    Parameters
    ----------
    specialist, generalist : keras.Model
        Single U-Nets built with ``config``'s architecture (``context``; widths ``config.member_width(0)``
        and ``config.member_width(1)``): member 1 and member 2.
    dataset : core.datasets.PhotoDataset
        Several scenarios (``groups``); the gate learns to tell ``config.focus``'s training photos from the others'.
    config : CNNConfig
        With ``gate=True``.

    Returns
    -------
    model : keras.Model
        Output ``p * specialist + (1 - p) * generalist`` (ab + 128), ``p`` the gate's per-photo probability.
    gate : dict
        What the gate was fitted on, and its accuracy on those photos (for the model card).
    """
    model = _assemble(config, [specialist, generalist])
    return model, _fit_gate(model, dataset, config.focus)


def _assemble(config: CNNConfig, members: list):
    """``build_model(config)`` (an ensemble or a gated pair) holding trained U-Nets as ``member1``, ``member2``, ..."""
    model = build_model(config)
    for k, m in enumerate(members, start=1):
        model.get_layer(f"member{k}").set_weights(m.get_weights())
    return model


def _fit_gate(model, dataset, focus: str) -> dict:
    """Fit the gate of a gated model on the training photos of every scenario: is it ``focus``?

    A logistic regression (scikit-learn, C = 1, on standardised features) on the 64 x 64
    training photos and their mirror images; the standardisation is folded into ``gate_p``.
    Returns a summary for the model card.
    """
    from sklearn.linear_model import LogisticRegression

    keras = _keras()
    gate = model.get_layer("gate")
    features = keras.Model(gate.input, gate.get_layer("gate_features").output)
    L, _ = dataset.arrays("train", REPORT_SIZE)  # (N, 64, 64, 1), L in [0, 100]
    x = np.concatenate([L, L[:, :, ::-1]]) / 100.0  # (2N, 64, 64, 1): the photos and their mirror images
    groups = np.array([dataset.groups[i] for i in dataset.train_idx])
    y = np.concatenate([groups, groups]) == focus  # (2N,) bool
    if y.all() or not y.any():
        raise ValueError(f"the gate needs training photos of {focus!r} and of other scenarios")
    f = keras.ops.convert_to_numpy(features(x, training=False)).astype(np.float64)  # (2N, 84)
    mu, sd = f.mean(axis=0), f.std(axis=0) + 1e-6
    clf = LogisticRegression(C=1.0, max_iter=5000).fit((f - mu) / sd, y)
    w = clf.coef_[0] / sd  # (84,): the weights on raw features
    b = clf.intercept_[0] - float(np.sum(clf.coef_[0] * mu / sd))
    gate.get_layer("gate_p").set_weights([w[:, None].astype(np.float32), np.array([b], np.float32)])
    p = 1.0 / (1.0 + np.exp(-(f @ w + b)))  # (2N,): the folded gate's output on these photos
    return {
        "focus": focus,
        "features": f"8x8 block means, a soft histogram ({len(GATE_LEVELS)} levels) and the mean |dx|, |dy| of L at 64x64",
        "fit": "logistic regression, C=1, standardised features, training photos and their mirror images",
        "photos": {"focus": int(y.sum() // 2), "other": int((~y).sum() // 2)},
        "train_accuracy": float(np.mean((p > 0.5) == y)),
    }


def _build_report(config: CNNConfig):
    keras = _keras()
    layers = keras.layers
    s = config.size
    inp = keras.Input((s, s, 1), name="L")
    x = layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1")(inp)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(2048, activation="relu", name="dense1")(x)
    x = layers.Dense(4096, activation="relu", name="dense2")(x)
    x = layers.Dropout(config.dropout, name="dropout")(x)
    x = layers.Dense(s * s * 2, activation="sigmoid", name="ab")(x)  # (N, 2*s*s): all a, then all b
    out = layers.Rescaling(255.0, name="times255")(x)  # ab + 128 in [0, 255]
    return keras.Model(inp, out, name="report")


def _build_ours(config: CNNConfig, name: str = "ours", condition: bool = False):
    """Our U-Net: input L / 100 ``(N, h, w, 1)``, output ab + 128 ``(N, h, w, 2)`` (or 2K logits for ``bins``).

    With ``condition`` it takes a second input ``c``, ``(N, 1)`` in [0, 1], and each of its 7 blocks ends
    in FiLM (feature-wise linear modulation): ``x * (1 + g c) + b c``, with ``g`` and ``b`` learnt per
    channel and zero at the start, so a U-Net loaded into it is unchanged until fine-tuning teaches it
    what ``c`` means (:func:`_build_conditioned`).

    With ``condition`` and ``config.position`` it takes a third input, ``pos`` ``(N, h, w, 2)``: where each
    pixel sits in the photo (:func:`crop_position_maps`; CoordConv, Liu et al. 2018). Each block's first
    convolution gets, before its ReLU, a 1x1 convolution of the maps average-pooled to the block's
    resolution (``<block>_pos``, no bias, zero at the start, so again the start is unchanged).
    """
    keras = _keras()
    layers = keras.layers
    w = config.width
    inp = keras.Input((None, None, 1), name="L")  # any size, a multiple of 8 (predict_ab pads)
    c = keras.Input((1,), name="c") if condition else None
    c4 = layers.Reshape((1, 1, 1), name="c_map")(c) if condition else None  # (N, 1, 1, 1)
    pos = keras.Input((None, None, 2), name="pos") if condition and config.position else None
    pooled = {}  # downsampling factor -> the position maps at that resolution, (N, h/k, w/k, 2)
    if pos is not None:
        pooled = {1: pos, **{k: layers.AveragePooling2D(k, name=f"pos_pool{k}")(pos) for k in (2, 4, 8)}}

    def block(x, filters, name, down=1):
        if pos is None:
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_a")(x)
        else:  # the same convolution, plus the positions' 1x1 convolution before the ReLU
            x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_a")(x)
            q = layers.Conv2D(filters, 1, use_bias=False, kernel_initializer="zeros", name=f"{name}_pos")(pooled[down])
            x = layers.ReLU(name=f"{name}_a_relu")(layers.Add(name=f"{name}_a_pos")([x, q]))
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_b")(x)
        if condition:
            zeros = {"use_bias": False, "kernel_initializer": "zeros"}
            g = layers.Dense(filters, name=f"{name}_film_g", **zeros)(c4)  # (N, 1, 1, filters): g c
            b = layers.Dense(filters, name=f"{name}_film_b", **zeros)(c4)  # (N, 1, 1, filters): b c
            scale = layers.Rescaling(1.0, offset=1.0, name=f"{name}_film_1g")(g)  # 1 + g c
            x = layers.Add(name=f"{name}_film")([layers.Multiply(name=f"{name}_film_x")([x, scale]), b])
        return x

    e1 = block(inp, w, "enc1")  # (h, w)
    e2 = block(layers.MaxPooling2D(2, name="pool1")(e1), 2 * w, "enc2", 2)  # (h/2, w/2)
    e3 = block(layers.MaxPooling2D(2, name="pool2")(e2), 4 * w, "enc3", 4)  # (h/4, w/4)
    b = block(layers.MaxPooling2D(2, name="pool3")(e3), 8 * w, "bottleneck", 8)  # (h/8, w/8)
    if config.context:  # whole-image context (the scene's light and colour cast), added at every position
        g = layers.GlobalAveragePooling2D(keepdims=True, name="context_pool")(b)  # (1, 1, 8w)
        g = layers.Dense(8 * w, activation="relu", name="context_dense1")(g)
        g = layers.Dense(8 * w, name="context_dense2")(g)
        b = layers.Add(name="context_add")([b, g])  # broadcast over (h/8, w/8)
    d3 = block(layers.Concatenate(name="skip3")([layers.UpSampling2D(2, name="up3")(b), e3]), 4 * w, "dec3", 4)
    d2 = block(layers.Concatenate(name="skip2")([layers.UpSampling2D(2, name="up2")(d3), e2]), 2 * w, "dec2", 2)
    d1 = block(layers.Concatenate(name="skip1")([layers.UpSampling2D(2, name="up1")(d2), e1]), w, "dec1")
    inputs = ([inp, c] + ([pos] if pos is not None else [])) if condition else inp
    if config.loss == "bins":  # classification: K logits for a, then K for b, per pixel
        out = layers.Conv2D(2 * int(config.bins), 1, name="ab_logits")(d1)  # (h, w, 2K)
        return keras.Model(inputs, out, name=name)
    x = layers.Conv2D(2, 1, name="ab")(d1)  # (h, w, 2), ab / 128
    out = layers.Rescaling(AB_OFFSET, offset=AB_OFFSET, name="to_target")(x)  # ab + 128
    return keras.Model(inputs, out, name=name)


def count_parameters(model) -> int:
    """Total number of parameters (trainable and not) of a Keras model."""
    return int(sum(int(np.prod(v.shape)) for v in model.weights))


def describe(arch: str = "ours", config: CNNConfig | None = None) -> dict:
    """Layer table and parameter count of an architecture.

    Parameters
    ----------
    arch : {"report", "ours"}
    config : CNNConfig, optional
        Defaults to ``CNNConfig(arch=arch)``.

    Returns
    -------
    dict with ``arch`` (str), ``parameters`` (int), ``input`` (str) and ``layers``:
        a list of ``{"name", "type", "output_shape", "parameters"}`` in order
        (``output_shape`` a list, ``None`` for free dimensions).
    """
    config = config or CNNConfig(arch=arch)
    model = build_model(config)
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = list(shape.shape) if shape is not None else None
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": shape,
                "parameters": int(layer.count_params()) if layer.built else 0,
            }
        )
    return {
        "arch": config.arch,
        "parameters": count_parameters(model),
        "input": "L / 100, (N, 64, 64, 1)" if config.arch == "report" else "L / 100, (N, h, w, 1), any size",
        "layers": rows,
    }


# --------------------------------------------------------------------------- prediction


def _is_report(model) -> bool:
    return len(model.output.shape) == 2


def _resize_float(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased when shrinking) resize of a (h, w) float array to (H, W) float32, via Pillow.

    A (h, w, C) array is resized channel by channel to (H, W, C).
    """
    from PIL import Image

    if arr.ndim == 3:
        return np.stack([_resize_float(arr[..., c], size_hw) for c in range(arr.shape[-1])], axis=-1)
    h, w = size_hw
    if arr.shape == (h, w):
        return arr.astype(np.float32)
    im = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def predict_ab(model, lightness, *, batch_size: int = 16, flip: bool | None = None) -> np.ndarray:
    """Predict a/b from lightness, for either architecture.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_model`, :func:`train_cnn` or :func:`load_model`.
    lightness : (N, h, w, 1), (N, h, w) or (h, w) float, L in [0, 100]
        ``report`` needs h = w = 64 (its fixed input); ``ours`` takes any size.
    batch_size : int
    flip : bool, optional
        Test-time flip averaging: also predict the mirror image of each photo, mirror that prediction
        back and average the two (for ``loss="bins"``, their probabilities). Left-right mirroring is a
        symmetry ``ours`` is trained with, so this removes part of the model's noise at twice the cost.
        Default: on for ``ours``, off for the report's network (its dense head has no such symmetry;
        it is reproduced as it was).

    Returns
    -------
    ab : float32, (N, h, w, 2) (or (h, w, 2) for a single (h, w) input), a/b units
    """
    L = np.asarray(lightness, dtype=np.float32)
    single = L.ndim == 2
    if single:
        L = L[None]
    if L.ndim == 3:
        L = L[..., None]
    if L.ndim != 4 or L.shape[-1] != 1:
        raise ValueError(
            f"lightness must be (N, h, w, 1), (N, h, w) or (h, w); got shape {np.asarray(lightness).shape}"
        )
    report = _is_report(model)
    if report:
        side = model.input.shape[1]
        if L.shape[1:3] != (side, side):
            raise ValueError(
                f"the report's network takes {side}x{side} L; got {L.shape[2]}x{L.shape[1]} "
                "(resize first, or use colorize())"
            )
    x = L / 100.0  # (N, h, w, 1) in [0, 1]
    views = [x, x[:, :, ::-1]] if (_flip_default(model) if flip is None else flip) else [x]
    outs = [_forward(model, v, batch_size, report) for v in views]  # (N, h, w, C) each: ab + 128, or 2K logits
    outs[1:] = [y[:, :, ::-1] for y in outs[1:]]  # the mirror image's prediction, mirrored back
    if outs[0].shape[-1] != 2:  # a "bins" model: average the probabilities, then decode
        y = _decode_probs(np.mean([_bin_probs(y) for y in outs], axis=0))  # (N, h, w, 2) ab + 128
    else:
        y = np.mean(outs, axis=0)  # (N, h, w, 2) ab + 128
    ab = (y - AB_OFFSET).astype(np.float32)
    return ab[0] if single else ab


def detail_side(size: int = REPORT_SIZE) -> int:
    """The shorter side, in px, of the detail view ``ours`` is scored from at ``size x size`` (96 for 64)."""
    return round(DETAIL_RATIO * size)


def predict_scored_ab(model, lightness, detail=None, *, batch_size: int = 16) -> np.ndarray:
    """a/b of photos at the scoring view: the squashed view, averaged with a detail view for ``ours``.

    Parameters
    ----------
    model : keras.Model
    lightness : (N, s, s, 1) float, L in [0, 100]
        The photos squashed to the scoring size (``PhotoDataset.arrays``).
    detail : sequence of N (h_i, w_i, 1) float, L in [0, 100], optional
        The same photos with their aspect kept, larger (``PhotoDataset.lightness``, shorter side
        :func:`detail_side`). Ignored for the report's network, whose input size is fixed.

    Returns
    -------
    ab : (N, s, s, 2) float32, a/b units. Without ``detail`` (or for the report's network) this is
        :func:`predict_ab` of ``lightness``; with it, the mean of that and of each photo's detail
        prediction resized (bilinear, antialiased) to s x s.
    """
    ab = predict_ab(model, lightness, batch_size=batch_size)  # (N, s, s, 2)
    if detail is None or _is_report(model):
        return ab
    if len(detail) != len(ab):
        raise ValueError(f"detail has {len(detail)} photos, lightness {len(ab)}")
    return ((ab + predict_detail_ab(model, detail, ab.shape[1:3], batch_size=batch_size)) / 2).astype(np.float32)


def predict_detail_ab(model, detail, size_hw: tuple[int, int], *, batch_size: int = 16) -> np.ndarray:
    """``ours``' a/b from each photo's detail view, resized to the scoring size.

    Parameters
    ----------
    model : keras.Model (``ours``)
    detail : sequence of N (h_i, w_i, 1) float, L in [0, 100]; sizes may differ
    size_hw : (s_h, s_w), the scoring size

    Returns
    -------
    ab : (N, s_h, s_w, 2) float32, a/b units (:func:`predict_ab`, flip-averaged, then bilinear, antialiased)
    """
    out = np.empty((len(detail), *size_hw, 2), np.float32)
    by_shape: dict[tuple, list[int]] = {}
    for i, d in enumerate(detail):  # photos of one shape are predicted in one batch
        by_shape.setdefault(np.shape(d), []).append(i)
    for idx in by_shape.values():
        pred = predict_ab(model, np.stack([detail[i] for i in idx]), batch_size=batch_size)  # (n, h, w, 2)
        for i, p in zip(idx, pred):
            out[i] = _resize_float(p, size_hw)
    return out


def _flip_default(model) -> bool:
    """Whether :func:`predict_ab` averages with the mirror image by default: ``ours`` yes, the report's network no."""
    return not _is_report(model)


def _forward(model, x, batch_size: int, report: bool) -> np.ndarray:
    """The model's raw output for ``x = L / 100`` (N, h, w, 1), as (N, h, w, C) float32.

    ``ours`` is padded (symmetric) to a multiple of 8 and cropped back; the report's flat output
    (all a, then all b) is reshaped to (N, 64, 64, 2).
    """
    keras = _keras()
    n, h, w, _ = x.shape
    if not report:
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="symmetric")
    x = np.ascontiguousarray(x)
    outs = [keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False)) for i in range(0, n, batch_size)]
    y = np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)
    if report:
        return y.reshape(n, 2, h, w).transpose(0, 2, 3, 1)  # all a then all b -> (N, h, w, 2)
    return y[:, :h, :w, :]


def bin_centres(bins: int) -> np.ndarray:
    """Centres of ``bins`` equal bins of ab + 128 over [0, 256): (bins,) float64."""
    width = 256.0 / bins
    return (np.arange(bins) + 0.5) * width


@lru_cache(maxsize=8)
def _window_matrix(bins: int, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates (C,) and the share of each bin within ``tolerance`` of each candidate, (C, bins).

    Mass is taken as spread evenly over its bin, so the share is the overlap of
    ``[v - tolerance, v + tolerance]`` with the bin, over the bin's width.
    """
    width = 256.0 / bins
    cand = np.arange(0.0, 256.0, 0.5)  # (C,) candidate values of ab + 128
    lo = np.arange(bins) * width  # (K,) bin edges
    overlap = np.minimum(cand[:, None] + tolerance, lo + width) - np.maximum(cand[:, None] - tolerance, lo)
    return cand, (np.clip(overlap, 0.0, None) / width).astype(np.float32)  # (C, K)


def decode_bins(logits, *, tolerance: float = TOLERANCE) -> np.ndarray:
    """Turn per-channel bin logits into the a/b value most likely to be within ``tolerance`` of the truth.

    For each pixel and channel the predicted distribution ``p`` over the bins is
    softmax(logits); the returned value ``v`` maximises the expected report
    accuracy ``P(|truth - v| <= tolerance)``, i.e. the Bayes decision for the
    report's metric (the mode of ``p`` smoothed by the +-10 window, not its mean,
    which falls between the modes of a two-coloured scene).

    Parameters
    ----------
    logits : (..., 2K) float, K logits for a then K for b (ab + 128 over [0, 256))
    tolerance : float, a/b units

    Returns
    -------
    (..., 2) float32, ab + 128
    """
    return _decode_probs(_bin_probs(logits), tolerance)


def _bin_probs(logits) -> np.ndarray:
    """Per-channel softmax of (..., 2K) bin logits: (..., 2, K) probabilities."""
    z = np.asarray(logits, dtype=np.float32)
    k = z.shape[-1] // 2
    z = z.reshape(z.shape[:-1] + (2, k))  # (..., 2, K)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def _decode_probs(p, tolerance: float = TOLERANCE) -> np.ndarray:
    """:func:`decode_bins` from (..., 2, K) bin probabilities: (..., 2) float32, ab + 128."""
    cand, share = _window_matrix(p.shape[-1], float(tolerance))  # (C,), (C, K)
    best = np.argmax(p @ share.T, axis=-1)  # (..., 2): expected accuracy of every candidate, argmax
    return cand[best].astype(np.float32)


def colorize_lab(model, rgb, *, working_size: int | None = None, flip: bool | None = None) -> np.ndarray:
    """Colorize a photo at full resolution, in CIELAB, keeping its exact L.

    1. L of the photo is scaled to the working resolution (``report``: 64 x 64;
       ``ours``: longest side ``working_size``, aspect kept);
    2. a/b are predicted there and upsampled (bilinear) to the photo's size;
    3. they are joined with the photo's own L, unchanged.

    Parameters
    ----------
    model : keras.Model
    rgb : (H, W, 3) uint8 RGB (its colours are ignored), (H, W) gray, or anything
        :func:`core.images.check_image` accepts
    working_size : int, optional
        ``ours`` only; default 96 (near the 64-px training crops, which worked best).
    flip : bool, optional
        Flip averaging, as in :func:`predict_ab` (default: on for ``ours``); ``False`` runs the
        network once instead of twice.

    Returns
    -------
    lab : (H, W, 3) float64; ``lab[..., 0]`` equals ``core.color.rgb2lab(rgb)[..., 0]`` exactly
    """
    rgb = check_image(rgb, name="photo to colorize")
    H, W = rgb.shape[:2]
    L = rgb2lab(rgb)[..., 0]  # (H, W) float64 in [0, 100], kept exactly
    if _is_report(model):
        side = model.input.shape[1]
        h, w = side, side
    else:
        ws = int(working_size or CNNConfig().working_size)
        scale = min(1.0, ws / max(H, W))
        h, w = max(8, round(H * scale)), max(8, round(W * scale))
    L_small = _resize_float(L, (h, w))  # (h, w)
    ab_small = predict_ab(model, L_small, flip=flip)  # (h, w, 2)
    ab = _resize_float(ab_small, (H, W))  # (H, W, 2)
    return merge_l_ab(L, ab)


def colorize(model, rgb, *, working_size: int | None = None, flip: bool | None = None) -> np.ndarray:
    """Colorize a photo at full resolution.

    Parameters
    ----------
    model : keras.Model
        From :func:`load_model` (e.g. ``load_model("beach")``) or :func:`train_cnn`.
    rgb : (H, W, 3) uint8 or (H, W) gray uint8 (any size up to the image limits)
    working_size, flip : optional
        See :func:`colorize_lab`.

    Returns
    -------
    (H, W, 3) uint8 RGB, the input's size; its L is the input's (up to RGB rounding and gamut clipping).
    """
    return lab2uint8(colorize_lab(model, rgb, working_size=working_size, flip=flip))


# --------------------------------------------------------------------------- evaluation


def _image_scores(ab_pred, ab_true, L) -> tuple[dict, np.ndarray, np.ndarray]:
    rgb_pred = lab2uint8(merge_l_ab(L, ab_pred))
    rgb_true = lab2uint8(merge_l_ab(L, ab_true))
    scores = lab_scores(ab_pred, ab_true, rgb_pred, rgb_true)
    del scores["curve"]  # per-image tables stay small and JSON-able
    return scores, rgb_pred, rgb_true


def baselines_from_card(card: dict) -> dict[str, Baseline] | None:
    """The baselines stored in a model card (fitted on the model's training data), or None."""
    tables = (card or {}).get("baselines_ab")
    if not tables:
        return None
    return {
        "gray": Baseline("gray", "ab", np.zeros((256, 2))),
        "mean": Baseline("mean", "ab", np.tile(np.asarray(tables["mean"], np.float64), (256, 1))),
        "lookup": Baseline("lookup", "ab", np.asarray(tables["lookup"], np.float64)),
    }


def _baseline_tables(baselines: dict[str, Baseline]) -> dict:
    return {
        "mean": [round(float(v), 4) for v in baselines["mean"].table[0]],
        "lookup": [[round(float(a), 4), round(float(b), 4)] for a, b in baselines["lookup"].table],
    }


def evaluate(
    model,
    dataset,
    *,
    split: str = "test",
    size: int = REPORT_SIZE,
    baselines: dict[str, Baseline] | None = None,
    detail: bool = True,
) -> dict:
    """Score a model and the baselines on one part of a dataset, at a working size.

    Every photo is resized to ``size x size`` (the report's 64 x 64), and everything is
    scored there. The model predicts a/b from L; each baseline predicts a/b from gray.
    ``ours`` also reads each photo at a larger size with its aspect kept, and its two
    predictions are averaged (:func:`predict_scored_ab`). Predictions are joined with the
    true L for the image scores.

    Parameters
    ----------
    model : keras.Model, or None to score the baselines only
    dataset : core.datasets.PhotoDataset
    split : {"test", "train", "all"}
    size : int
    baselines : dict name -> Baseline, optional
        Default: fitted on the dataset's training part at the same size (the
        report's rule: baselines see the model's training data).
    detail : bool, default True
        Score ``ours`` from the squashed view and the detail view (shorter side
        :func:`detail_side` of ``size``), averaged; ``False``: the squashed view only, as rounds
        2-17 of docs/CNN.md were scored. No effect on the report's network or the baselines.

    Returns
    -------
    dict with

    ``aggregate``: ``{predictor: {"accuracy", "auc", "psnr", "ssim", "colorfulness"}}`` for
        ``"model"`` (when given), ``"gray"``, ``"mean"``, ``"lookup"``; accuracy and AuC are
        pooled over all pixels (every photo has the same size), PSNR/SSIM/colorfulness are
        per-photo means; plus ``"truth": {"colorfulness"}``. Accuracy and AuC are fractions in [0, 1].
    ``per_image``: a list of ``{"name", predictor: {...}}``.
    ``best_baseline``: the baseline with the highest accuracy.
    ``split``, ``size``, ``n``, and ``detail_side`` (px, or None when only the squashed view was used).
    """
    if baselines is None:
        g_tr, ab_tr = dataset.gray_ab("train", size)
        if len(g_tr) == 0:
            raise ValueError("the dataset has no training part to fit the baselines on; pass baselines=")
        baselines = fit_ab_baselines(g_tr, ab_tr)
    L, ab_true = dataset.arrays(split, size)  # (N, s, s, 1), (N, s, s, 2)
    gray, _ = dataset.gray_ab(split, size)  # (N, s, s) uint8
    if len(L) == 0:
        raise ValueError(f"the dataset's {split!r} part is empty")
    preds = {}
    side = detail_side(size) if detail and model is not None and not _is_report(model) else None
    if model is not None:
        preds["model"] = predict_scored_ab(model, L, dataset.lightness(split, side) if side else None)
    for name in BASELINES:
        preds[name] = baselines[name].predict(gray).astype(np.float32)
    names = dataset.part_names(split)
    per_image = [{"name": n} for n in names]
    agg = {}
    for pred_name, ab_pred in preds.items():
        scores = []
        for i in range(len(L)):
            s, _, _ = _image_scores(ab_pred[i], ab_true[i], L[i, ..., 0])
            per_image[i][pred_name] = s
            scores.append(s)
        agg[pred_name] = {
            "accuracy": report_accuracy(ab_pred, ab_true),
            "auc": auc(acc_curve(ab_pred, ab_true)),
            "psnr": float(np.mean([s["psnr"] for s in scores])),
            "ssim": float(np.mean([s["ssim"] for s in scores])),
            "colorfulness": float(np.mean([s["colorfulness"] for s in scores])),
        }
    truth_cf = [colorfulness(lab2uint8(merge_l_ab(L[i, ..., 0], ab_true[i]))) for i in range(len(L))]
    agg["truth"] = {"colorfulness": float(np.mean(truth_cf))}
    best = max(BASELINES, key=lambda b: agg[b]["accuracy"])
    return {
        "split": split,
        "size": int(size),
        "n": len(L),
        "detail_side": side,
        "aggregate": agg,
        "per_image": per_image,
        "best_baseline": best,
    }


# --------------------------------------------------------------------------- training data


#: Threads that prepare training batches ahead (Keras' ordered enqueuer; batch ``idx`` depends only on ``idx``
#: and the seed, so the batches and the trained weights are the same for any count). With 1, Keras feeds
#: ``fit`` through a tf.data prefetch thread instead, and destroying that thread's iterator at the end of
#: ``fit`` stalled for 35-45 s in about one two-member training in four here (py-spy: the main thread waiting
#: in ``~IteratorResource`` for that thread); with 2, none stalled in 8 member trainings.
BATCH_WORKERS = 2


@lru_cache(maxsize=1)
def _batch_classes():
    keras = _keras()

    class ReportBatches(keras.utils.PyDataset):
        """Whole photos at 64 x 64, in a fresh seeded order each pass (no augmentation, as in the report)."""

        def __init__(self, L, ab, batch_size, steps, seed):
            super().__init__(workers=BATCH_WORKERS, use_multiprocessing=False)
            self.x = L / 100.0  # (N, s, s, 1)
            n, s = ab.shape[0], ab.shape[1]
            self.y = ab.transpose(0, 3, 1, 2).reshape(n, 2 * s * s) + AB_OFFSET  # (N, 2*s*s): all a, then all b
            self.bs, self.steps, self.seed = batch_size, steps, seed

        def __len__(self):
            return self.steps

        @lru_cache(maxsize=4)  # noqa: B019 - a few permutations per dataset object
        def _perm(self, k):
            return np.random.default_rng((self.seed, k)).permutation(len(self.x))

        def __getitem__(self, idx):
            n = len(self.x)
            sel = [self._perm(j // n)[j % n] for j in range(idx * self.bs, (idx + 1) * self.bs)]
            return self.x[sel].astype(np.float32), self.y[sel].astype(np.float32)

    class OursBatches(keras.utils.PyDataset):
        """Random crops of rescaled photos (several scales, plus the squashed size x size view) with flips.

        With ``told = (own_weights, n_own)`` (a conditioned U-Net) the first ``n_own`` crops of each batch are
        drawn with ``own_weights`` and told ``c = 1``, the others with ``weights`` and told ``c = 0``; a batch
        is then ``((L / 100, c), ab + 128)``, or with ``position`` ``((L / 100, c, pos), ab + 128)``, ``pos``
        ``(bs, size, size, 2)`` saying where each crop's pixels sat in their view (:func:`crop_position_maps`).
        """

        def __init__(self, views, batch_size, steps, seed, size, flip, weights=None, told=None, position=False):
            super().__init__(workers=BATCH_WORKERS, use_multiprocessing=False)
            self.views = views  # list per photo of list of (h, w, 3) float32 Lab
            self.bs, self.steps, self.seed, self.size, self.flip = batch_size, steps, seed, size, flip
            self.weights = weights  # (n_photos,) sampling probabilities, or None (uniform)
            self.told = told
            self.position = position

        def __len__(self):
            return self.steps

        def __getitem__(self, idx):
            rng = np.random.default_rng((self.seed, 1, idx))
            s = self.size
            out = np.empty((self.bs, s, s, 3), np.float32)
            pos = np.empty((self.bs, s, s, 2), np.float32) if self.position else None
            n_own = self.told[1] if self.told else 0
            for j in range(self.bs):
                weights = self.told[0] if j < n_own else self.weights
                if weights is None:
                    photo = self.views[rng.integers(len(self.views))]
                else:
                    photo = self.views[rng.choice(len(self.views), p=weights)]
                lab = photo[rng.integers(len(photo))]
                y0 = rng.integers(lab.shape[0] - s + 1)
                x0 = rng.integers(lab.shape[1] - s + 1)
                crop = lab[y0 : y0 + s, x0 : x0 + s]
                flipped = self.flip and rng.random() < 0.5
                out[j] = crop[:, ::-1] if flipped else crop
                if pos is not None:
                    pos[j] = crop_position_maps(*lab.shape[:2], y0, x0, s, s, flipped)
            if self.told:
                c = (np.arange(self.bs) < n_own).astype(np.float32)[:, None]  # (bs, 1): 1 for the own crops
                x = (out[..., :1] / 100.0, c) + ((pos,) if pos is not None else ())
                return x, out[..., 1:] + AB_OFFSET
            return out[..., :1] / 100.0, out[..., 1:] + AB_OFFSET

    return ReportBatches, OursBatches


def _ours_views(dataset, config: CNNConfig) -> list:
    """Per training photo: Lab at each scale (shorter side = scale, aspect kept) and squashed to size x size."""
    from .images import resize

    views = []
    for im in dataset.part("train"):
        h, w = im.shape[:2]
        per = [rgb2lab(resize(im, (config.size, config.size))).astype(np.float32)]
        for sc in config.scales:
            f = sc / min(h, w)
            per.append(rgb2lab(resize(im, (max(sc, round(h * f)), max(sc, round(w * f))))).astype(np.float32))
        views.append(per)
    return views


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    """What :func:`train_cnn` / :func:`train_or_load` return.

    Attributes
    ----------
    model : keras.Model
    config : CNNConfig
    card : dict
        The model card (see :func:`train_cnn`).
    history : list of dict
        The progress events, in order.
    seconds : float
        Training wall time (0 for a cache hit; the card keeps the original time).
    stopped : bool
        True when a stop request ended training early.
    from_cache : bool
    cache_path : Path or None
        The ``.keras`` file in the cache.
    message : str
        A human summary (cache hit, corrupt cache file retrained, stopped at step k...).
    """

    model: object
    config: CNNConfig
    card: dict
    history: list = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    from_cache: bool = False
    cache_path: Path | None = None
    message: str = ""


def _device() -> str:
    keras = _keras()
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


def _versions() -> dict:
    keras = _keras()
    v = {"python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__}
    v["backend"] = keras.backend.backend()
    if v["backend"] == "tensorflow":
        import tensorflow as tf

        v["tensorflow"] = tf.__version__
    elif v["backend"] == "jax":
        import jax

        v["jax"] = jax.__version__
    return v


def _default_strategy():
    """MirroredStrategy when TensorFlow sees more than one GPU, else None."""
    keras = _keras()
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return None


#: Class rebalancing (Zhang, Isola and Efros 2016, "Colorful Image Colorization", eq. 4): a bin's weight is
#: ``1 / ((1 - lambda) p + lambda / K)``, ``p`` the training photos' bin frequencies smoothed by a Gaussian of
#: ``sigma`` a/b units, scaled so that the mean weight under ``p`` is 1. The paper's values.
REBALANCE_LAMBDA = 0.5
REBALANCE_SIGMA = 5.0


def rebalance_weights(ab, bins: int, *, photo_weights=None, lam: float = REBALANCE_LAMBDA, sigma=REBALANCE_SIGMA):
    """Per-bin loss weights that make rare colours count as much as common ones (Zhang et al. 2016).

    Parameters
    ----------
    ab : sequence of (h, w, 2) float arrays, a/b in [-128, 128)
        The training photos' colours (one array per photo; sizes may differ).
    bins : int
        Bins per channel, as :func:`bin_centres`.
    photo_weights : (N,) float, optional
        How likely each photo is to be drawn for a training crop (default: all alike).
    lam : float in [0, 1]
        Share of the uniform distribution mixed into the frequencies (1: no rebalancing).
    sigma : float
        Width of the Gaussian that smooths the frequencies, in a/b units (0: none).

    Returns
    -------
    (2, bins) float32
        Weights for a, then b; each row's mean under the smoothed frequencies is 1.
    """
    width = 256.0 / bins
    n = len(ab)
    pw = np.full(n, 1.0 / n) if photo_weights is None else np.asarray(photo_weights, np.float64)
    freq = np.zeros((2, bins))  # (2, K): share of the a (b) values in each bin
    for im, w in zip(ab, pw):
        idx = np.clip(((np.asarray(im, np.float64).reshape(-1, 2) + 128.0) // width).astype(int), 0, bins - 1)  # (P, 2)
        for c in range(2):
            freq[c] += w * np.bincount(idx[:, c], minlength=bins) / len(idx)
    freq /= freq.sum(axis=1, keepdims=True)
    if sigma > 0:
        centres = bin_centres(bins)
        kernel = np.exp(-0.5 * ((centres[:, None] - centres[None, :]) / sigma) ** 2)  # (K, K): to j from k
        freq = freq @ (kernel / kernel.sum(axis=0, keepdims=True)).T  # each bin's share spread, the total kept
    weights = 1.0 / ((1.0 - lam) * freq + lam / bins)  # (2, K)
    weights /= (freq * weights).sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


def _bins_loss(bins: int, sigma: float, class_weights=None):
    """Cross-entropy against soft targets: a Gaussian (width ``sigma`` a/b units) over the bin centres.

    ``y_true``: (N, h, w, 2) ab + 128; ``y_pred``: (N, h, w, 2K) logits. With ``class_weights`` ((2, K), see
    :func:`rebalance_weights`) each a/b value's term is weighted by the bin its true value falls in.
    Keras ops only (any backend).
    """
    keras = _keras()
    ops = keras.ops
    centres = bin_centres(bins).astype(np.float32)  # (K,)
    width = 256.0 / bins

    def bins_crossentropy(y_true, y_pred):
        t = ops.reshape(ops.cast(y_true, "float32"), (-1, 2, 1))  # (P, 2, 1), P = N*h*w
        logits = ops.reshape(y_pred, (-1, 2, bins))  # (P, 2, K)
        target = ops.exp(-0.5 * ops.square((t - centres) / sigma))  # (P, 2, K)
        target = target / ops.sum(target, axis=-1, keepdims=True)
        ce = -ops.sum(target * ops.log_softmax(logits, axis=-1), axis=-1)  # (P, 2)
        if class_weights is None:
            return ops.mean(ce)
        true_bin = ops.cast(ops.clip(ops.floor(t[..., 0] / width), 0, bins - 1), "int32")  # (P, 2)
        w = ops.sum(ops.one_hot(true_bin, bins) * class_weights, axis=-1)  # (P, 2)
        return ops.mean(w * ce)

    return bins_crossentropy


def _welsch_loss(sigma: float):
    """Welsch's loss, ``1 - exp(-d^2 / (2 sigma^2))`` per a/b value, averaged (d in a/b units).

    A smooth stand-in for the report's accuracy: it is 0 for a perfect value and saturates at 1 for a miss
    of any size, so (unlike MSE, L1 or Huber) it stops pulling on values far from the truth and
    spends the model on values it can bring within the tolerance. Keras ops only (any backend).
    """
    keras = _keras()
    ops = keras.ops
    scale = 1.0 / (2.0 * sigma * sigma)

    def welsch(y_true, y_pred):
        d = ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")  # (N, h, w, 2) a/b units
        return ops.mean(1.0 - ops.exp(-scale * ops.square(d)))

    return welsch


def _make_loss(config: CNNConfig, class_weights=None):
    keras = _keras()
    if config.loss == "bins":
        return _bins_loss(int(config.bins), float(config.bin_sigma), class_weights)
    if config.loss == "welsch":
        return _welsch_loss(float(config.welsch_sigma))
    if config.loss == "mse":
        return keras.losses.MeanSquaredError()
    if config.loss == "mae":
        return keras.losses.MeanAbsoluteError()
    return keras.losses.Huber(delta=config.huber_delta)


def _make_optimizer(config: CNNConfig, steps: int):
    keras = _keras()
    lr = config.lr
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=max(1, steps), alpha=0.05)
    ema = {"use_ema": True, "ema_momentum": config.ema} if config.ema > 0 else {}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, **ema)
    return keras.optimizers.Adam(learning_rate=lr, **ema)


def _accuracy(model, L, ab) -> float | None:
    """The progress events' accuracy: from the squashed view only, a cheap live signal (the detail view, with one
    network call per photo shape, made a committed-recipe training a third slower); the card's metrics use both."""
    if len(L) == 0:
        return None
    return report_accuracy(predict_ab(model, L), ab)


def train_cnn(config: CNNConfig, dataset, *, progress=None, stop=None, strategy=None, verbose: int = 0) -> TrainResult:
    """Train a model on a dataset's training part.

    Parameters
    ----------
    config : CNNConfig
    dataset : core.datasets.PhotoDataset
        Trains on ``dataset.part("train")``; reports accuracy on train and test at the
        config's size (the report's 64 x 64 by default).
    progress : callable(event: dict) -> None, optional
        Called every few steps (about 100 times a run, and at the end) with
        ``{"step", "steps", "epoch", "loss", "train_acc", "test_acc", "seconds"}``:
        ``step`` is 1-based, ``epoch`` counts passes over the training photos (float),
        ``loss`` is the mean training loss since the previous event, and the
        accuracies (the report's, fractions) are filled about 10 times a run (else None). They are
        predicted from the photos squashed to 64 x 64 only, a live signal; the card's metrics
        (:func:`evaluate`) also use the detail view for ``ours``.
    stop : callable() -> bool or threading.Event, optional
        Checked after every batch; when true training stops there and the result
        has ``stopped=True`` (the model trained so far is returned).
    strategy : tf.distribute.Strategy, optional
        Default: ``MirroredStrategy`` when TensorFlow sees more than one GPU, else none.
    verbose : int
        Keras' progress bar (0: none).

    Returns
    -------
    TrainResult
        ``card`` holds ``name``, ``arch``, ``config``, ``data`` (name, fingerprint,
        file lists), ``metrics`` (test split at 64 x 64: model and baselines, see
        :func:`evaluate`), ``baselines_ab`` (the fitted tables), ``training``
        (seconds, steps, final loss, device, stopped) and ``versions``.

    Raises
    ------
    TrainingError
        When the loss becomes NaN/inf or explodes; the message names the step and suggests a lower lr.
    ValueError
        When the dataset has no training photos.
    """
    keras = _keras()
    if not isinstance(config, CNNConfig):
        raise TypeError(f"config must be a CNNConfig, got {type(config).__name__}")
    n_train = len(dataset.train_idx)
    if n_train == 0:
        raise ValueError(f"dataset {dataset.name!r} has no training photos")
    if config.members > 1:
        return _train_ensemble(config, dataset, progress=progress, stop=stop, strategy=strategy, verbose=verbose)
    steps = config.total_steps(n_train)
    target, weights = _focus(config, dataset)  # the scenario scored, and crop sampling weights
    told = None
    if config.conditioned:  # own_share of each batch from the focus scenario's photos (c = 1), the rest with mix
        n_own = min(config.batch_size - 1, max(1, round(config.own_share * config.batch_size)))  # both kinds per batch
        told = (_focus(replace(config, mix=0.0, gate=False, position=False), dataset)[1], n_own)
    keras.utils.set_random_seed(config.seed)
    strategy = strategy if strategy is not None else _default_strategy()
    ReportBatches, OursBatches = _batch_classes()
    L_tr, ab_tr = target.arrays("train", config.size if config.arch == "report" else REPORT_SIZE)
    L_te, ab_te = target.arrays("test", config.size if config.arch == "report" else REPORT_SIZE)
    class_weights = None
    if config.arch == "report":
        data = ReportBatches(np.asarray(L_tr), np.asarray(ab_tr), config.batch_size, steps, config.seed)
    else:
        views = _ours_views(dataset, config)
        data = OursBatches(
            views, config.batch_size, steps, config.seed, config.size, config.flip, weights, told, config.position
        )
        if config.rebalance:  # the bins' frequencies in the photos as the crops are drawn (squashed views)
            class_weights = rebalance_weights([v[0][..., 1:] for v in views], int(config.bins), photo_weights=weights)

    with strategy.scope() if strategy is not None else nullcontext():
        # a conditioned model trains its U-Net (inputs L and c); the gate is fitted afterwards
        model = _build_ours(config, name="member1", condition=True) if told else build_model(config)
        if config.init:
            _set_starting_weights(model, config)
        model.compile(optimizer=_make_optimizer(config, steps), loss=_make_loss(config, class_weights))
    scorer = _own_view(model) if told else model  # the progress events' accuracies: the specialist role (c = 1)

    eval_every = config.eval_every or max(1, steps // 10)
    report_every = max(1, min(eval_every, steps // 100 or 1))
    history: list[dict] = []
    state = {"prev_k": 0, "prev_avg": 0.0, "first": None, "error": None, "stopped": False, "last_loss": None}
    t0 = time.perf_counter()
    batches_per_epoch = n_train / config.batch_size

    def should_stop():
        if stop is None:
            return False
        return bool(stop.is_set() if hasattr(stop, "is_set") else stop())

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            k = batch + 1  # one epoch of `steps` batches: batch is the global step
            avg = float(np.asarray((logs or {}).get("loss", np.nan)))  # running mean since step 1
            loss_k = k * avg - (k - 1) * state.get("avg_prev_step", 0.0)  # this batch's loss
            state["avg_prev_step"] = avg
            if state["first"] is None:
                state["first"] = loss_k
            if not math.isfinite(avg) or (k > 10 and loss_k > 100.0 * max(state["first"], 1e-6)):
                state["error"] = (
                    f"training diverged at step {k}: the loss became {loss_k:.4g} "
                    f"(it was {state['first']:.4g} at step 1). Try a lower learning rate than {config.lr:g}."
                )
                self.model.stop_training = True
                return
            if should_stop():
                state["stopped"] = True
                self.model.stop_training = True
            last = k == steps or state["stopped"]
            if k % report_every == 0 or last:
                window = (k * avg - state["prev_k"] * state["prev_avg"]) / (k - state["prev_k"])
                state["prev_k"], state["prev_avg"] = k, avg
                state["last_loss"] = window
                do_eval = k % eval_every == 0 or last
                event = {
                    "step": k,
                    "steps": steps,
                    "epoch": k / batches_per_epoch,
                    "loss": float(window),
                    "train_acc": _accuracy(scorer, L_tr, ab_tr) if do_eval else None,
                    "test_acc": _accuracy(scorer, L_te, ab_te) if do_eval else None,
                    "seconds": time.perf_counter() - t0,
                }
                history.append(event)
                if progress is not None:
                    progress(event)

    model.fit(data, epochs=1, verbose=verbose, callbacks=[Progress()])
    seconds = time.perf_counter() - t0
    if state["error"]:
        raise TrainingError(state["error"])
    done = history[-1]["step"] if history else 0
    gate = None
    if told:  # the U-Net and the scene gate in one model, the gate fitted on every scenario's training photos
        model = _assemble(config, [model])
        gate = _fit_gate(model, dataset, config.focus)
    card = _make_card(model, config, dataset, seconds, done, state, target)
    msg = f"stopped at step {done} of {steps}" if state["stopped"] else f"trained {steps} steps in {seconds:.1f} s"
    if gate:
        card["gate"] = gate
        msg += f"; gate fitted ({100 * gate['train_accuracy']:.0f}% right on the training photos)"
    return TrainResult(model, config, card, history, seconds, state["stopped"], message=msg)


def _zero_start(name: str) -> bool:
    """A layer that starts at zero in a fine-tuning when its start lacks it: FiLM (``*_film_*``) and positions (``*_pos``)."""
    return "_film_" in name or name.endswith("_pos")


#: Output heads of ``ours``: regression (``ab``) and classification (``ab_logits``); a fine-tuning may swap one for the other.
_HEADS = {"ab", "ab_logits"}


def _set_starting_weights(model, config: CNNConfig) -> None:
    """Load ``config.init``'s weights (see :func:`_starting_net`) into ``model``, or say why they do not fit.

    Layers are matched by name; the FiLM and position layers of a conditioned U-Net that the start lacks stay
    at zero.
    A head the start lacks (``ab_logits`` when a ``bins`` model starts from a regression model, or
    ``ab`` the other way round) is set to zero: a ``bins`` head then starts at the uniform distribution,
    and the pre-trained layers get no gradient from a random head while it learns.
    """
    start = _starting_net(config.init, config.seed, config.width)
    theirs = {layer.name: layer for layer in start.layers if layer.weights}
    pairs = [(layer, theirs.get(layer.name)) for layer in model.layers if layer.weights]
    fits = all(
        [tuple(w.shape) for w in mine.weights] == [tuple(w.shape) for w in other.weights]
        for mine, other in pairs
        if other is not None
    )
    fresh = [mine for mine, other in pairs if other is None and mine.name in _HEADS and _HEADS & set(theirs)]
    missing = [mine.name for mine, other in pairs if other is None and not _zero_start(mine.name) and mine not in fresh]
    if not fits or missing:
        first = next((w.shape[-1] for w in start.get_weights() if len(w.shape) == 4), "?")  # the first conv's filters
        raise ValueError(
            f"cannot fine-tune from {config.init!r}: the U-Net it gives this run (seed {config.seed}) has width {first}, "
            f"this run's has width {config.width} (for a model of several members, pass member_widths / "
            "--member-widths as the starting model's card gives them)"
        )
    for mine, other in pairs:
        if other is not None:
            mine.set_weights(other.get_weights())
    for head in fresh:
        head.set_weights([np.zeros(w.shape, np.float32) for w in head.weights])


def _starting_net(init: str, seed: int, width: int | None = None):
    """The network to fine-tune from: the ``init`` model, or when it holds several U-Nets, one of them.

    Member ``k`` of an ensemble was trained with seed ``seed0 + k - 1``; a model fine-tuned
    with seed ``s`` starts from the member of the same offset (cycling) among the members of
    its ``width`` (all of them when none has it), so the members of an ensemble fine-tuned from
    an ensemble stay as different as their starting points.
    """
    model = load_model(init)
    members = [layer for layer in model.layers if layer.name.startswith("member")]
    if not members:
        return model
    same = [m for m in members if _first_filters(m) == width]
    members = same or members
    seed0 = int(((load_card(init) or {}).get("config") or {}).get("seed", 0))  # the ensemble's first seed
    return members[(seed - seed0) % len(members)]


def _first_filters(net) -> int | None:
    """Filters of a U-Net's first convolution (its width), or None."""
    return next((int(w.shape[-1]) for w in net.get_weights() if len(w.shape) == 4), None)


def _train_ensemble(config: CNNConfig, dataset, *, progress, stop, strategy, verbose) -> TrainResult:
    """Train ``config.members`` U-Nets one after another (seeds ``seed``, ``seed + 1``, ...) and average them.

    With ``gate``, member 1 trains on the focus scenario's photos only, and the two are joined
    by a fitted scene gate (:func:`gated_model`) instead of averaged.
    Progress events count steps over the whole ensemble and carry ``member`` (1-based);
    their accuracies are the current member's. A stop request ends training there and
    returns the members trained so far (the last one part-trained).
    """
    n_train = len(dataset.train_idx)
    one_steps = config.total_steps(n_train)
    steps, done_seconds, history, members = config.members * one_steps, 0.0, [], []
    specialist_first = config.gate and not config.told  # a gated pair's member 1 trains without the mix
    for i in range(config.members):
        offset, before = i * one_steps, done_seconds

        def relay(event, offset=offset, before=before, member=i + 1):
            event = {**event, "step": event["step"] + offset, "steps": steps, "member": member}
            event["epoch"] = event["step"] * config.batch_size / n_train  # passes over the photos, all members
            event["seconds"] = event["seconds"] + before
            history.append(event)
            if progress is not None:
                progress(event)

        # a gated model's member 1 is the specialist: its scenario's photos only
        mix = 0.0 if specialist_first and i == 0 else config.mix
        one = replace(config.member(i), seed=config.seed + i, mix=mix)
        res = train_cnn(one, dataset, progress=relay, stop=stop, strategy=strategy, verbose=verbose)
        # a told member comes back with its own gate; the ensemble keeps its U-Net and fits one gate for all
        members.append(res.model.get_layer("member1") if config.told else res.model)
        done_seconds += res.seconds
        if res.stopped:
            break
    stopped = res.stopped
    config_used = config
    if stopped:  # the members trained so far; a gated model stopped in its specialist is that specialist alone
        n = len(members)
        if n == 1:  # a plain U-Net; a gated model's member 1 is the specialist, trained without the mix
            config_used = replace(config.member(0), mix=0.0 if specialist_first else config.mix)
        else:
            config_used = replace(config, members=n, member_widths=config.member_widths[:n])
    if len(members) > 1 or config_used.told:
        model = _assemble(config_used, members)  # a told member alone gets its gate back as a conditioned model
    else:
        model = members[0]  # one member: a plain U-Net
    gate = _fit_gate(model, dataset, config_used.focus) if config_used.gate else None
    done = history[-1]["step"] if history else 0
    state = {"last_loss": history[-1]["loss"] if history else None, "stopped": stopped}
    target, _ = _focus(config_used, dataset)
    card = _make_card(model, config_used, dataset, done_seconds, done, state, target)
    if gate:
        card["gate"] = gate
    msg = (
        f"stopped at step {done} of {steps}"
        if stopped
        else f"trained {config.members} members x {one_steps} steps in {done_seconds:.1f} s"
        + (f"; gate fitted ({100 * gate['train_accuracy']:.0f}% right on the training photos)" if gate else "")
    )
    return TrainResult(model, config_used, card, history, done_seconds, stopped, message=msg)


def _focus(config: CNNConfig, dataset):
    """The dataset a model is scored on, and the sampling probability of each training photo (None: uniform).

    Without ``focus`` that is the dataset itself. With it, the focus scenario's part
    of a several-scenario dataset; ``1 - mix`` of the crops come from its training
    photos and ``mix`` from the other scenarios' (each photo equally likely within its side).
    """
    if not config.focus:
        return dataset, None
    if config.arch != "ours":
        raise ValueError("focus/mix train our model only (arch='ours')")
    target = dataset.subset(config.focus)  # ValueError naming the groups when it is not one
    groups = np.array([dataset.groups[i] for i in dataset.train_idx])
    mine = groups == config.focus
    if config.mix == 0.0 or mine.all():
        w = mine / mine.sum()  # only the focus scenario's photos
    else:
        w = np.where(mine, (1.0 - config.mix) / mine.sum(), config.mix / (~mine).sum())
    return target, w.astype(np.float64)


def _card_metrics(model, target) -> tuple[dict | None, dict[str, Baseline]]:
    """A card's ``metrics``: ``target``'s test split at 64 x 64, the model next to the baselines fitted on
    ``target``'s training part (None without test photos); and those baselines."""
    base = fit_ab_baselines(*target.gray_ab("train", REPORT_SIZE))
    if not len(target.test_idx):
        return None, base
    ev = evaluate(model, target, split="test", size=REPORT_SIZE, baselines=base)
    metrics = {
        "split": "test",
        "size": REPORT_SIZE,
        "n": ev["n"],
        **ev["aggregate"],
        "best_baseline": ev["best_baseline"],
        "flip_averaged": _flip_default(model),  # predict_ab's default: the photo and its mirror image
        "detail_side": ev["detail_side"],  # ours: also predicted from the photo at this shorter side (px)
    }
    return metrics, base


def metrics_are_current(card: dict) -> bool:
    """Whether a card's metrics were scored as :func:`evaluate` scores now.

    Cards of ``ours`` written before round 18 were scored from the squashed view only (no
    ``detail_side`` in their metrics); :func:`rescore` measures them again.
    """
    metrics = (card or {}).get("metrics")
    if not metrics:
        return True
    want = None if card.get("arch") == "report" else detail_side(REPORT_SIZE)
    return metrics.get("detail_side") == want


def rescore(model, card: dict, dataset) -> dict:
    """The card with its ``metrics`` measured again by today's :func:`evaluate` (the model is unchanged).

    Parameters
    ----------
    model : keras.Model
    card : dict, the model's card
    dataset : core.datasets.PhotoDataset
        The data the model was trained on (its fingerprint must be the card's); a model with a
        ``focus`` is scored on that scenario's part, as when it was trained.

    Returns
    -------
    dict, a new card with ``metrics`` replaced and ``rescored`` (the date and why) added
    """
    if dataset.fingerprint != card["data"]["fingerprint"]:
        raise ValueError(
            "the dataset is not the one the model was trained on (its fingerprint differs from the card's)"
        )
    config = CNNConfig.from_dict(card["config"])
    metrics, _ = _card_metrics(model, _focus(config, dataset)[0])
    note = "metrics measured again with ours scored from the squashed and the detail view (docs/CNN.md, round 18)"
    return {
        **card,
        "metrics": metrics,
        "rescored": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "why": note},
    }


def _make_card(model, config, dataset, seconds, steps_done, state, target=None) -> dict:
    keras = _keras()
    target = target if target is not None else dataset  # the scenario scored (and its baselines' data)
    metrics, base = _card_metrics(model, target)
    return {
        "format": CARD_FORMAT,
        "name": target.name,
        "arch": config.arch,
        "parameters": count_parameters(model),
        "config": config.to_dict(),
        "loss": f"{config.loss}, rebalanced" if config.rebalance else config.loss,
        "optimizer": config.optimizer,
        "key": cache_key(config, dataset.fingerprint),
        "data": dataset.describe(),
        **({"scored_on": target.describe()} if target is not dataset else {}),
        "metrics": metrics,
        "baselines_ab": _baseline_tables(base),
        "training": {
            "seconds": round(seconds, 2),
            "steps": int(steps_done),
            "final_loss": state["last_loss"],
            "stopped": bool(state["stopped"]),
            "device": _device(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "backend": keras.backend.backend(),
        },
        "versions": _versions(),
    }


# --------------------------------------------------------------------------- saving, loading, cache


def cache_dir() -> Path:
    """The model cache: ``$COLORLAB_CACHE`` or ``~/.cache/colorlab``."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/colorlab").expanduser()


def cache_key(config: CNNConfig, fingerprint: str) -> str:
    """Hex key (20 chars) of a config and a data fingerprint."""
    init = None
    if config.init:  # fine-tuning: the starting model's bytes are part of the key
        try:
            init = hashlib.sha256(model_path(config.init).read_bytes()).hexdigest()
        except (FileNotFoundError, ValueError):
            init = "missing"
    blob = json.dumps(
        {"format": CARD_FORMAT, "config": _key_fields(config), "data": fingerprint, "init": init}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


#: Fields added after the first cache format, left out of the key while they hold these values
#: (they change nothing there), so models cached before they existed are still found.
_KEY_OPTIONAL = {
    "bins": 64,
    "bin_sigma": 5.0,
    "focus": None,
    "mix": 0.0,
    "ema": 0.0,
    "members": 1,
    "gate": False,
    "member_widths": [],
    "rebalance": False,
    "gate_members": "weigh",
    "position": False,
}


def _key_fields(config: CNNConfig) -> dict:
    """The config as it enters the cache key: bin settings only count for ``loss="bins"``, and a
    gated model's key names its gate's features (:data:`GATE_VERSION`)."""
    d = config.to_dict()
    if config.loss != "bins":
        d.pop("bins"), d.pop("bin_sigma"), d.pop("rebalance")
    if config.loss != "welsch":
        d.pop("welsch_sigma")
    if not config.told:
        d.pop("own_share")
    for name, default in _KEY_OPTIONAL.items():
        if name in d and d[name] == default:
            del d[name]
    if config.gate:
        d["gate"] = GATE_VERSION
    return d


def _plain_copy(model, config: CNNConfig):
    """An uncompiled copy (no optimizer state: small files, safe_mode-loadable)."""
    fresh = build_model(config)
    fresh.set_weights(model.get_weights())
    return fresh


def _atomic_write_bytes(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_card(path, card: dict) -> None:
    """Write a model card as JSON to ``path`` atomically (a temporary file, then a rename)."""
    text = json.dumps(card, indent=1, allow_nan=True)
    _atomic_write_bytes(Path(path), lambda p: p.write_text(text))


def save_model(model, card: dict, out_dir, name: str | None = None) -> Path:
    """Save ``<name>.keras`` and its card ``<name>.json`` atomically (write to a temporary file, then rename).

    Parameters
    ----------
    model : keras.Model
    card : dict (from a :class:`TrainResult`)
    out_dir : str or path
    name : str, optional
        Default: the card's ``name``.

    Returns
    -------
    Path of the ``.keras`` file
    """
    out_dir = Path(out_dir)
    name = name or card.get("name") or "model"
    path = out_dir / f"{name}.keras"
    config = CNNConfig.from_dict(card["config"])
    plain = _plain_copy(model, config)
    _atomic_write_bytes(path, lambda p: plain.save(p))
    write_card(path.with_suffix(".json"), card)
    return path


def committed_models() -> list[str]:
    """Names of the committed models present in ``models/`` (a subset of :data:`COMMITTED_MODELS`)."""
    return [n for n in COMMITTED_MODELS if (MODELS_DIR / f"{n}.keras").is_file()]


# The scenario models' fine-tuning scales (round 14): round 13's cross-validation chose them over the default
# (64, 96, 128) on four draws that held out the same photos; over other photos the gain is within noise
# (docs/CNN.md, round 15). The zoomed-in crops are for the fine-tuning only, not `scenes`.
COMMITTED_SCALES = (64, 96, 128, 160, 192)


def committed_recipe(name: str, seed: int = 0) -> CNNConfig:
    """The config that made a committed model (docs/CNN.md, "Committed models"); ``seed=0`` remakes it.

    Parameters
    ----------
    name : str
        ``"scenes"``: two U-Nets (widths 16 and 12) trained on every scenario's training photos alike,
        1200 steps each. A scenario (``"beach"``, ``"sunset"``, ``"forest"``): two conditioned U-Nets
        (``gate=True``, ``members=2``, ``gate_members="tell"``; round 16), each fine-tuned from the ``scenes``
        member of its width (16, seed 0; 12, seed 1) for 600 steps, half of each batch from the scenario's
        photos (told c = 1) and half with half of those crops from the other scenarios (told c = 0), then
        one scene gate for both; their a/b are averaged. The crops come from the photos rescaled to shorter
        sides 64 to 192 px (round 14; :data:`COMMITTED_SCALES`). Each U-Net also sees where each pixel sits
        in the photo (``position``; round 23).
    seed : int

    Returns
    -------
    CNNConfig
        Train it on the ``"scenes"`` dataset (:func:`core.datasets.load_scenario`), for every name.
    """
    if name == "scenes":
        return CNNConfig(ema=0.99, steps=1200, members=2, member_widths=(16, 12), seed=seed)
    if name not in COMMITTED_MODELS:
        raise ValueError(f"no committed recipe for {name!r}; the committed models are {', '.join(COMMITTED_MODELS)}")
    return CNNConfig(
        init="scenes",
        focus=name,
        mix=0.5,
        gate=True,
        members=2,
        member_widths=(16, 12),
        gate_members="tell",
        ema=0.99,
        steps=600,
        lr=1e-3,
        scales=COMMITTED_SCALES,
        position=True,
        seed=seed,
    )


def model_path(name_or_path) -> Path:
    """Resolve a committed model name (``beach``...) or a path to a ``.keras`` file."""
    s = str(name_or_path)
    if s in COMMITTED_MODELS and not Path(s).exists():
        p = MODELS_DIR / f"{s}.keras"
        if not p.is_file():
            raise FileNotFoundError(f"committed model {s!r} is missing: no {p}")
        return p
    p = Path(s).expanduser()
    if not p.is_file():
        raise FileNotFoundError(
            f"no model {s!r}: expected one of {', '.join(COMMITTED_MODELS)} or a path to a .keras file"
        )
    if p.suffix != ".keras":
        raise ValueError(f"model file {s!r} is not a .keras file")
    return p


def load_model(name_or_path, *, safe_mode: bool = True):
    """Load a model (never deserializing code: Keras safe mode is on by default).

    Parameters
    ----------
    name_or_path : str or path
        ``"beach"``, ``"sunset"``, ``"forest"``, ``"scenes"`` (from ``models/``) or a ``.keras`` path.
    safe_mode : bool

    Returns
    -------
    keras.Model (uncompiled)

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable/corrupt file (the message names it).
    """
    keras = _keras()
    p = model_path(name_or_path)
    try:
        return keras.saving.load_model(p, compile=False, safe_mode=safe_mode)
    except Exception as exc:  # zip, h5 and deserialization errors all mean "unusable file"
        raise ValueError(f"cannot load model {str(p)!r}: {type(exc).__name__}: {exc}") from exc


def load_card(name_or_path) -> dict | None:
    """The JSON model card beside a model (``<name>.json``), or None when there is none."""
    p = model_path(name_or_path).with_suffix(".json")
    if not p.is_file():
        return None
    return json.loads(p.read_text())


def train_or_load(
    config: CNNConfig, dataset, *, cache=None, progress=None, stop=None, strategy=None, verbose: int = 0
) -> TrainResult:
    """Train through the model cache: the same config and data load instead of training.

    Parameters
    ----------
    config, dataset, progress, stop, strategy, verbose
        As in :func:`train_cnn`.
    cache : str or path, optional
        The cache folder; default :func:`cache_dir`. ``False`` disables the cache.

    Returns
    -------
    TrainResult
        ``from_cache=True`` on a hit. A corrupt or unreadable cache file is reported
        (a ``UserWarning`` and ``message``), removed, and the model retrained.
        Stopped runs are not cached.
    """
    if cache is False:
        return train_cnn(config, dataset, progress=progress, stop=stop, strategy=strategy, verbose=verbose)
    folder = Path(cache) if cache is not None else cache_dir()
    key = cache_key(config, dataset.fingerprint)
    path = folder / f"{config.arch}-{key}.keras"
    card_path = path.with_suffix(".json")
    note = ""
    if path.exists() or card_path.exists():
        try:
            card = json.loads(card_path.read_text())
            if card.get("key") != key:
                raise ValueError(f"its card has key {card.get('key')!r}, expected {key!r}")
            model = load_model(path)
        except Exception as exc:
            note = f"cache file {path} is corrupt or unreadable ({type(exc).__name__}: {exc}); retrained"
            warnings.warn(note, stacklevel=2)
            for p in (path, card_path):
                if p.exists():
                    p.unlink()
        else:
            message = f"loaded from cache {path}"
            if not metrics_are_current(card):  # scored before round 18's detail view: score it again, keep it
                card = rescore(model, card, dataset)
                write_card(card_path, card)
                message += "; its test metrics measured again (ours is now scored from two views)"
            return TrainResult(model, config, card, [], 0.0, False, True, path, message)
    result = train_cnn(config, dataset, progress=progress, stop=stop, strategy=strategy, verbose=verbose)
    if not result.stopped:
        save_model(result.model, result.card, folder, path.stem)
        result.cache_path = path
    result.message = "; ".join(m for m in (note, result.message) if m)
    return result
