"""The numpy network: gradients, optimizers, windows, training events."""

import numpy as np
import pytest

from core.ann import (
    PRESETS,
    ANNConfig,
    ANNTrainer,
    Network,
    WindowSampler,
    make_optimizer,
    per_sample_sgd_epoch,
    preset,
    run_ann,
)
from core.color import rgb2gray
from core.splits import make_split


def numeric_grad(net, x, t, param, eps=1e-6, n=12, seed=0):
    """Central differences on ``n`` random entries of ``param``."""
    rng = np.random.default_rng(seed)
    flat = param.reshape(-1)
    picks = rng.choice(flat.size, size=min(n, flat.size), replace=False)
    out = []
    for i in picks:
        old = flat[i]
        flat[i] = old + eps
        up = net.loss_fn.forward(net.logits(x), t)
        flat[i] = old - eps
        down = net.loss_fn.forward(net.logits(x), t)
        flat[i] = old
        out.append((up - down) / (2 * eps))
    return picks, np.array(out)


@pytest.mark.parametrize("structure", ["per-channel", "shared"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("hidden", [(), (6,), (7, 5)])
def test_gradient_check(structure, activation, hidden):
    rng = np.random.default_rng(1)
    net = Network(9, hidden, 4, activation, structure, seed=3, dtype=np.float64)
    x = rng.standard_normal((11, 9))
    t = rng.integers(0, 4, (3, 11))
    net.loss_and_grad(x, t)
    for param, grad in net.params():
        analytic = grad.copy().reshape(-1)
        picks, numeric = numeric_grad(net, x, t, param)
        np.testing.assert_allclose(analytic[picks], numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam"])
def test_each_optimizer_descends(name):
    rng = np.random.default_rng(0)
    net = Network(9, (8,), 4, "sigmoid", "per-channel", seed=0, dtype=np.float64)
    x = rng.standard_normal((64, 9))
    t = rng.integers(0, 4, (3, 64))
    opt = make_optimizer(name, net.flat_params(), lr=1e-3)
    before = net.flat.copy()
    loss0 = net.loss_and_grad(x, t)
    grad = net.flat_grad.copy()
    opt.step()
    step = net.flat - before
    assert np.dot(step, grad) < 0  # moved against the gradient
    assert net.loss_and_grad(x, t) < loss0
    for _ in range(30):
        opt.step()
        net.loss_and_grad(x, t)
    assert net.loss_and_grad(x, t) < loss0


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("lbfgs", [], 0.1)


def test_windows_match_naive_slices():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    s = WindowSampler(gray, 3, np.float64)
    padded = np.pad(gray.astype(float) / 127.5 - 1, 1, mode="edge")
    for r, c in [(0, 0), (2, 3), (5, 7), (0, 7)]:
        expected = padded[r : r + 3, c : c + 3].ravel()
        np.testing.assert_allclose(s.windows(np.array([r * 8 + c]))[0], expected)
    assert s.windows().shape == (48, 9)
    assert np.concatenate(list(s.chunks(size=5))).shape == (48, 9)


def test_vectorised_matches_per_sample_loop():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (8, 9), dtype=np.uint8)
    levels = rng.integers(0, 4, (3, 72))
    sampler = WindowSampler(gray, 3, np.float64)
    a = Network(9, (5,), 4, "sigmoid", "per-channel", seed=2, dtype=np.float64)
    b = Network(9, (5,), 4, "sigmoid", "per-channel", seed=2, dtype=np.float64)
    order = rng.permutation(72)[:40]
    opt = make_optimizer("sgd", a.flat_params(), 0.3)
    for i in order:
        a.loss_and_grad(sampler.windows(np.array([i])), levels[:, [i]])
        opt.step()
    per_sample_sgd_epoch(b, sampler, levels, 0.3, order, "sigmoid")
    np.testing.assert_allclose(a.flat, b.flat, rtol=1e-9, atol=1e-12)


def test_training_lowers_loss_and_beats_gray(small_photo):
    split = make_split(small_photo)
    trainer = ANNTrainer(preset("default", epochs=10, batch_size=32), split)
    events = [e for e in trainer.train() if e.kind == "epoch"]
    assert events[-1].loss < events[0].loss
    result = trainer.result()
    assert result.seed_difference < result.baselines["gray"]["seed_difference"]
    assert result.test_pred.shape == split.test_rgb.shape
    assert set(np.unique(result.test_pred)) <= {0, 64, 128, 192}


def test_seeded_runs_are_reproducible(small_photo):
    split = make_split(small_photo)
    c = preset("report", epochs=2)
    a, b = run_ann(c, split), run_ann(c, split)
    np.testing.assert_array_equal(a.model.network.flat, b.model.network.flat)
    c2 = preset("report", epochs=2, seed=1)
    assert not np.array_equal(a.model.network.flat, run_ann(c2, split).model.network.flat)


def test_event_stream_previews_and_stop(small_photo):
    split = make_split(small_photo, "top-bottom")
    trainer = ANNTrainer(preset("report", epochs=6, preview_every=2), split)
    kinds = []
    for e in trainer.train():
        kinds.append(e.kind)
        if e.kind == "preview":
            assert e.preview.shape == small_photo.shape
    assert kinds.count("epoch") == 6 and kinds.count("preview") == 2 and kinds[-1] == "done"

    trainer = ANNTrainer(preset("report", epochs=50), split)
    for e in trainer.train():
        if e.epoch == 2:
            break  # a consumer stops at any event
    r = trainer.result()
    assert r.epochs_run == 2 and len(r.history) == 2 and r.stopped

    trainer = ANNTrainer(preset("report", epochs=50), split)
    for e in trainer.train():
        if e.kind == "epoch":
            trainer.request_stop()
    assert e.kind == "done" and "stopped" in e.message
    assert trainer.result().stopped and trainer.result().epochs_run == 1

    trainer = ANNTrainer(preset("report", epochs=1), split)
    for _ in trainer.train():
        pass
    assert not trainer.result().stopped
    trainer.request_stop()  # a stop asked for after the last epoch still marks the run stopped
    assert trainer.result().stopped


def test_divergence_is_reported_not_raised(small_photo):
    split = make_split(small_photo)
    trainer = ANNTrainer(preset("default", optimizer="sgd", lr=10.0, epochs=5), split)
    events = list(trainer.train())
    assert events[-1].kind == "diverged"
    assert "learning rate" in events[-1].message and "try" in events[-1].message
    result = trainer.result()
    assert result.diverged and result.to_dict()["diverged"]


def test_result_views(small_photo):
    r = run_ann(preset("default", epochs=2, levels=8), make_split(small_photo))
    assert r.confusion.shape == (3, 8, 8) and r.confusion[0].sum() == r.test_pred.shape[0] * r.test_pred.shape[1]
    assert r.error_map.shape == r.test_pred.shape[:2]
    assert r.first_layer_weights.shape == (3, 25, 32)
    assert r.full_image().shape == small_photo.shape
    d = r.to_dict()
    assert set(d["baselines"]) == {"gray", "mean", "lookup"} and d["config"]["levels"] == 8


def test_cross_image_and_colorize(small_photo, coffee):
    from core.images import resize

    other = resize(coffee[:, ::-1], (50, 70))
    split = make_split(small_photo, train_image=other)
    assert split.how == "cross-image" and split.test_rgb is not None
    r = run_ann(preset("report", epochs=1), split)
    assert r.full_image().shape == small_photo.shape
    out = r.model.colorize(rgb2gray(coffee))
    assert out.shape == coffee.shape


def test_shared_structure_trains(small_photo):
    r = run_ann(preset("default", structure="shared", epochs=3), make_split(small_photo))
    assert r.first_layer_weights.shape[0] == 1
    assert r.history[-1]["loss"] < r.history[0]["loss"]


@pytest.mark.parametrize(
    "kw, pattern",
    [
        ({"window": 4}, "window"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr": -1.0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"epochs": 0}, "epochs"),
        ({"levels": 1}, "levels"),
    ],
)
def test_config_validation(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        ANNConfig(**kw)


def test_presets_are_hashable_and_as_documented():
    assert {PRESETS["report"], PRESETS["default"]}
    r = PRESETS["report"]
    assert (r.window, r.levels, r.hidden, r.structure, r.optimizer) == (3, 4, (9,), "per-channel", "sgd")
    with pytest.raises(ValueError, match="preset"):
        preset("fancy")


def test_per_epoch_scores_on_a_sample_track_the_exact_ones(small_photo):
    """``score_sample`` scores a fixed random sample between epochs; the final result stays exact."""
    split = make_split(small_photo, "left-right")
    exact = ANNTrainer(preset("default", epochs=4, preview_every=0), split)
    sampled = ANNTrainer(preset("default", epochs=4, preview_every=0, score_sample=1000), split)
    list(exact.train())
    list(sampled.train())
    for a, b in zip(exact.history, sampled.history, strict=True):
        assert a["loss"] == b["loss"]  # the same training: only the scoring differs
        assert abs(a["test_difference"] - b["test_difference"]) < 0.1
    assert exact.result().seed_difference == sampled.result().seed_difference
    with pytest.raises(ValueError, match="score_sample"):
        preset("default", score_sample=-1)
