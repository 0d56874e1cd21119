import numpy as np
import pytest

from core.baselines import fit_ab_baselines, fit_rgb_baselines


def test_rgb_baselines_by_hand():
    gray = np.array([10, 10, 10, 200], np.uint8)
    rgb = np.array([[200, 0, 0], [200, 0, 0], [0, 200, 0], [0, 0, 200]], np.uint8)
    b = fit_rgb_baselines(gray, rgb, levels=4)
    # gray: R = G = B = quantized gray
    np.testing.assert_array_equal(b["gray"].predict(np.array([200], np.uint8)), [[192, 192, 192]])
    # mean: (100, 50, 50) -> levels (2, 1, 1) (100/64 = 1.56 -> 2)
    np.testing.assert_array_equal(b["mean"].predict(np.array([0, 255], np.uint8)), [[128, 64, 64]] * 2)
    # lookup: gray 10 -> most common per channel: R 192 (2 of 3), G 0 (2 of 3), B 0
    np.testing.assert_array_equal(b["lookup"].predict(np.array([10], np.uint8)), [[192, 0, 0]])
    np.testing.assert_array_equal(b["lookup"].predict(np.array([200], np.uint8)), [[0, 0, 192]])
    # unseen gray values borrow the nearest seen one
    np.testing.assert_array_equal(
        b["lookup"].predict(np.array([0, 100, 110, 255], np.uint8)),
        [[192, 0, 0], [192, 0, 0], [0, 0, 192], [0, 0, 192]],
    )


def test_rgb_baselines_keep_image_shape():
    gray = np.zeros((5, 7), np.uint8)
    rgb = np.zeros((5, 7, 3), np.uint8)
    for b in fit_rgb_baselines(gray, rgb).values():
        out = b.predict(gray)
        assert out.shape == (5, 7, 3) and out.dtype == np.uint8


def test_ab_baselines_by_hand():
    gray = np.array([50, 50, 50, 60], np.uint8)
    ab = np.array([[10.0, -10.0], [20.0, 0.0], [90.0, 5.0], [-4.0, 4.0]])
    b = fit_ab_baselines(gray, ab)
    np.testing.assert_array_equal(b["gray"].predict(np.array([50], np.uint8)), [[0.0, 0.0]])
    np.testing.assert_allclose(b["mean"].predict(np.array([0], np.uint8)), [[29.0, -0.25]])
    np.testing.assert_allclose(
        b["lookup"].predict(np.array([50, 60, 255], np.uint8)), [[20.0, 0.0], [-4.0, 4.0], [-4.0, 4.0]]
    )


def test_lookup_needs_pixels():
    with pytest.raises(ValueError):
        fit_ab_baselines(np.zeros(0, np.uint8), np.zeros((0, 2)))
