"""The two networks, built apart from any data: the report's, exactly, and our U-Net with a hint input.

Keras 3 only (no backend code), so ``KERAS_BACKEND=jax`` builds, trains and predicts too.
See docs/CNN.md, "The networks".

Conventions
-----------
* ``report``: input ``L / 100``, ``(N, 64, 64, 1)``; output ``(N, 8192)``, all 64 x 64 a values then all b
  values, as ``ab + 128`` in [0, 255] (sigmoid x 255).
* ``unet``: input ``(N, h, w, 4)`` with h and w multiples of :data:`MULTIPLE`: ``L / 100``, then the hint
  map ``a / 110``, ``b / 110`` and its mask (1 where a hint is given, else 0; a and b are 0 there too).
  Output at half resolution, ``(N, h/2, w/2, C)``: ``C = 2`` a/b (regression) or ``C = Q`` bin logits
  (classification, :func:`core.cnn.bins.bin_centres`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..report import REPORT_SIZE
from .bins import bin_centres
from .config import CNNConfig

__all__ = [
    "LogPrior",
    "log_prior",
    "MULTIPLE",
    "HINT_SCALE",
    "get_model",
    "count_parameters",
    "describe",
    "is_report",
    "is_bins",
]

#: The U-Net's input sides must be multiples of this (one strided convolution and three poolings).
MULTIPLE = 16

#: Hint a/b are divided by this in the hint map.
HINT_SCALE = 110.0


@keras.saving.register_keras_serializable(package="colorlab")
class LogPrior(layers.Layer):
    """Passes a classifier's logits through unchanged and keeps ``log w``, the class-rebalancing weights in log.

    Training with per-bin weights ``w`` leaves them in the network; training ends by dividing them back out
    of the logits and storing ``log w`` here, so that :func:`core.cnn.predict.predict_ab` can put any share of
    them back at colorize time (the vividness knob).
    """

    def __init__(self, bins: int, **kwargs):
        super().__init__(**kwargs)
        self.bins = int(bins)
        self.log_w = self.add_weight(shape=(self.bins,), initializer="zeros", trainable=False, name="log_w")

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}


def get_model(config: CNNConfig | str = "unet"):
    """A freshly initialised, uncompiled network for a config (or an architecture name).

    Parameters
    ----------
    config : CNNConfig or {"report", "unet"}

    Returns
    -------
    keras.Model
    """
    if isinstance(config, str):
        config = CNNConfig(arch=config, **({"loss": "mse", "size": REPORT_SIZE} if config == "report" else {}))
    keras.utils.set_random_seed(config.seed)
    if config.arch == "report":
        return _report(config)
    return _unet(config)


def _report(config: CNNConfig):
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


def _block(x, filters: int, name: str):
    """Two 3 x 3 convolutions with ReLU (He initialisation), then batch normalisation."""
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal", name=f"{name}_a")(
        x
    )
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal", name=f"{name}_b")(
        x
    )
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _unet(config: CNNConfig):
    """A U-Net that reads the photo at full resolution and predicts colour at half resolution.

    Colour varies slowly next to lightness, so predicting a/b at half resolution and upsampling them
    costs little detail and a quarter of the work (Zhang et al. predict at a quarter).
    """
    w = int(config.width)
    inp = keras.Input((None, None, 4), name="L_hints")
    he = {"activation": "relu", "kernel_initializer": "he_normal", "padding": "same"}
    x = layers.Conv2D(w // 2, 3, name="stem", **he)(inp)  # (h, w)
    e1 = _block(layers.Conv2D(w, 3, strides=2, name="down", **he)(x), w, "enc1")  # (h/2, w/2)
    e2 = _block(layers.MaxPooling2D(2, name="pool1")(e1), 2 * w, "enc2")  # (h/4, w/4)
    e3 = _block(layers.MaxPooling2D(2, name="pool2")(e2), 4 * w, "enc3")  # (h/8, w/8)
    b = _block(layers.MaxPooling2D(2, name="pool3")(e3), 8 * w, "bottleneck")  # (h/16, w/16)
    d3 = _block(layers.Concatenate(name="skip3")([layers.UpSampling2D(2, name="up3")(b), e3]), 4 * w, "dec3")
    d2 = _block(layers.Concatenate(name="skip2")([layers.UpSampling2D(2, name="up2")(d3), e2]), 2 * w, "dec2")
    d1 = _block(layers.Concatenate(name="skip1")([layers.UpSampling2D(2, name="up1")(d2), e1]), w, "dec1")
    if config.loss == "bins":
        out = layers.Conv2D(len(bin_centres()), 1, kernel_initializer="zeros", name="ab_logits")(d1)  # (h/2, w/2, Q)
        out = LogPrior(len(bin_centres()), name="rebalance")(out)
    else:
        out = layers.Conv2D(2, 1, kernel_initializer="zeros", name="ab_scaled")(d1)
        out = layers.Rescaling(100.0, name="ab")(out)  # (h/2, w/2, 2), a/b units
    return keras.Model(inp, out, name="unet")


def is_report(model) -> bool:
    """Whether a model is the report's network (a flat, fixed-size output)."""
    return len(model.output.shape) == 2


def is_bins(model) -> bool:
    """Whether a U-Net classifies over a/b bins (its output has more than 2 channels)."""
    return not is_report(model) and model.output.shape[-1] != 2


def log_prior(model) -> np.ndarray:
    """A classifier's stored rebalancing weights, ``log w`` (Q,) float32 (zeros when trained without them)."""
    return keras.ops.convert_to_numpy(model.get_layer("rebalance").log_w).astype(np.float32)


def count_parameters(model) -> int:
    """Total number of parameters (trainable and not) of a Keras model."""
    return int(sum(int(np.prod(v.shape)) for v in model.weights))


def describe(config: CNNConfig | str = "unet") -> dict:
    """Layer table and parameter count of a network.

    Parameters
    ----------
    config : CNNConfig or {"report", "unet"}

    Returns
    -------
    dict with ``arch`` (str), ``parameters`` (int), ``input`` (str) and ``layers``: a list of
    ``{"name", "type", "output_shape", "parameters"}`` (``output_shape`` a list, None for free sides)
    """
    model = get_model(config)
    rows = [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": list(layer.output.shape),
            "parameters": int(layer.count_params()),
        }
        for layer in model.layers
    ]
    report = is_report(model)
    return {
        "arch": "report" if report else "unet",
        "parameters": count_parameters(model),
        "input": "L / 100, (N, 64, 64, 1)" if report else "L / 100 and a hint map (a, b, mask), (N, h, w, 4)",
        "layers": rows,
    }
