"""core.cnn.config: validation, hashing, (de)serialisation and the named recipes."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from core.cnn.config import ARCHS, LOSSES, RECIPES, CNNConfig, recipe


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arch": "vgg"}, r"arch must be one of report, unet; got 'vgg'"),
        ({"loss": "l1"}, r"loss must be one of mse, huber, bins; got 'l1'"),
        ({"arch": "report", "loss": "bins"}, r"loss 'bins' needs arch 'unet'"),
        ({"lr": 0}, r"learning rate must be a positive number; got 0"),
        ({"lr": -1e-3}, r"learning rate must be a positive number; got -0.001"),
        ({"lr": math.nan}, r"learning rate must be a positive number; got nan"),
        ({"lr": math.inf}, r"learning rate must be a positive number; got inf"),
        ({"size": 40}, r"crop size must be a multiple of 16, at least 32; got 40"),
        ({"size": 16}, r"crop size must be a multiple of 16, at least 32; got 16"),
        ({"batch_size": 0}, r"batch_size must be at least 1"),
        ({"steps": 0}, r"steps must be at least 1"),
        ({"width": 2}, r"width must be at least 4"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\)"),
        ({"schedule": "step"}, r"schedule must be 'cosine' or 'constant'"),
    ],
)
def test_invalid_configs_say_what_is_wrong(changes, message):
    with pytest.raises(ValueError, match=message):
        CNNConfig(**changes)


def test_the_report_network_takes_any_size_and_the_unet_multiples_of_16():
    assert CNNConfig(arch="report", loss="mse", size=40).size == 40
    for size in (32, 48, 64, 96, 128):
        assert CNNConfig(size=size).size == size


def test_replace_validates_again():
    with pytest.raises(ValueError, match="multiple of 16"):
        CNNConfig().replace(size=50)
    assert CNNConfig().replace(steps=7).steps == 7


def test_configs_are_frozen_hashable_and_equal_by_value():
    a, b = CNNConfig(), CNNConfig()
    assert a == b and hash(a) == hash(b)
    assert CNNConfig(lr=1) == CNNConfig(lr=1.0) and hash(CNNConfig(lr=1)) == hash(CNNConfig(lr=1.0))
    assert isinstance(CNNConfig(lr=1).lr, float)
    table = {a: "first", CNNConfig(steps=5): "second"}
    assert table[b] == "first"
    assert table[CNNConfig().replace(steps=5)] == "second"
    assert CNNConfig(seed=1) != a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.steps = 3  # type: ignore[misc]


def test_to_dict_from_dict_round_trip_through_json_ignoring_unknown_keys():
    c = CNNConfig(loss="huber", width=8, lr=3e-4, steps=17, size=48, seed=4, hints=False, init="general")
    d = json.loads(json.dumps(c.to_dict()))
    assert set(d) == {f.name for f in dataclasses.fields(CNNConfig)}
    assert CNNConfig.from_dict(d) == c
    assert CNNConfig.from_dict({**d, "ema": 0.99, "members": 3}) == c
    assert CNNConfig.from_dict({"steps": 9}) == CNNConfig(steps=9)


def test_from_dict_validates():
    with pytest.raises(ValueError, match="arch must be one of"):
        CNNConfig.from_dict({**CNNConfig().to_dict(), "arch": "resnet"})


def test_the_recipes():
    assert set(RECIPES) == {"general", "scenario", "report"}
    general, scenario, report = recipe("general"), recipe("scenario"), recipe("report")
    assert (general.arch, general.loss, general.rebalance, general.hints) == ("unet", "bins", True, True)
    assert general.init is None
    assert (scenario.arch, scenario.loss, scenario.init, scenario.rebalance) == ("unet", "bins", "general", False)
    assert scenario.steps < general.steps and scenario.lr < general.lr
    # the report's setup: MSE, Adam at 1e-4, batch 3, 8000 steps on 64 x 64 photos, a constant rate
    assert (report.arch, report.loss, report.lr, report.batch_size, report.steps, report.size) == (
        "report",
        "mse",
        1e-4,
        3,
        8000,
        64,
    )
    assert report.schedule == "constant" and not report.hints
    for cfg in RECIPES.values():
        assert cfg.arch in ARCHS and cfg.loss in LOSSES


def test_recipe_overrides_change_only_what_is_asked_and_are_validated():
    base = recipe("general")
    short = recipe("general", steps=10, seed=3)
    assert (short.steps, short.seed) == (10, 3)
    assert short.replace(steps=base.steps, seed=base.seed) == base
    assert recipe("general") == base  # the stored recipe is untouched
    assert recipe("general") is RECIPES["general"]
    with pytest.raises(ValueError, match="multiple of 16"):
        recipe("general", size=33)


def test_an_unknown_recipe_names_the_recipes():
    with pytest.raises(ValueError, match=r"no recipe 'fancy'; the recipes are general, scenario, report"):
        recipe("fancy")


def test_the_config_stays_small():
    assert len(dataclasses.fields(CNNConfig)) <= 15
