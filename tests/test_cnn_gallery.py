"""Where it works, where it fails: per-photo scores on a folder of photos."""

from __future__ import annotations

import numpy as np
from PIL import Image
from tests_cnn_model import model_name  # noqa: F401  (fixture)

from core.cnn.gallery import MIN_COLOURFUL, best_and_worst, gallery


def _write(folder, name, rgb):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(folder / name)


def test_gallery_ranks_by_colour_hits_and_skips_colourless_photos(tmp_path, model_name):  # noqa: F811
    from core.cnn import store

    rng = np.random.default_rng(0)
    for i in range(5):  # colourful photos in a subfolder (their group)
        rgb = np.zeros((64, 80, 3), np.uint8)
        rgb[..., i % 3] = 200
        rgb[:, :40] = rng.integers(0, 255, 3)
        _write(tmp_path / "things", f"c{i}.png", rgb)
    _write(tmp_path, "gray.png", np.full((64, 80, 3), 128, np.uint8))  # no colour: cannot be ranked
    model = store.load_model(model_name)
    seen = []
    entries = gallery(model, tmp_path, count=10, seed=1, progress=lambda i, n: seen.append((i, n)))
    assert seen[-1] == (6, 6)  # every photo drawn was reported
    assert len(entries) == 5 and all(e["group"] == "things" for e in entries)
    rates = [e["hit_rate"] for e in entries]
    assert rates == sorted(rates, reverse=True)
    for e in entries:
        assert e["photo"].shape == e["colorized"].shape and e["colorized"].dtype == np.uint8
        assert 0 <= e["accuracy"] <= 1 and e["saturation"] >= 0
    best, worst = best_and_worst(entries, 2)
    assert best == entries[:2] and worst == entries[:-3:-1]
    assert not {id(e) for e in best} & {id(e) for e in worst}
    assert MIN_COLOURFUL > 0


def test_best_and_worst_never_share_a_photo():
    entries = [{"hit_rate": r} for r in (0.9, 0.5, 0.1)]
    best, worst = best_and_worst(entries, 4)
    assert best == [entries[0]] and worst == [entries[2]]
