"""Hyperparameters of the CNNs and the named recipes that make the committed models.

Nothing here imports Keras: a config can be built, hashed and compared without TensorFlow.
See docs/CNN.md, "Recipes".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

__all__ = ["ARCHS", "LOSSES", "CNNConfig", "RECIPES", "recipe"]

#: The architectures: the report's network, exactly, and our fully convolutional U-Net with a hint input.
ARCHS = ("report", "unet")

#: Training losses: regression on a/b ("mse", "huber") or classification over a/b bins ("bins").
LOSSES = ("mse", "huber", "bins")


@dataclass(frozen=True)
class CNNConfig:
    """One CNN training run (frozen and hashable: part of the cache key).

    ``CNNConfig(arch="report")`` is the report's setup (MSE, Adam at 1e-4, batch 3, 8000 steps on whole
    64 x 64 photos). ``unet`` trains on random crops of ``size`` px with horizontal flips and, with
    ``hints``, random colour hints (docs/CNN.md, "Colour hints").
    """

    arch: str = "unet"  # "report" or "unet"
    loss: str = "bins"  # "mse", "huber" (regression) or "bins" (classification, rebalanced)
    width: int = 40  # unet: filters at half resolution; x2 at each of the 3 downsamplings below it
    lr: float = 2e-3  # peak learning rate (cosine decay for the U-Net)
    batch_size: int = 16  # crops (unet) or photos (report) per step
    steps: int = 600  # training steps
    size: int = 96  # unet: crop side, a multiple of 16; report: its input side (64)
    seed: int = 0  # seeds the weights, the batches and the augmentation
    hints: bool = True  # unet: train with random colour hints in about half the batches
    init: str | None = None  # start from this model (committed name or .keras path): fine-tuning
    rebalance: bool = True  # bins: weight each pixel by its colour's rarity (Zhang et al. 2016)
    dropout: float = 0.0  # report: dropout before the output layer
    schedule: str = "cosine"  # "cosine" (decay to 5 %) or "constant"

    def __post_init__(self):
        object.__setattr__(self, "lr", float(self.lr))
        checks = [
            (self.arch in ARCHS, f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}; got {self.loss!r}"),
            (self.loss != "bins" or self.arch == "unet", "loss 'bins' needs arch 'unet' (the report's head is fixed)"),
            (math.isfinite(self.lr) and self.lr > 0, f"the learning rate must be a positive number; got {self.lr}"),
            (int(self.batch_size) >= 1, f"batch_size must be at least 1; got {self.batch_size}"),
            (int(self.steps) >= 1, f"steps must be at least 1; got {self.steps}"),
            (int(self.width) >= 4, f"width must be at least 4; got {self.width}"),
            (
                self.arch == "report" or (self.size >= 32 and self.size % 16 == 0),
                f"the U-Net's crop size must be a multiple of 16, at least 32; got {self.size}",
            ),
            (0.0 <= self.dropout < 1.0, f"dropout must lie in [0, 1); got {self.dropout}"),
            (
                self.schedule in ("cosine", "constant"),
                f"schedule must be 'cosine' or 'constant'; got {self.schedule!r}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CNNConfig:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> CNNConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


#: The named recipes (docs/CNN.md, "Recipes").
#:
#: ``general``: the U-Net trained on the corpus, classification over a/b bins with rebalancing and hints.
#: ``scenario``: ``general`` fine-tuned on one scenario's training photos, briefly, without rebalancing
#: (the starting model already decodes to calibrated colours).
#: ``report``: the report's network and training, exactly.
RECIPES = {
    "general": CNNConfig(arch="unet", loss="bins", width=40, lr=2e-3, batch_size=16, steps=5000, size=96),
    "scenario": CNNConfig(
        arch="unet", loss="bins", width=40, lr=3e-4, batch_size=16, steps=250, size=64, init="general", rebalance=False
    ),
    "report": CNNConfig(
        arch="report",
        loss="mse",
        lr=1e-4,
        batch_size=3,
        steps=8000,
        size=64,
        hints=False,
        rebalance=False,
        schedule="constant",
    ),
}


def recipe(name: str, **changes) -> CNNConfig:
    """A named recipe, optionally with some fields changed.

    Parameters
    ----------
    name : {"general", "scenario", "report"}
    **changes
        Fields of :class:`CNNConfig` to override (``steps=100`` for a short run, ``seed=1``...).

    Returns
    -------
    CNNConfig
    """
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; the recipes are {', '.join(RECIPES)}")
    return RECIPES[name].replace(**changes) if changes else RECIPES[name]
