"""core.cnn.data: crops with flips and hints, hint maps, and the report's whole-photo batches."""

from __future__ import annotations

import numpy as np
import pytest

from core.cnn.data import CropBatches, ReportBatches, half_resolution, hint_map, random_hints
from core.cnn.models import HINT_SCALE
from core.color import rgb2lab
from core.images import load_sample, resize


@pytest.fixture(scope="module")
def photos():
    return [resize(load_sample("coffee"), (64, 80)), resize(load_sample("chelsea"), (72, 56))]


def _batches(photos, **kw):
    args = {"batch_size": 3, "steps": 40, "size": 32, "seed": 0, "hints": True, **kw}
    return CropBatches(
        photos, args["batch_size"], args["steps"], args["size"], args["seed"], args["hints"], kw.get("start", 0)
    )


def test_crop_batch_shapes_dtypes_and_ranges(photos):
    data = _batches(photos)
    seen_hints = False
    for i in range(12):
        x, y = data.batch(i)
        assert x.shape == (3, 32, 32, 4) and x.dtype == np.float32
        assert y.shape == (3, 16, 16, 2) and y.dtype == np.float32
        assert x[..., 0].min() >= 0.0 and x[..., 0].max() <= 1.0
        assert np.all(np.abs(x[..., 1:3]) <= 1.2)
        mask = x[..., 3]
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert not x[..., 1:3][mask == 0].any()  # no colour where there is no hint
        assert np.all(np.abs(y) <= 128)
        seen_hints |= bool(mask.any())
    assert seen_hints


def test_inputs_and_targets_are_the_lightness_and_colours_of_the_crops():
    """Flat photos: each crop's L is its photo's L, and its a/b target its photo's a/b, wherever it was cut."""
    flat = [np.full((48, 60, 3), rgb, np.uint8) for rgb in ((200, 60, 30), (40, 90, 220))]
    lab = [rgb2lab(np.array(rgb, np.uint8).reshape(1, 1, 3))[0, 0] for rgb in ((200, 60, 30), (40, 90, 220))]
    x, y = CropBatches(flat, 6, 1, 32, 0, False).batch(0)
    for j in range(6):
        k = int(np.argmin([abs(x[j, 0, 0, 0] * 100 - c[0]) for c in lab]))  # which photo the crop came from
        np.testing.assert_allclose(x[j, ..., 0] * 100, lab[k][0], atol=1e-3)
        np.testing.assert_allclose(y[j], np.broadcast_to(lab[k][1:], (16, 16, 2)), atol=1e-3)


def test_crops_of_a_real_photo_vary(photos):
    x, y = _batches(photos, hints=False).batch(5)
    L = x[..., 0] * 100
    assert np.all(L.max(axis=(1, 2)) > L.min(axis=(1, 2)) + 5)
    assert np.ptp(np.hypot(y[..., 0], y[..., 1])) > 5


def test_batches_are_deterministic_by_seed_and_index(photos):
    a, b = _batches(photos), _batches(photos)
    for i in (0, 7):
        xa, ya = a.batch(i)
        xb, yb = b.batch(i)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a.batch(0)[0], a.batch(1)[0])
    assert not np.array_equal(a.batch(0)[0], _batches(photos, seed=1).batch(0)[0])


def test_start_offsets_the_batches_and_the_length(photos):
    full, resumed = _batches(photos), _batches(photos, start=3)
    assert len(full) == 40 and len(resumed) == 37
    for k in (0, 4):
        np.testing.assert_array_equal(resumed[k][0], full.batch(3 + k)[0])
        np.testing.assert_array_equal(resumed[k][1], full.batch(3 + k)[1])
        np.testing.assert_array_equal(full[3 + k][0], full.batch(3 + k)[0])


def test_about_half_the_batches_carry_hints_and_none_without_hints(photos):
    with_hints = _batches(photos, batch_size=1, steps=80)
    share = np.mean([with_hints.batch(i)[0][..., 3].any() for i in range(80)])
    assert 0.3 <= share <= 0.7
    without = _batches(photos, batch_size=1, steps=40, hints=False)
    assert not any(without.batch(i)[0][..., 1:].any() for i in range(40))


def test_a_hinted_batch_hints_every_crop_with_its_own_colours(photos):
    data = _batches(photos, batch_size=2, steps=40)
    i = next(i for i in range(40) if data.batch(i)[0][..., 3].any())
    x, _ = data.batch(i)
    assert all(x[j, ..., 3].any() for j in range(2))


def test_hint_map_puts_colour_and_mask_exactly_in_the_boxes():
    m = hint_map((10, 12), [(1, 3, 2, 5, 55.0, -22.0), (8, 10, 11, 12, -110.0, 0.0)])
    assert m.shape == (10, 12, 3) and m.dtype == np.float32
    expect = np.zeros((10, 12, 3), np.float32)
    expect[1:3, 2:5] = (55 / HINT_SCALE, -22 / HINT_SCALE, 1)
    expect[8:10, 11:12] = (-1.0, 0.0, 1)
    np.testing.assert_allclose(m, expect)
    assert not hint_map((4, 4)).any()


def test_random_hints_lie_inside_and_carry_their_boxes_mean_colour():
    rng = np.random.default_rng(3)
    ab = rng.uniform(-60, 60, (20, 30, 2))
    points = random_hints(ab, rng, count=50, sizes=(1, 3, 5))
    assert len(points) == 50
    for y0, y1, x0, x1, a, b in points:
        assert 0 <= y0 < y1 <= 20 and 0 <= x0 < x1 <= 30
        assert y1 - y0 == x1 - x0 and y1 - y0 in (1, 3, 5)
        np.testing.assert_allclose([a, b], ab[y0:y1, x0:x1].reshape(-1, 2).mean(0), atol=1e-9)
    # the default count is random, at least 1 and at most 40
    counts = [len(random_hints(ab, np.random.default_rng(s))) for s in range(30)]
    assert min(counts) >= 1 and max(counts) <= 40 and len(set(counts)) > 3


def test_half_resolution_hand_example():
    ab = np.zeros((2, 4, 2))
    ab[..., 0] = [[1, 3, 5, 7], [1, 3, 9, 11]]
    ab[..., 1] = [[0, 0, 4, 4], [8, 8, 4, 4]]
    out = half_resolution(ab)
    assert out.shape == (1, 2, 2)
    np.testing.assert_allclose(out[0, :, 0], [2, 8])
    np.testing.assert_allclose(out[0, :, 1], [4, 4])
    batch = half_resolution(np.stack([ab, ab + 1]))  # leading axes kept
    assert batch.shape == (2, 1, 2, 2)
    np.testing.assert_allclose(batch[1], out + 1)


def test_report_batches_are_whole_photos_all_a_then_all_b_plus_128():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    lab = rgb2lab(rgb).astype(np.float32)
    L, ab = lab[..., :1], lab[..., 1:]
    data = ReportBatches(L, ab, batch_size=3, steps=6, seed=0)
    assert len(data) == 6
    seen = []
    for k in range(6):
        x, y = data[k]
        assert x.shape == (3, 64, 64, 1) and y.shape == (3, 8192)
        for j in range(3):
            i = int(np.flatnonzero([np.array_equal(x[j], L[n] / 100) for n in range(5)])[0])
            seen.append(i)
            np.testing.assert_allclose(y[j, :4096].reshape(64, 64), ab[i, ..., 0] + 128, atol=1e-4)
            np.testing.assert_allclose(y[j, 4096:].reshape(64, 64), ab[i, ..., 1] + 128, atol=1e-4)
    # each pass over the photos shows every photo once: 18 draws are 3 full passes and a bit
    assert sorted(seen[:5]) == list(range(5)) and sorted(seen[5:10]) == list(range(5))
    resumed = ReportBatches(L, ab, batch_size=3, steps=6, seed=0, start=2)
    np.testing.assert_array_equal(resumed[0][0], data[2][0])


def test_a_photo_smaller_than_half_the_crop_is_cropped_whole_and_enlarged():
    x, y = CropBatches([np.full((20, 30, 3), 128, np.uint8)], 1, 1, 64, 0, False).batch(0)
    assert x.shape == (1, 64, 64, 4) and y.shape == (1, 32, 32, 2)
