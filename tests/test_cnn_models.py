"""core.cnn.models: the report's network and the U-Net, their shapes, sizes and starting outputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.cnn import count_parameters, describe, get_model, is_bins, is_report, models, predict_ab, recipe
from core.cnn.bins import bin_centres

SMALL = recipe("general", width=8, size=32)


def _out(model, x) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.fixture(scope="module")
def bins_unet():
    return get_model(SMALL)


@pytest.fixture(scope="module")
def huber_unet():
    return get_model(SMALL.replace(loss="huber"))


@pytest.fixture(scope="module")
def report_net():
    return get_model("report")


@pytest.mark.parametrize(("h", "w"), [(32, 32), (48, 80), (64, 16 * 7)])
def test_unet_takes_any_multiple_of_16_and_predicts_at_half_resolution(bins_unet, huber_unet, h, w):
    x = np.random.default_rng(0).uniform(0, 1, (2, h, w, 4)).astype(np.float32)
    assert _out(bins_unet, x).shape == (2, h // 2, w // 2, len(bin_centres()))
    assert _out(huber_unet, x).shape == (2, h // 2, w // 2, 2)


def test_unet_by_name_is_the_general_recipes_network_of_at_most_4_million_parameters():
    m = get_model("unet")  # CNNConfig()'s network
    assert m.input.shape[-1] == 4 and m.output.shape[-1] == len(bin_centres())
    assert count_parameters(get_model(recipe("general"))) == count_parameters(m)
    assert count_parameters(get_model(recipe("general"))) <= 4_000_000


def test_report_network_reads_64x64_lightness_and_gives_8192_values_in_0_255(report_net):
    assert tuple(report_net.input.shape) == (None, 64, 64, 1)
    assert tuple(report_net.output.shape) == (None, 8192)
    y = _out(report_net, np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 1)).astype(np.float32))
    assert y.shape == (2, 8192)
    assert np.all((y >= 0) & (y <= 255))


def test_width_scales_the_unet():
    assert count_parameters(get_model(SMALL)) < count_parameters(get_model(SMALL.replace(width=16)))


@pytest.fixture(scope="module")
def report_described(report_net):
    """describe("report"), on the module's report network (building its 75 million weights takes a while)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models, "get_model", lambda config: report_net if config == "report" else get_model(config))
        return describe("report")


@pytest.mark.parametrize("config", [SMALL, SMALL.replace(loss="huber"), "report"], ids=["bins", "huber", "report"])
def test_describe_rows_add_up_to_the_parameter_total(config, report_described, report_net):
    d = report_described if config == "report" else describe(config)
    assert d["arch"] == ("report" if config == "report" else "unet")
    assert d["parameters"] == sum(row["parameters"] for row in d["layers"])
    assert d["parameters"] == count_parameters(report_net if config == "report" else get_model(config))
    assert {"name", "type", "output_shape", "parameters"} <= set(d["layers"][0])
    assert all(isinstance(row["output_shape"], list) for row in d["layers"])
    assert isinstance(d["input"], str) and d["input"]
    names = [row["name"] for row in d["layers"]]
    assert len(set(names)) == len(names)


def test_describe_the_report_network_layer_by_layer(report_described):
    d = report_described
    assert [r["type"] for r in d["layers"] if r["type"] != "InputLayer"] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
        "Dropout",
        "Dense",
        "Rescaling",
    ]
    assert d["layers"][-1]["output_shape"] == [None, 8192]


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = get_model(SMALL), get_model(SMALL), get_model(SMALL.replace(seed=1))
    wa, wb, wc = a.get_weights(), b.get_weights(), c.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))
    assert any(not np.array_equal(x, y) for x, y in zip(wa, wc))


def test_a_fresh_bins_unet_gives_uniform_logits_decoding_to_the_centres_mean(bins_unet):
    kernel, bias = bins_unet.get_layer("ab_logits").get_weights()
    assert not kernel.any() and not bias.any()  # a zero head: every colour equally likely
    L = np.random.default_rng(0).uniform(0, 100, (2, 32, 48))
    for vividness in (0.0, 0.5, 1.0):  # no stored rebalancing yet: the vividness changes nothing
        ab = predict_ab(bins_unet, L, vividness=vividness)
        np.testing.assert_allclose(ab, np.broadcast_to(bin_centres().mean(0), ab.shape), atol=1e-3)


def test_a_fresh_regression_unet_predicts_exactly_gray(huber_unet):
    ab = predict_ab(huber_unet, np.random.default_rng(0).uniform(0, 100, (32, 32)))
    assert not ab.any()


def test_is_bins_and_is_report(bins_unet, huber_unet, report_net):
    assert is_bins(bins_unet) and not is_report(bins_unet)
    assert not is_bins(huber_unet) and not is_report(huber_unet)
    assert is_report(report_net) and not is_bins(report_net)
    assert not is_bins(get_model(SMALL.replace(loss="mse")))
