"""core.cnn.predict: predict_ab, full-resolution colorize, hints and vividness.

The models are untrained U-Nets whose last layer is set to seeded random values, so their output depends on the
input and on the hints (a fresh U-Net's last layer is zero: it would predict one colour everywhere).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.cnn import CNNConfig, colorize, colorize_lab, get_model, predict_ab, recipe
from core.cnn.data import hint_map
from core.cnn.predict import HINT_BOX, WORKING_SIZE, parse_hints
from core.color import rgb2gray, rgb2lab
from core.images import ImageError, load_sample, resize


def _randomise_head(model, name: str, kernel_std: float, bias_std: float, seed: int = 0):
    layer = model.get_layer(name)
    kernel, bias = layer.get_weights()
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [
            rng.normal(0, kernel_std, kernel.shape).astype(np.float32),
            rng.normal(0, bias_std, bias.shape).astype(np.float32),
        ]
    )
    return model


@pytest.fixture(scope="module")
def bins_model():
    """A classifier with a mild random head: moderate colours that vary over the photo."""
    return _randomise_head(get_model(recipe("general", width=8, size=32)), "ab_logits", 0.5, 0.0)


@pytest.fixture(scope="module")
def vivid_model():
    """A classifier with a peaked random head: its colour choice matters."""
    return _randomise_head(get_model(recipe("general", width=8, size=32)), "ab_logits", 0.5, 2.0)


@pytest.fixture(scope="module")
def huber_model():
    return _randomise_head(get_model(recipe("general", loss="huber", width=8, size=32)), "ab_scaled", 0.05, 0.05)


@pytest.fixture(scope="module")
def report_model():
    """The report's architecture at a small side (16), to stay quick."""
    return get_model(CNNConfig(arch="report", loss="mse", size=16, hints=False))


@pytest.fixture(scope="module")
def photo():
    return resize(load_sample("coffee"), (64, 80))


def _chroma(ab) -> float:
    return float(np.hypot(ab[..., 0], ab[..., 1]).mean())


# --------------------------------------------------------------------------- colorize


@pytest.mark.parametrize("shape", [(64, 80), (37, 53), (150, 200)])
def test_colorize_keeps_the_size_and_the_lightness(bins_model, shape):
    rgb = resize(load_sample("coffee"), shape)
    out = colorize(bins_model, rgb)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    dL = np.abs(rgb2lab(out)[..., 0] - rgb2lab(rgb)[..., 0]).mean()
    assert dL < 1.5  # RGB rounding and gamut clipping only
    assert np.abs(rgb2lab(out)[..., 1:]).max() > 1  # it did colour


def test_colorize_lab_keeps_the_exact_lightness(bins_model, photo):
    lab = colorize_lab(bins_model, photo)
    assert lab.shape == (64, 80, 3)
    np.testing.assert_array_equal(lab[..., 0], rgb2lab(photo)[..., 0])


def test_colorize_takes_gray_as_h_w_or_as_three_equal_channels(bins_model, photo):
    gray = rgb2gray(photo)
    a = colorize(bins_model, gray)
    assert a.shape == (64, 80, 3)
    b = colorize(bins_model, np.repeat(gray[..., None], 3, axis=-1))
    np.testing.assert_array_equal(a, b)


def test_colorize_works_on_gray_input_of_odd_size(bins_model):
    gray = np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8)
    out = colorize(bins_model, gray)
    assert out.shape == (37, 53, 3)
    assert np.abs(rgb2lab(out)[..., 0] - rgb2lab(np.repeat(gray[..., None], 3, -1))[..., 0]).mean() < 1.5


def test_colorize_rejects_bad_images_and_working_sizes(bins_model, photo):
    with pytest.raises(ImageError):
        colorize(bins_model, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="working size must be at least 16"):
        colorize(bins_model, photo, working_size=8)


def test_a_smaller_working_size_is_used_for_big_photos_only(bins_model, photo):
    assert WORKING_SIZE == 128
    # photo is smaller than the working size: never enlarged, so the default and a bigger size agree
    np.testing.assert_array_equal(colorize(bins_model, photo), colorize(bins_model, photo, working_size=256))
    small = colorize(bins_model, photo, working_size=32)
    assert small.shape == photo.shape


def test_the_report_network_colorizes_any_size_and_takes_no_hints(report_model, photo):
    assert colorize(report_model, photo).shape == photo.shape
    with pytest.raises(ValueError, match="takes no colour hints"):
        colorize(report_model, photo, hints=[(5, 5, (255, 0, 0))])


# --------------------------------------------------------------------------- hints


def test_parse_hints_maps_photo_pixels_to_working_size_boxes_and_rgb_to_ab():
    pts = parse_hints([(100, 50, (255, 0, 0)), (0, 0, (0, 0, 255)), (199.5, 99.5, [0, 255, 0])], (100, 200), (50, 100))
    r = HINT_BOX // 2
    red_ab = rgb2lab(np.array([[[255, 0, 0]]], np.uint8))[0, 0, 1:]
    assert pts[0][:4] == (25 - r, 25 + r + 1, 50 - r, 50 + r + 1)
    np.testing.assert_allclose(pts[0][4:], red_ab)
    assert pts[1][:4] == (0, r + 1, 0, r + 1)  # clipped at the top left
    np.testing.assert_allclose(pts[1][4:], rgb2lab(np.array([[[0, 0, 255]]], np.uint8))[0, 0, 1:])
    assert pts[2][:4] == (49 - r, 50, 99 - r, 100)  # clipped at the bottom right
    assert parse_hints(None, (10, 10), (10, 10)) == [] and parse_hints([], (10, 10), (10, 10)) == []


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ([(200, 10, (0, 0, 0))], r"hint 1 at \(200, 10\) is outside the 200x100 photo"),
        ([(5, 5, (0, 0, 0)), (-1, 10, (0, 0, 0))], r"hint 2 at \(-1, 10\) is outside"),
        ([(5, 100, (0, 0, 0))], r"hint 1 at \(5, 100\) is outside"),
        ([(5, 5, (300, 0, 0))], r"hint 1's colour .* must have values in \[0, 255\]"),
        ([(5, 5, (0, 0, 0)), (5, 5, (0, -1, 0))], r"hint 2's colour"),
        ([(5, 5, (1, 2))], r"hint 1 must be \(x, y, \(r, g, b\)\)"),
        ([(5, 5)], r"hint 1 must be \(x, y, \(r, g, b\)\)"),
        ([(5, 5, (0, 0, 0)), ("x", 5, (0, 0, 0))], r"hint 2 must be"),
    ],
)
def test_bad_hints_raise_naming_the_hint(hints, message):
    with pytest.raises(ValueError, match=message):
        parse_hints(hints, (100, 200), (50, 100))


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_a_nan_hint_colour_is_refused():
    with pytest.raises(ValueError, match="hint 1's colour"):
        parse_hints([(5, 5, (math.nan, 0, 0))], (100, 200), (50, 100))


def test_a_hint_map_changes_the_prediction_most_near_the_hint(vivid_model):
    L = rgb2lab(resize(load_sample("coffee"), (48, 64)))[..., 0]
    maps = hint_map((48, 64), [(20, 23, 30, 33, 70.0, 60.0)])
    plain, hinted = predict_ab(vivid_model, L), predict_ab(vivid_model, L, maps)
    diff = np.hypot(*(hinted - plain).transpose(2, 0, 1))
    assert diff.max() > 1.0
    assert diff[16:28, 26:38].mean() > diff.mean()  # the change centres on the hint
    np.testing.assert_array_equal(predict_ab(vivid_model, L, np.zeros((48, 64, 3))), plain)


def test_colorize_with_a_hint_changes_the_output(vivid_model, photo):
    plain = colorize(vivid_model, photo)
    hinted = colorize(vivid_model, photo, hints=[(40, 30, (255, 0, 0))])
    assert hinted.shape == plain.shape
    assert np.abs(hinted.astype(int) - plain.astype(int)).max() > 0
    with pytest.raises(ValueError, match="outside"):
        colorize(vivid_model, photo, hints=[(80, 30, (255, 0, 0))])  # x = 80 is past the 80-pixel-wide photo


# --------------------------------------------------------------------------- vividness


def test_more_vividness_favours_the_rare_colours_the_model_was_rebalanced_toward(vivid_model):
    from core.cnn.bins import bin_centres

    layer = vivid_model.get_layer("rebalance")
    old = np.asarray(layer.log_w)
    layer.log_w.assign((bin_centres()[:, 0] / 20.0).astype(np.float32))  # as if reds (a > 0) had been rare
    try:
        L = rgb2lab(resize(load_sample("coffee"), (48, 64)))[..., 0]
        red = [float(predict_ab(vivid_model, L, vividness=v)[..., 0].mean()) for v in (0.0, 0.3, 0.7, 1.0)]
        assert all(a < b for a, b in zip(red, red[1:]))  # more vivid: further toward the weighted-up colours
        np.testing.assert_array_equal(predict_ab(vivid_model, L), predict_ab(vivid_model, L, vividness=0.5))
    finally:
        layer.log_w.assign(old)


@pytest.mark.parametrize("vividness", [-0.1, 1.5, float("nan")])
def test_vividness_outside_0_1_is_refused(vivid_model, photo, vividness):
    with pytest.raises(ValueError, match=r"vividness must lie in \[0, 1\]"):
        predict_ab(vivid_model, np.full((32, 32), 50.0), vividness=vividness)
    with pytest.raises(ValueError, match="vividness"):
        colorize(vivid_model, photo, vividness=vividness)


def test_regression_models_ignore_vividness(huber_model):
    L = np.random.default_rng(0).uniform(0, 100, (32, 48))
    base = predict_ab(huber_model, L)
    assert np.abs(base).max() > 0.1
    np.testing.assert_array_equal(predict_ab(huber_model, L, vividness=0.1), base)


# --------------------------------------------------------------------------- predict_ab shapes


def test_predict_ab_shapes_and_batches(bins_model):
    rng = np.random.default_rng(1)
    L = rng.uniform(0, 100, (3, 37, 53))
    out = predict_ab(bins_model, L, batch_size=2)
    assert out.shape == (3, 37, 53, 2) and out.dtype == np.float32
    np.testing.assert_allclose(predict_ab(bins_model, L[..., None]), out, atol=1e-4)
    single = predict_ab(bins_model, L[1])
    assert single.shape == (37, 53, 2)
    np.testing.assert_allclose(single, out[1], atol=1e-4)  # a photo's colours do not depend on its batch


@pytest.mark.parametrize("shape", [(2, 32, 32, 3), (32,), (1, 1, 32, 32, 1)])
def test_predict_ab_rejects_wrong_shapes(bins_model, shape):
    with pytest.raises(ValueError, match="lightness must be"):
        predict_ab(bins_model, np.zeros(shape))


def test_the_report_network_needs_its_own_size(report_model):
    assert predict_ab(report_model, np.full((2, 16, 16), 50.0)).shape == (2, 16, 16, 2)
    with pytest.raises(ValueError, match=r"the report's network takes 16x16 L; got 24x20"):
        predict_ab(report_model, np.full((20, 24), 50.0))
