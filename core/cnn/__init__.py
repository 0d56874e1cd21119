"""The Keras colorizers: the report's network, reproduced, and our general U-Net with colour hints.

Importing this package imports Keras (and its backend); callers that may run without TensorFlow
(the Home and ANN pages) import it lazily, where the CNN is used.

Modules
-------
``config``    :class:`CNNConfig` and the named recipes.
``models``    the networks (:func:`get_model`).
``bins``      quantized a/b colours, rebalancing and the annealed mean (numpy only).
``data``      training batches: crops, flips, hints.
``train``     :func:`train_cnn`, progress events, stop, checkpoints.
``predict``   :func:`predict_ab`, :func:`colorize`, hints and vividness.
``evaluate``  scores of a model beside the baselines.
``store``     model cards, the cache, :func:`load_model`.
"""

from . import evaluate, runs, store
from .config import ARCHS, LOSSES, RECIPES, CNNConfig, recipe
from .models import count_parameters, describe, get_model, is_bins, is_report
from .predict import DEFAULT_VIVIDNESS, WORKING_SIZE, colorize, colorize_lab, predict_ab
from .train import TrainingError, TrainResult, train_cnn

__all__ = [
    "evaluate",
    "runs",
    "store",
    "ARCHS",
    "LOSSES",
    "RECIPES",
    "CNNConfig",
    "recipe",
    "get_model",
    "describe",
    "count_parameters",
    "is_bins",
    "is_report",
    "predict_ab",
    "colorize",
    "colorize_lab",
    "DEFAULT_VIVIDNESS",
    "WORKING_SIZE",
    "train_cnn",
    "TrainResult",
    "TrainingError",
]
