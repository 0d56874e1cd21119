"""The report's setups and printed figures, in one place (constants only).

The report (CS 520 Assignment 4) colorized photos two ways. Its figures are
shown beside ours on the dashboard and by the command line, and its setups are
what the ``report`` presets reproduce; both are kept here so that pages, the
command line and the CNN code read them from one module without importing one
another. Nothing here imports numpy, TensorFlow or Streamlit.

Part 1: the ANN (numpy, :mod:`core.ann`)
-----------------------------------------
* Colours: RGB quantized to 4 levels per channel, 0/64/128/192
  (:data:`REPORT_ANN_LEVELS`).
* Input: the 3 x 3 window of gray values around a pixel
  (:data:`REPORT_ANN_WINDOW`).
* Network: 9-9-4, one network per channel (R, G, B), the output a one-hot
  choice of the 4 levels (:data:`REPORT_ANN_HIDDEN`).
* Split: train on the left half of the photo, test on the right half.
* Score: the difference ``d = |dR + dG + dB| / 64`` per pixel (``dX`` the
  predicted minus the true value of channel X, :data:`REPORT_ANN_STEP` = 64
  the level stride), averaged over the test half; lower is better.
* Reported (:data:`REPORT_ANN`): coffee 0.67, sunset 0.83, beach 1.17; the
  cross-image run (train on sunset, test on beach) has no printed figure.

Part 2: the CNN (Keras, :mod:`core.cnn`)
-----------------------------------------
* Input: L of CIELAB at 64 x 64 (:data:`REPORT_SIZE`).
* Output: a and b, each ``+ 128``, through a sigmoid times 255 (so in
  [0, 255]), ``64 * 64 * 2`` values.
* Layers: conv 5 x 5 x 32, max pool, conv 5 x 5 x 64, max pool, dense 2048,
  dense 4096, dropout, dense ``64 * 64 * 2``.
* Training: MSE loss, learning rate 1e-4 (:data:`REPORT_CNN_LR`), batch 3
  (:data:`REPORT_CNN_BATCH`), 8000 iterations (:data:`REPORT_CNN_STEPS`).
* Data: three scenes, beach, sunrise (our "sunset") and forest
  (:data:`REPORT_CNN_SCENES`), each split 7:3 into training and test photos
  (:data:`REPORT_CNN_TRAIN_SHARE`).
* Score: accuracy, the share of a/b values within :data:`TOLERANCE` = 10 of
  the truth (``|predicted - true| <= 10``); higher is better.
* Reported (:data:`REPORT_FIGURES`): beach 64 %, sunrise 54 %, forest 57 %.
"""

from __future__ import annotations

__all__ = [
    "REPORT_ANN",
    "REPORT_ANN_LEVELS",
    "REPORT_ANN_WINDOW",
    "REPORT_ANN_HIDDEN",
    "REPORT_ANN_STEP",
    "REPORT_SIZE",
    "REPORT_FIGURES",
    "TOLERANCE",
    "REPORT_CNN_LR",
    "REPORT_CNN_BATCH",
    "REPORT_CNN_STEPS",
    "REPORT_CNN_LOSS",
    "REPORT_CNN_SCENES",
    "REPORT_CNN_TRAIN_SHARE",
]

# ---------------------------------------------------------------------------
# Part 1: the ANN
# ---------------------------------------------------------------------------
#: The report's part 1 figures (its Table: difference on the right half, in
#: levels; lower is better). ``None``: the report printed no figure.
REPORT_ANN = {"coffee": 0.67, "sunset": 0.83, "beach": 1.17, "sunset -> beach": None}

#: Colour levels per channel: 4, that is 0, 64, 128 and 192.
REPORT_ANN_LEVELS = 4

#: Side of the gray window around each pixel: 3 (9 inputs).
REPORT_ANN_WINDOW = 3

#: Hidden layer widths of each channel's network: one layer of 9 (a 9-9-4 network).
REPORT_ANN_HIDDEN = (9,)

#: The level stride the difference is divided by: ``d = |dR + dG + dB| / 64``.
REPORT_ANN_STEP = 64

# ---------------------------------------------------------------------------
# Part 2: the CNN
# ---------------------------------------------------------------------------
#: The report's working size: 64 x 64.
REPORT_SIZE = 64

#: The report's printed accuracies (its "sunrise" scenario is our "sunset").
REPORT_FIGURES = {"beach": 0.64, "sunset": 0.54, "forest": 0.57}

#: The report's accuracy tolerance, in a/b units (|predicted - true| <= 10 counts as right).
TOLERANCE = 10.0

#: Learning rate of the report's CNN.
REPORT_CNN_LR = 1e-4

#: Photos per training step.
REPORT_CNN_BATCH = 3

#: Training iterations.
REPORT_CNN_STEPS = 8000

#: Training loss: mean squared error on ab + 128.
REPORT_CNN_LOSS = "mse"

#: The scenes, by our names (the report's "sunrise" is our "sunset").
REPORT_CNN_SCENES = ("beach", "sunset", "forest")

#: Share of each scene's photos used for training (a 7:3 split).
REPORT_CNN_TRAIN_SHARE = 0.7
