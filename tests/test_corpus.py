"""core.corpus: the general corpus, decoded once into a cached uint8 array."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from core.corpus import CORPUS_SIDE, CorpusError, corpus_files, corpus_root, load_corpus

# (part, source, file name, height, width)
FILES = [
    ("train", "faces", "a.jpg", 40, 60),
    ("train", "faces", "b.jpg", 64, 48),
    ("train", "imagenette", "c.jpg", 140, 200),
    ("train", "imagenette", "sub/d.jpg", 32, 32),
    ("train", "faces", "e.jpg", 30, 90),
    ("val", "faces", "f.jpg", 50, 50),
    ("val", "imagenette", "g.jpg", 70, 40),
]


def _colour(i: int) -> tuple[int, int, int]:
    return (40 * i % 256, 255 - 30 * i, 90 + 20 * i)


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A fake corpus of flat-coloured JPEGs (one colour per photo), and a private cache."""
    monkeypatch.setenv("COLORLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "corpus"
    rows = []
    for i, (part, src, name, h, w) in enumerate(FILES):
        rel = f"{part}/{src}/{name}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (w, h), _colour(i)).save(root / rel, quality=95)
        rows.append({"file": rel, "source_repo": "test", "source_path": name, "width": w, "height": h})
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "source_repo", "source_path", "width", "height"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_load_corpus_decodes_a_part_into_squares(corpus):
    seen = []
    part = load_corpus("train", corpus, progress=lambda d, n: seen.append((d, n)), workers=2)
    assert part.images.shape == (5, CORPUS_SIDE, CORPUS_SIDE, 3) and part.images.dtype == np.uint8
    assert len(part) == 5 and part.part == "train"
    assert part.names == ("faces/a.jpg", "faces/b.jpg", "imagenette/c.jpg", "imagenette/sub/d.jpg", "faces/e.jpg")
    assert part.sources == ("faces", "faces", "imagenette", "imagenette", "faces")
    assert len(part.fingerprint) == 64
    for i in range(5):  # each photo, in manifest order, keeps its colour (up to JPEG)
        np.testing.assert_allclose(part.images[i].reshape(-1, 3).mean(0), _colour(i), atol=4)
    assert seen and seen[-1] == (5, 5)
    val = load_corpus("val", corpus)
    assert len(val) == 2 and val.names == ("faces/f.jpg", "imagenette/g.jpg")
    assert val.fingerprint != part.fingerprint


def test_a_second_load_reads_the_cache(corpus, tmp_path):
    first = load_corpus("train", corpus)
    (cached,) = (tmp_path / "cache" / "corpus").glob("train-*.npy")
    assert cached.name == f"train-{first.fingerprint[:16]}.npy"
    stamp = cached.stat().st_mtime_ns
    calls = []
    second = load_corpus("train", corpus, progress=lambda d, n: calls.append(d))
    assert calls == []  # nothing decoded
    assert cached.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(second.images, first.images)
    assert second.fingerprint == first.fingerprint
    assert not second.images.flags.writeable  # a read-only memory map


def test_an_unreadable_cache_file_is_decoded_again(corpus, tmp_path):
    first = np.array(load_corpus("train", corpus).images)  # a copy: the memory map dies with the file's bytes
    (cached,) = (tmp_path / "cache" / "corpus").glob("train-*.npy")
    cached.write_bytes(b"garbage")
    again = load_corpus("train", corpus)
    np.testing.assert_array_equal(again.images, first)


def test_a_missing_corpus_names_the_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CorpusError, match=f"no corpus at {missing}"):
        load_corpus("train", missing)
    (missing / "train").mkdir(parents=True)  # a folder without its manifest is no corpus either
    with pytest.raises(CorpusError, match="manifest.csv"):
        corpus_root(missing)


def test_a_partial_corpus_says_how_many_photos_are_missing(corpus):
    (corpus / "train" / "imagenette" / "c.jpg").unlink()
    with pytest.raises(
        CorpusError, match=r"incomplete: 1 of the 5 photos .* missing \(the first: train/imagenette/c.jpg\)"
    ):
        load_corpus("train", corpus)
    assert len(load_corpus("val", corpus)) == 2  # the other part is whole


def test_a_damaged_photo_is_a_corpus_error_naming_it(corpus):
    (corpus / "val" / "faces" / "f.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(CorpusError, match="f.jpg"):
        load_corpus("val", corpus)


def test_corpus_files_checks_the_part(corpus):
    with pytest.raises(ValueError, match="part must be 'train' or 'val'"):
        corpus_files(corpus, "test")
    assert corpus_files(corpus, "val") == [("faces/f.jpg", "faces"), ("imagenette/g.jpg", "imagenette")]


def test_of_source_gives_the_indices_of_a_source(corpus):
    part = load_corpus("train", corpus)
    np.testing.assert_array_equal(part.of_source("faces"), [0, 1, 4])
    np.testing.assert_array_equal(part.of_source("imagenette"), [2, 3])
    assert part.of_source("nothing").size == 0


def test_corpus_root_defaults_to_the_data_folder(corpus, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(corpus.parent))
    assert corpus_root() == corpus


def test_another_corpus_with_the_same_names_is_not_served_from_the_first_ones_cache(corpus, tmp_path):
    first = load_corpus("val", corpus)
    other = tmp_path / "other"
    for name in ("faces/f.jpg", "imagenette/g.jpg"):
        (other / "val" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 64), (0, 0, 0)).save(other / "val" / name)
    with open(other / "manifest.csv", "w", newline="") as f:
        f.write("file,source_repo,source_path,width,height\n")
        f.write("val/faces/f.jpg,elsewhere,x,64,64\nval/imagenette/g.jpg,elsewhere,y,64,64\n")
    second = load_corpus("val", other)
    assert second.fingerprint != first.fingerprint
    assert not second.images.any()  # black photos
