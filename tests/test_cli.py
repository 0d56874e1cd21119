"""The command line end to end, in a subprocess, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def photo(tmp_path_factory, small_photo):
    p = tmp_path_factory.mktemp("cli") / "small.png"
    Image.fromarray(small_photo).save(p)
    return p


def test_ann_json(photo, tmp_path):
    out = tmp_path / "out.png"
    r = run(
        "ann",
        "--image",
        str(photo),
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--optimizer",
        "momentum",
        "--lr",
        "0.05",
        "--out",
        str(out),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)  # exactly one JSON object on stdout
    for key in ("seed_difference", "l1_difference", "baselines", "train_seconds", "epochs", "config"):
        assert key in data
    for name in ("gray", "mean", "lookup"):
        assert set(data["baselines"][name]) == {"seed_difference", "l1_difference"}
    assert data["epochs"] == 2 and data["config"]["hidden"] == [8] and data["config"]["optimizer"] == "momentum"
    assert 0 <= data["seed_difference"] <= data["l1_difference"]
    assert np.asarray(Image.open(out)).shape == (60, 90, 3)


def test_ann_table_and_cross_image(photo):
    r = run(
        "ann",
        "--image",
        str(photo),
        "--train-image",
        "coffee",
        "--max-side",
        "80",
        "--preset",
        "report",
        "--epochs",
        "1",
    )
    assert r.returncode == 0, r.stderr
    assert "split cross-image" in r.stdout and "lookup" in r.stdout and "seed difference" in r.stdout


def test_ann_bad_input_exit_2(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a photo")
    r = run("ann", "--image", str(bad))
    assert r.returncode == 2 and "not an image" in r.stderr and "Traceback" not in r.stderr
    r = run("ann", "--image", "coffee", "--window", "4")
    assert r.returncode == 2 and "window" in r.stderr


def test_ann_divergence_exit_1(photo):
    r = run("ann", "--image", str(photo), "--optimizer", "sgd", "--lr", "10", "--epochs", "3", "--json")
    assert r.returncode == 1
    assert "smaller" in json.loads(r.stdout)["diverged"] or "try" in json.loads(r.stdout)["diverged"]


def test_bench_ann_json():
    r = run("bench", "ann", "--epochs", "1", "--per-sample-windows", "300", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("epoch_seconds", "per_sample_epoch_seconds", "speedup", "windows_per_second"):
        assert data[key] > 0
    assert data["windows"] == 120000


def test_help_and_unknown():
    assert run("--help").returncode == 0
    assert run("frobnicate").returncode == 2


def test_image_names_resolve_from_the_data_folders_single(data_dir, monkeypatch):
    """README examples such as ``ann --image beach.png`` work from any folder."""
    from core.cli import _load
    from core.images import load_image

    monkeypatch.setenv("COLORLAB_DATA", str(data_dir))
    monkeypatch.chdir(data_dir.parent)  # no beach.png here
    expected = load_image(data_dir / "single" / "beach.png")
    assert _load("beach.png").shape == expected.shape
    assert _load("beach").shape == expected.shape
