"""core.cnn.train: progress events, stop requests, checkpoints and resuming, divergence, rebalancing."""

from __future__ import annotations

import json
import threading

import keras
import numpy as np
import pytest

from core.cnn import TrainingError, TrainResult, get_model, recipe, train_cnn
from core.cnn.bins import bin_centres
from core.cnn.train import _divide_out, _should_stop, class_weights
from core.datasets import lab_arrays
from core.images import load_sample, resize

# Keras' own model.save() under numpy 2 (third-party, harmless)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

# regression keeps these runs quick: no class weights, and the live accuracy scores the model itself
TINY = recipe("general", loss="huber", width=8, size=32, batch_size=2, steps=5)
EVENT_KEYS = {"step", "steps", "loss", "accuracy", "seconds"}


@pytest.fixture(scope="module")
def photos():
    return [resize(load_sample("coffee"), (64, 80)), resize(load_sample("chelsea"), (72, 56))]


@pytest.fixture(scope="module")
def monitor(photos):
    return lab_arrays(photos, 32)


@pytest.fixture(scope="module")
def stopped(photos, monitor, tmp_path_factory):
    """A checkpointed run, stopped after its second step; and the events its progress callback saw."""
    ckpt = tmp_path_factory.mktemp("ckpt")
    calls, events = [], []

    def stop():
        calls.append(1)
        return len(calls) >= 2

    result = train_cnn(TINY, photos, monitor=monitor, progress=events.append, stop=stop, checkpoint_dir=ckpt)
    return result, events, ckpt


@pytest.fixture(scope="module")
def resumed(stopped, photos, monitor):
    _, _, ckpt = stopped
    events = []
    result = train_cnn(TINY, photos, monitor=monitor, progress=events.append, checkpoint_dir=ckpt, resume=True)
    return result, events


def test_a_stop_request_ends_training_with_the_model_so_far(stopped):
    result, events, _ = stopped
    assert isinstance(result, TrainResult)
    assert result.stopped is True
    assert result.steps_done == 2 < TINY.steps
    assert "stopped at step 2 of 5" in result.message
    assert result.config == TINY
    assert isinstance(result.model, keras.Model)
    assert result.seconds > 0


def test_progress_events_have_the_documented_keys(stopped, resumed):
    for result, events in (stopped[:2], resumed):
        assert events == result.history and events
        for ev in events:
            assert set(ev) == EVENT_KEYS
            assert ev["steps"] == TINY.steps and 1 <= ev["step"] <= TINY.steps
            assert np.isfinite(ev["loss"]) and ev["seconds"] >= 0
            assert ev["accuracy"] is None or 0.0 <= ev["accuracy"] <= 1.0
        steps = [ev["step"] for ev in events]
        assert steps == sorted(set(steps))
        assert any(ev["accuracy"] is not None for ev in events)  # a monitor was given
        assert events[-1]["accuracy"] is not None  # the last event is always scored


def test_a_checkpoint_is_written_and_a_resumed_run_goes_on_to_the_last_step(stopped, resumed):
    _, _, ckpt = stopped
    result, events = resumed
    assert {"model.keras", "optimizer.npz", "state.json"} <= {p.name for p in ckpt.iterdir()}
    state = json.loads((ckpt / "state.json").read_text())
    assert state["config"] == TINY.to_dict()
    assert result.stopped is False
    assert result.steps_done == TINY.steps == state["step"]  # the finished run checkpointed its last step
    assert [ev["step"] for ev in events] == [3, 4, 5]  # it went on after step 2
    assert result.seconds >= stopped[0].seconds  # the time before the resume is counted
    assert "trained 5 steps" in result.message


def test_resuming_with_another_config_is_refused(stopped, photos):
    _, _, ckpt = stopped
    with pytest.raises(ValueError, match="another config"):
        train_cnn(TINY.replace(seed=9), photos, checkpoint_dir=ckpt, resume=True)


def test_a_huge_learning_rate_raises_a_training_error_suggesting_a_lower_rate(photos):
    config = TINY.replace(lr=1e6, steps=16, schedule="constant", hints=False)
    with pytest.raises(TrainingError, match=r"diverged at step \d+.*lower learning rate than 1e\+06"):
        train_cnn(config, photos)


def test_stop_accepts_a_callable_or_an_event():
    assert _should_stop(None) is False
    assert _should_stop(lambda: True) is True and _should_stop(lambda: 0) is False
    event = threading.Event()
    assert _should_stop(event) is False
    event.set()
    assert _should_stop(event) is True


def test_class_weights_cover_the_bins_with_mean_1_under_the_photos_colours(photos):
    w = class_weights(photos)
    assert w.shape == (len(bin_centres()),) and np.all(w > 0)
    assert w.min() < 1.0 < w.max()  # common colours weigh less than rare ones


def test_divide_out_makes_the_softmax_proportional_to_the_old_one_over_the_weights():
    model = get_model(recipe("general", width=8, size=32))
    layer = model.get_layer("ab_logits")
    kernel, bias = layer.get_weights()
    rng = np.random.default_rng(0)
    layer.set_weights(
        [rng.normal(0, 0.3, kernel.shape).astype(np.float32), rng.normal(0, 1, bias.shape).astype(np.float32)]
    )
    x = np.zeros((1, 32, 32, 4), np.float32)
    x[..., 0] = rng.uniform(0, 1, (32, 32))

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    before = softmax(keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64))
    w = rng.uniform(0.2, 5.0, len(bin_centres())).astype(np.float32)
    _divide_out(model, w)
    after = softmax(keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64))
    expect = before / w
    expect /= expect.sum(-1, keepdims=True)
    np.testing.assert_allclose(after, expect, rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(model.get_layer("ab_logits").get_weights()[0], layer.get_weights()[0])
