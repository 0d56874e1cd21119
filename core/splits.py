"""Train/test splits of photos for the numpy colorizer.

The report trains on the left half of a photo and tests on the right half; we
also offer top/bottom and "train on photo A, test on photo B".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .images import check_image

__all__ = ["SPLITS", "Split", "make_split"]

#: Split names accepted everywhere (CLI ``--split``, dashboard, config).
SPLITS = ("left-right", "top-bottom", "cross-image")


@dataclass(frozen=True, eq=False)
class Split:
    """A training part and a test part.

    Attributes
    ----------
    how : str
        One of :data:`SPLITS`.
    train_rgb : (H1, W1, 3) uint8
        The part the model learns from.
    test_rgb : (H2, W2, 3) uint8
        The part it is scored on.
    """

    how: str
    train_rgb: np.ndarray
    test_rgb: np.ndarray

    def compose(self, train_part: np.ndarray, test_part: np.ndarray) -> np.ndarray:
        """Put a train-side and a test-side image back together.

        For ``left-right`` and ``top-bottom`` this rebuilds the whole photo
        (for example quantized truth on the left, prediction on the right).
        For ``cross-image`` the test part is returned alone.

        Parameters
        ----------
        train_part : (H1, W1, ...) array shaped like ``train_rgb``
        test_part : (H2, W2, ...) array shaped like ``test_rgb``
        """
        if self.how == "left-right":
            return np.concatenate([train_part, test_part], axis=1)
        if self.how == "top-bottom":
            return np.concatenate([train_part, test_part], axis=0)
        return test_part


def make_split(image, how: str = "left-right", train_image=None) -> Split:
    """Split a photo into a training and a test part.

    Parameters
    ----------
    image : (H, W, 3) uint8
        The photo. For ``cross-image`` it is the test photo.
    how : str
        ``"left-right"`` (train left, test right; the report's), ``"top-bottom"``
        (train top, test bottom) or ``"cross-image"`` (train on ``train_image``).
    train_image : (H', W', 3) uint8, optional
        Required for ``cross-image``; giving it implies ``cross-image``.

    Returns
    -------
    Split
    """
    image = check_image(image, name="test image" if train_image is not None else "image")
    if train_image is not None and how != "cross-image":
        how = "cross-image"
    if how == "left-right":
        w = image.shape[1] // 2
        return Split(how, image[:, :w], image[:, w:])
    if how == "top-bottom":
        h = image.shape[0] // 2
        return Split(how, image[:h], image[h:])
    if how == "cross-image":
        if train_image is None:
            raise ValueError("the cross-image split needs a training image (train_image / --train-image)")
        return Split(how, check_image(train_image, name="training image"), image)
    raise ValueError(f"unknown split {how!r}; choose one of {', '.join(SPLITS)}")
