"""Scenario datasets: deterministic 7:3 split, fingerprints, Keras-ready arrays, uploads."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from core import datasets
from core.color import rgb2lab
from core.images import ImageError


def _photo(seed: int, h: int = 40, w: int = 56) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def photo_dir(tmp_path):
    for i in range(10):
        Image.fromarray(_photo(i)).save(tmp_path / f"p{i:02d}.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    return tmp_path


def test_split_is_deterministic_disjoint_and_7_to_3():
    tr1, te1 = datasets.split_indices(29, seed=0)
    tr2, te2 = datasets.split_indices(29, seed=0)
    assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    assert (len(tr1), len(te1)) == (20, 9)
    assert set(tr1).isdisjoint(te1) and sorted(np.concatenate([tr1, te1]).tolist()) == list(range(29))
    tr3, _ = datasets.split_indices(29, seed=1)
    assert not np.array_equal(tr1, tr3)
    assert (len(datasets.split_indices(30, 0)[0]), len(datasets.split_indices(2, 0)[1])) == (21, 1)
    tr0, te0 = datasets.split_indices(5, 0, train_ratio=0.0)
    assert len(tr0) == 0 and len(te0) == 5


def test_folder_dataset_split_fingerprint_and_arrays(photo_dir):
    a = datasets.load_folder(photo_dir, seed=0)
    b = datasets.load_folder(photo_dir, seed=0)
    assert len(a) == 10 and (len(a.train_idx), len(a.test_idx)) == (7, 3)
    assert a.train_idx == b.train_idx and a.fingerprint == b.fingerprint
    assert datasets.load_folder(photo_dir, seed=1).fingerprint != a.fingerprint  # the split is part of the data
    L, ab = a.arrays("train", 16)
    assert L.shape == (7, 16, 16, 1) and ab.shape == (7, 16, 16, 2)
    assert L.dtype == np.float32 and ab.dtype == np.float32
    assert 0 <= L.min() and L.max() <= 100
    from core.images import resize

    expect = rgb2lab(resize(a.part("train")[0], (16, 16)))
    assert np.allclose(L[0, ..., 0], expect[..., 0], atol=1e-4) and np.allclose(ab[0], expect[..., 1:], atol=1e-4)
    gray, ab2 = a.gray_ab("test", (8, 12))
    assert gray.shape == (3, 8, 12) and gray.dtype == np.uint8 and ab2.shape == (3, 8, 12, 2)


def test_fingerprint_changes_with_a_single_pixel(photo_dir):
    before = datasets.load_folder(photo_dir).fingerprint
    rgb = _photo(3)
    rgb[0, 0, 0] ^= 1
    Image.fromarray(rgb).save(photo_dir / "p03.png")
    assert datasets.load_folder(photo_dir).fingerprint != before


def test_from_uploads_bytes_files_and_arrays():
    photos = [_photo(i) for i in range(6)]
    ds1 = datasets.from_images([_png(p) for p in photos], names=[f"u{i}.png" for i in range(6)])
    ds2 = datasets.from_images([io.BytesIO(_png(p)) for p in photos], names=[f"u{i}.png" for i in range(6)])
    assert ds1.fingerprint == ds2.fingerprint and (len(ds1.train_idx), len(ds1.test_idx)) == (4, 2)
    assert np.array_equal(ds1.images[2], photos[2])
    ds3 = datasets.from_images(photos)
    assert ds3.names[0] == "photo_000" and np.array_equal(ds3.images[5], photos[5])
    with pytest.raises(ImageError, match="bad.png"):
        datasets.from_images([_png(photos[0]), b"not an image"], names=["ok.png", "bad.png"])


def test_large_uploads_are_scaled_down():
    big = np.zeros((600, 1200, 3), np.uint8)
    ds = datasets.from_images([big, big])
    assert max(ds.images[0].shape[:2]) == datasets.MAX_SIDE


def test_missing_folders_give_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="COLORLAB_DATA"):
        datasets.load_scenario("beach")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        datasets.load_folder(tmp_path / "nope")
    with pytest.raises(ImageError, match="no .jpg or .png"):
        datasets.load_folder(tmp_path)
    (tmp_path / "scenes" / "beach").mkdir(parents=True)
    Image.fromarray(_photo(0)).save(tmp_path / "scenes" / "beach" / "a.png")
    with pytest.raises(FileNotFoundError, match="known: beach"):
        datasets.load_scenario("moon", tmp_path)


def test_subset_keeps_a_groups_photos_and_split(tmp_path):
    for group, n in (("sea", 6), ("wood", 4)):
        (tmp_path / "scenes" / group).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(_photo(100 * len(group) + i)).save(tmp_path / "scenes" / group / f"{i}.png")
    allsc = datasets.load_scenario("scenes", tmp_path, seed=3)
    wood = allsc.subset("wood")
    assert len(wood) == 4 and set(wood.groups) == {"wood"}
    assert all(name.startswith("wood/") for name in wood.names)
    assert set(wood.part_names("train")) == {n for n in allsc.part_names("train") if n.startswith("wood/")}
    assert set(wood.part_names("test")) == {n for n in allsc.part_names("test") if n.startswith("wood/")}
    assert wood.fingerprint != allsc.fingerprint != allsc.subset("sea").fingerprint
    with pytest.raises(ValueError, match="its groups: sea, wood"):
        allsc.subset("moon")


needs_data = pytest.mark.skipif(not os.environ.get(datasets.DATA_ENV), reason=f"{datasets.DATA_ENV} is not set")


@needs_data
def test_shared_scenarios_split_7_to_3():
    names = datasets.list_scenarios()
    assert {"beach", "sunset", "forest"} <= set(names)
    beach = datasets.load_scenario("beach", seed=0)
    assert len(beach.test_idx) == round(len(beach) * 0.3) or abs(len(beach.test_idx) - 0.3 * len(beach)) <= 1
    allsc = datasets.load_scenario("scenes", seed=0)
    # the all-scenes test part is exactly the union of the per-scenario test parts (no leak when pre-training)
    union = set()
    for n in names:
        union |= set(datasets.load_scenario(n, seed=0).part_names("test"))
    assert set(allsc.part_names("test")) == union
    assert set(allsc.part_names("train")).isdisjoint(union)
    # one scenario's subset of "scenes" has exactly that scenario's own split
    sub = allsc.subset("beach")
    assert sub.name == "beach" and sub.part_names("test") == beach.part_names("test")
    assert sub.part_names("train") == beach.part_names("train")
