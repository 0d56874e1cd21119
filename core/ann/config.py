"""Hyperparameters of the numpy colorizer: :class:`ANNConfig` and its presets.

The choices the configuration accepts (:data:`ACTIVATIONS`, :data:`OPTIMIZERS`,
:data:`STRUCTURES`) live here too, so that pages and the command line can
offer them without importing the network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

__all__ = ["ACTIVATIONS", "OPTIMIZERS", "STRUCTURES", "ANNConfig", "PRESETS", "preset"]

ACTIVATIONS = ("sigmoid", "relu")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
STRUCTURES = ("per-channel", "shared")


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
    score_sample: int = 0  # between epochs, score this many random pixels of each part (0: all); the result is exact

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
        if self.score_sample < 0:
            problems.append(f"score_sample must be >= 0, got {self.score_sample}")
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
