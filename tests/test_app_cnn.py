"""AppTest tests of the CNN page: loads, bad upload, colorize, a black-and-white photo, train now."""

from __future__ import annotations

import time

import numpy as np
from dashboard_helpers import APP, TIMEOUT, bad_files, photo, png_bytes
from streamlit.testing.v1 import AppTest
from tests_cnn_model import model_name  # noqa: F401  (fixture)


def cnn_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/cnn.py").run()
    assert not at.exception
    return at


def wait_for_training(at: AppTest, timeout: float = 300) -> None:
    """Training runs in a background job: wait for it, then run the page to collect the model."""
    end = time.monotonic() + timeout
    while (job := at.session_state["cnn_job"]) is not None and not job.done and time.monotonic() < end:
        time.sleep(0.1)
    at.run()


def test_cnn_page_opens_on_the_general_model(model_name):  # noqa: F811
    at = cnn_page()
    assert not at.error
    assert at.selectbox(key="cnn_model").value == "general"


def test_bad_upload_shows_error_not_exception():
    at = cnn_page()
    at.file_uploader(key="cnn_upload").set_value(bad_files()["truncated"])
    at.run()
    assert not at.exception
    assert at.error and "cannot be used" in at.error[0].value


def test_colorize_shows_three_pictures_and_scores_beside_baselines(model_name):  # noqa: F811
    at = cnn_page()
    at.button(key="cnn_colorize").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    done = at.session_state["cnn_out"]
    assert done["out"].shape == done["photo"].shape  # full resolution
    captions = [c for img in at.image for c in img.captions]
    assert "the real colours" in captions
    assert [m.label for m in at.metric] == ["Accuracy", "Colour hits", "Colour strength"]
    table = at.table[0].value
    assert {"this model", "baseline: gray", "baseline: lookup"} <= set(table.index)
    assert list(table.columns) == ["Accuracy", "Colour hits", "Colour strength"]
    assert table.loc["baseline: gray", "Colour hits"] == "0.000"  # gray never hits a colourful pixel
    # The baselines come from the model card (fitted on its training photos), not from this photo.
    assert at.session_state["cnn_out"]["fitted_on_photo"] == ()
    # Another vividness labels the old result instead of passing it off as current.
    at.slider(key="cnn_vivid").set_value(1.0).run()
    assert any("press **Colorize** to update" in i.value for i in at.info)
    # Another photo clears it: its own gray and real colours wait for a click.
    at.selectbox(key="cnn_sample").set_value("astronaut").run()
    assert not at.metric
    assert any("'astronaut'" in c.value and "Press **Colorize**" in c.value for c in at.caption)


def test_black_and_white_upload_gets_no_scores(model_name):  # noqa: F811
    at = cnn_page()
    gray = np.repeat(photo(80, 120)[..., :1], 3, axis=-1)
    at.file_uploader(key="cnn_upload").set_value(("bw.png", png_bytes(gray), "image/png"))
    at.run()
    at.button(key="cnn_colorize").click().run()
    assert not at.exception and not at.error
    assert any("no true colours to compare against" in i.value for i in at.info)
    assert at.session_state["cnn_out"]["scores"] is None  # nothing scored against a gray "truth"


def test_train_now_on_uploaded_photos_then_colorize(model_name, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("COLORLAB_CACHE", str(tmp_path / "cache"))
    at = cnn_page()
    files = [(f"p{i}.png", png_bytes(photo(64, 64, seed=i)), "image/png") for i in range(4)]
    at.file_uploader(key="cnn_set").set_value(files)
    at.radio(key="cnn_source").set_value("uploads")
    at.number_input(key="cnn_steps").set_value(3)
    next(b for b in at.button if b.label == "Train CNN").click().run()
    wait_for_training(at)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    trained = at.session_state["cnn_trained"]
    assert trained["card"]["training"]["steps"] == 3
    assert trained["card"]["config"]["init"] == "general"
    assert not trained["from_cache"]
    # The same knobs and photos again: served from the cache.
    next(b for b in at.button if b.label == "Train CNN").click().run()
    wait_for_training(at)
    assert not at.exception and not at.error
    assert at.session_state["cnn_trained"]["from_cache"]
    at.selectbox(key="cnn_model").set_value("session").run()
    at.button(key="cnn_colorize").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_out"]["label"].startswith("trained now")


def test_hints_recolorize_at_once_and_clear(model_name):  # noqa: F811
    """A hint placed on the canvas (a Fabric.js circle) colorizes again with it; "Clear hints" removes it."""
    at = cnn_page()
    at.button(key="cnn_colorize").click().run()
    before = at.session_state["cnn_out"]["out"]
    at.toggle(key="cnn_hint_mode").set_value(True).run()
    assert not at.exception
    # A red point near the cat's nose, as the canvas reports it (origin left/center, 6 px radius).
    point = {
        "type": "circle",
        "left": 120.0,
        "top": 120.0,
        "width": 12,
        "height": 12,
        "strokeWidth": 2,
        "originX": "left",
        "originY": "center",
        "fill": "#ff0000",
        "scaleX": 1,
        "scaleY": 1,
    }
    at.session_state["cnn_hint_objs"] = [point]
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    done = at.session_state["cnn_out"]
    assert len(done["hints"]) == 1 and done["hints"][0][2] == (255, 0, 0)
    assert not np.array_equal(done["out"], before)  # the colours changed without pressing Colorize
    at.button(key="cnn_clear_hints").click().run()
    assert at.session_state["cnn_hint_objs"] == []
    assert at.session_state["cnn_out"]["hints"] == ()


def test_the_gallery_is_a_queued_job_whose_stop_switches_it_off_and_whose_result_all_visitors_share():
    import pytest

    from core.corpus import corpus_root

    try:
        if not (corpus_root() / "val").is_dir():
            raise FileNotFoundError
    except Exception:  # noqa: BLE001
        pytest.skip("no validation photos on this machine (the data folder's corpus/val)")
    at = cnn_page()
    at.toggle(key="cnn_gallery").set_value(True).run()
    job = at.session_state["cnn_gallery_job"]
    assert job is not None and job.slot == "gallery" and not at.exception
    end = time.monotonic() + 60
    while not job.history and time.monotonic() < end:
        time.sleep(0.05)
    at.button(key="cnn_gallery_live_stop").click().run()  # the page's Stop, while it runs
    assert job.wait(60) and job.result is None
    at.run()
    assert any("gallery was stopped" in i.value for i in at.info)
    assert at.session_state["cnn_gallery_job"] is None  # and nothing new was queued

    at.button(key="cnn_gallery_again").click().run()
    job = at.session_state["cnn_gallery_job"]
    assert job.wait(300) and job.error is None and job.result
    at.run()
    assert not at.exception and at.session_state["cnn_gallery_job"] is None
    assert any("Where it fails" in m.value for m in at.markdown)

    other = cnn_page()  # another visitor: the finished gallery is shown at once, with no job
    other.toggle(key="cnn_gallery").set_value(True).run()
    assert "cnn_gallery_job" not in other.session_state  # nothing was queued
    assert any("Where it fails" in m.value for m in other.markdown)
