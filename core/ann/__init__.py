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

Modules
-------
config      :class:`ANNConfig`, the presets and the accepted choices
layers      Linear, Sigmoid, ReLU, softmax cross-entropy and the grouped :class:`Network`
optimizers  SGD, Momentum, RMSprop, Adam and :func:`make_optimizer`
windows     :class:`WindowSampler`, gray windows gathered by index arithmetic
model       :class:`ANNModel` (a trained network that colorizes) and :func:`single_thread_blas`
trainer     :class:`ANNTrainer`, its events and result, :func:`run_ann` and the per-sample reference
"""

from .config import ACTIVATIONS, OPTIMIZERS, PRESETS, STRUCTURES, ANNConfig, preset
from .layers import Linear, Network, ReLU, Sigmoid, SoftmaxCrossEntropy
from .model import ANNModel, single_thread_blas
from .optimizers import make_optimizer
from .trainer import ANNEvent, ANNResult, ANNTrainer, per_sample_sgd_epoch, run_ann
from .windows import WindowSampler

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
