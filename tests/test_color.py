import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from core.color import (
    ab2target,
    dequantize,
    gray2rgb,
    lab2rgb,
    lab2uint8,
    level_stride,
    merge_l_ab,
    quantize,
    quantize_rgb,
    rgb2gray,
    rgb2lab,
    target2ab,
)


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        # Reference values (D65): sRGB red, green, blue.
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
    ],
)
def test_rgb2lab_known_values(rgb, lab):
    got = rgb2lab(np.array([[rgb]], dtype=np.uint8))[0, 0]
    np.testing.assert_allclose(got, lab, atol=0.05)


def test_gray_has_no_chroma():
    lab = rgb2lab(np.full((2, 2, 3), 128, np.uint8))
    np.testing.assert_allclose(lab[..., 1:], 0, atol=0.01)  # skimage D65 white: tiny residue


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, (4, 5, 3)))
def test_rgb_lab_round_trip(rgb):
    back = lab2uint8(rgb2lab(rgb))
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_lab2rgb_clips_out_of_gamut_quietly():
    import warnings

    lab = np.array([[[50.0, 127.0, -127.0], [5.0, 0.0, 120.0]]])  # the second one has a negative Z
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the clip is intended: no warning reaches the caller (or the server log)
        out = lab2rgb(lab)
    assert out.min() >= 0 and out.max() <= 1


def test_rgb2gray_weights():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 10, 10]]], np.uint8)
    np.testing.assert_array_equal(rgb2gray(rgb)[0], [round(0.2125 * 255), round(0.7154 * 255), round(0.0721 * 255), 10])
    assert rgb2gray(rgb).dtype == np.uint8


def test_gray_and_lab_lightness_agree():
    # L is a monotone function of the same luminance the ANN sees.
    ramp = gray2rgb(np.arange(256, dtype=np.uint8)[None, :])
    light = rgb2lab(ramp)[0, :, 0]
    assert np.all(np.diff(light) > 0)
    np.testing.assert_array_equal(rgb2gray(ramp)[0], np.arange(256))


def test_quantize_report_levels():
    values = np.array([0, 31, 32, 63, 64, 95, 96, 159, 160, 191, 192, 223, 224, 255])
    np.testing.assert_array_equal(quantize(values, 4), [0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3])
    np.testing.assert_array_equal(dequantize([0, 1, 2, 3], 4), [0, 64, 128, 192])
    np.testing.assert_array_equal(np.unique(quantize_rgb(np.arange(256, dtype=np.uint8), 4)), [0, 64, 128, 192])


@pytest.mark.parametrize("levels", [2, 4, 8, 16, 256])
def test_quantize_is_idempotent_and_nearest(levels):
    v = np.arange(256)
    q = dequantize(quantize(v, levels), levels)
    np.testing.assert_array_equal(dequantize(quantize(q, levels), levels), q)
    s = level_stride(levels)
    # Below the top level, quantization is to the nearest level.
    inside = v < (levels - 1) * s
    assert np.all(np.abs(q[inside].astype(float) - v[inside]) <= s / 2)


def test_level_stride_rejects_nonsense():
    with pytest.raises(ValueError, match="levels"):
        level_stride(1)


def test_ab_target_offset_and_merge():
    ab = np.array([[-128.0, 127.0]])
    np.testing.assert_array_equal(ab2target(ab), [[0.0, 255.0]])
    np.testing.assert_array_equal(target2ab(ab2target(ab)), ab)
    lab = merge_l_ab(np.full((2, 3), 50.0), np.zeros((2, 3, 2)))
    assert lab.shape == (2, 3, 3) and np.all(lab[..., 0] == 50)
