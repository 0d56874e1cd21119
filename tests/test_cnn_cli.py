"""``python -m core cnn ...``: describe, train --help, colorize and eval, in-process (and one real process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cnn_helpers
import pytest
from PIL import Image

from core.cnn import get_model, store
from core.cnn.train import TrainResult
from core.cnn_cli import main, read_hints
from core.images import load_sample, resize

ROOT = Path(__file__).resolve().parents[1]

# Keras' own model.save() under numpy 2 (third-party, harmless)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(scope="module")
def describe_process():
    """``python -m core cnn describe`` in a real process, started by the first test so that it runs beside the others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "cnn", "describe"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny model trained on a tiny dataset, saved with its card (baselines included); and one without them."""
    folder = tmp_path_factory.mktemp("models")
    run = cnn_helpers.tiny_run()  # train_on_dataset on a tiny dataset (shared with test_cnn_store)
    trained = store.save_model(run["model"], run["card"], folder, "tiny")
    config = cnn_helpers.TINY_RUN
    bare = get_model(config)
    card = store.make_card(TrainResult(bare, config), name="bare", data={}, metrics=None, baselines_ab=None)
    return trained, store.save_model(bare, card, folder, "bare")


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    a, b = folder / "coffee.png", folder / "cat.jpg"
    Image.fromarray(resize(load_sample("coffee"), (40, 60))).save(a)
    Image.fromarray(resize(load_sample("chelsea"), (45, 33))).save(b)
    return a, b


def test_describe_json_lists_the_unets_layers_and_total(capsys, describe_process):
    assert main(["describe", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == "unet"
    assert info["parameters"] == sum(row["parameters"] for row in info["layers"]) > 0
    names = [row["name"] for row in info["layers"]]
    assert "ab_logits" in names and "bottleneck_a" in names


def test_train_help_has_at_most_15_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    options = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  -")]
    assert 5 <= len(options) <= 15


def test_colorize_two_photos_into_a_folder(models, photo_files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["colorize", *map(str, photo_files), "--model", str(models[0]), "--out", str(out)]) == 0
    for src in photo_files:
        target = out / f"{src.stem}.png"
        with Image.open(src) as a, Image.open(target) as b:
            assert a.size == b.size and b.mode == "RGB"
    assert capsys.readouterr().out.count("wrote ") == 2


def test_colorize_one_photo_to_a_png_file(models, photo_files, tmp_path):
    target = tmp_path / "one.png"
    assert (
        main(
            [
                "colorize",
                str(photo_files[1]),
                "--model",
                str(models[0]),
                "--out",
                str(target),
                "--vividness",
                "0.3",
                "--working-size",
                "32",
            ]
        )
        == 0
    )
    with Image.open(target) as im:
        assert im.size == (33, 45)


def test_one_photo_into_an_existing_folder_writes_stem_png_there(models, photo_files, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    assert main(["colorize", str(photo_files[0]), "--model", str(models[0]), "--out", str(out)]) == 0
    assert (out / "coffee.png").is_file()


def test_colorize_writes_the_good_photos_and_names_the_bad_one(models, photo_files, tmp_path, capsys):
    bad = tmp_path / "broken.png"
    bad.write_text("this is not an image")
    out = tmp_path / "out"
    code = main(
        ["colorize", str(photo_files[0]), str(bad), str(photo_files[1]), "--model", str(models[0]), "--out", str(out)]
    )
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["cat.png", "coffee.png"]
    err = capsys.readouterr().err
    assert "broken.png" in err and "1 of 3 photos could not be read" in err


def test_colorize_with_a_hints_file(models, photo_files, tmp_path, capsys):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 10, "y": 5, "color": "#ff0000"}, {"x": 50, "y": 30, "color": "00ff00"}]))
    assert read_hints(hints) == [(10, 5, (255, 0, 0)), (50, 30, (0, 255, 0))]
    target = tmp_path / "hinted.png"
    assert (
        main(["colorize", str(photo_files[0]), "--model", str(models[0]), "--out", str(target), "--hints", str(hints)])
        == 0
    )
    assert target.is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{'x': 1}", "is not valid JSON"),
        ('{"x": 1, "y": 2, "color": "#ff0000"}', "must hold a list"),
        ('[{"x": 1, "y": 2, "color": "#ff00"}]', r"hint 1 in .* must be"),
        ('[{"x": 1, "y": 2, "color": "#ff0000"}, {"x": 1, "color": "#ff0000"}]', r"hint 2 in"),
        ('[{"x": 500, "y": 2, "color": "#ff0000"}]', "outside"),
    ],
)
def test_bad_hints_files_exit_2_with_a_message(models, photo_files, tmp_path, capsys, content, message):
    hints = tmp_path / "hints.json"
    hints.write_text(content)
    code = main(
        [
            "colorize",
            str(photo_files[0]),
            "--model",
            str(models[0]),
            "--out",
            str(tmp_path / "x.png"),
            "--hints",
            str(hints),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "x.png").exists()


def test_one_png_out_for_two_photos_exits_2(models, photo_files, tmp_path, capsys):
    code = main(["colorize", *map(str, photo_files), "--model", str(models[0]), "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert "--out must be a folder" in capsys.readouterr().err


def test_colorize_with_a_missing_model_or_photo_exits_2(photo_files, tmp_path, capsys):
    assert main(["colorize", str(photo_files[0]), "--model", str(tmp_path / "no.keras"), "--out", str(tmp_path)]) == 2
    assert "no.keras" in capsys.readouterr().err
    assert main(["colorize", str(tmp_path / "nophoto.png"), "--out", str(tmp_path)]) == 2
    assert "nophoto.png" in capsys.readouterr().err


def test_eval_on_a_folder_prints_a_table(models, photo_files, capsys):
    folder = photo_files[0].parent
    assert main(["eval", "--images", str(folder), "--model", str(models[0])]) == 0
    out = capsys.readouterr().out
    assert "hit rate" in out and "accuracy" in out
    assert "baseline gray" in out and "baseline lookup" in out
    assert "2 photos under" in out


def test_eval_json_has_the_models_hit_rate(models, photo_files, capsys):
    folder = photo_files[0].parent
    assert main(["eval", "--images", str(folder), "--model", str(models[0]), "--json", "--hints", "5"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert 0.0 <= ev["aggregate"]["model"]["hit_rate"] <= 1.0
    assert {"model", "gray", "mean", "lookup"} <= set(ev["aggregate"])
    assert ev["n"] == 2 and ev["hints"] == 5 and "per_image" not in ev


def test_eval_exits_2_without_a_model_or_without_baselines(models, photo_files, tmp_path, capsys):
    folder = photo_files[0].parent
    assert main(["eval", "--images", str(folder), "--model", str(tmp_path / "missing.keras")]) == 2
    assert "missing.keras" in capsys.readouterr().err
    assert main(["eval", "--images", str(folder), "--model", str(models[1])]) == 2
    assert "has no card with baselines" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", "--images", str(empty), "--model", str(models[0])]) == 2
    assert "no .jpg or .png photos" in capsys.readouterr().err


def test_a_real_process_keeps_tensorflows_start_up_log_off_stderr(describe_process):
    out, err = describe_process.communicate(timeout=120)
    assert describe_process.returncode == 0, err
    assert out.startswith("unet: ") and "parameters" in out
    for word in ("cuda", "onednn", "absl"):
        assert word not in err.lower(), err
    rows = out.splitlines()[1:]
    assert rows and all(line.startswith("  ") for line in rows)  # one indented row per layer
    assert any("ab_logits" in line for line in rows)
