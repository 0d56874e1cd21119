"""AppTest tests of the ANN page: inputs, bad files, a short training run, divergence."""

from __future__ import annotations

import json
import threading

import pytest
from dashboard_helpers import APP, TIMEOUT, bad_files, odd_files, photo, png_bytes
from streamlit.testing.v1 import AppTest


def ann_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/ann.py").run()
    assert not at.exception
    return at


def train(at: AppTest, *, epochs: int = 2, side: int = 96, **knobs) -> AppTest:
    """Set a small working size and a few epochs, then press "Train"."""
    at.slider(key="ann_side").set_value(side)
    at.number_input(key="ann_epochs").set_value(epochs)
    for name, value in knobs.items():
        widget = next(w for w in at.main if getattr(w, "key", None) == f"ann_{name}")
        widget.set_value(value)
    train_button = next(b for b in at.button if b.label == "Train")
    train_button.click().run()
    assert not at.exception
    return at


def model_rows(at: AppTest):
    table = at.table[0].value
    assert list(table.columns) == ["Seed difference", "L1 difference"]
    return table


def test_ann_page_loads_with_knobs_and_train_button():
    at = ann_page()
    assert [b.label for b in at.button] == ["Train"]
    assert at.selectbox(key="ann_sample").value == "coffee"
    assert at.select_slider(key="ann_lr").options[0] in ("0.0001", "1e-04")
    assert at.select_slider(key="ann_lr").options[-1] == "10"
    assert at.radio(key="ann_window").options == ["3×3", "5×5", "7×7"]
    assert at.radio(key="ann_levels").options == ["4", "8", "16"]
    assert not at.error


def test_short_training_on_sample_shows_metrics_table_and_downloads():
    at = train(ann_page(), epochs=2)
    assert not at.error
    table = model_rows(at)
    assert list(table.index) == ["ANN (this run)", "baseline: gray", "baseline: mean", "baseline: lookup"]
    assert all(float(v) >= 0 for v in table["Seed difference"])
    labels = [m.label for m in at.metric]
    assert "Seed difference (test)" in labels
    captions = [c for img in at.image for c in img.captions]  # the four-panel view
    assert any(c.startswith("quantized original") for c in captions)
    assert "gray input" in captions
    assert "ideal right half" in captions and "generated right half" in captions
    dl = [e for e in at.get("download_button")]
    assert len(dl) == 3  # PNG, JSON, CSV
    assert at.session_state["ann_result"]["result"].epochs_run == 2
    assert json.loads(json.dumps(at.session_state["ann_result"]["result"].to_dict(), default=str))["epochs"] == 2


def test_preset_report_loads_the_reports_knobs():
    at = ann_page()
    at.selectbox(key="ann_preset").set_value("report").run()
    assert not at.exception
    assert at.radio(key="ann_window").value == 3
    assert at.radio(key="ann_levels").value == 4
    assert at.text_input(key="ann_hidden").value == "9"
    assert at.selectbox(key="ann_optimizer").value == "sgd"


def test_uploaded_photo_trains():
    at = ann_page()
    at.file_uploader(key="ann_upload").set_value(("mine.png", png_bytes(photo(80, 120)), "image/png"))
    at.run()
    assert not at.exception and not at.error
    assert any("120×80" in c.value for c in at.caption)
    train(at, epochs=1)
    assert not at.error
    model_rows(at)
    assert at.session_state["ann_result"]["image"] == "mine.png"


@pytest.mark.parametrize("case", list(bad_files()))
def test_bad_upload_shows_error_not_exception(case):
    at = ann_page()
    at.file_uploader(key="ann_upload").set_value(bad_files()[case])
    at.run()
    assert not at.exception
    assert at.error, f"{case}: expected an st.error"
    assert "cannot be used" in at.error[0].value
    # The page keeps working: back to a sample, it still trains.
    at.file_uploader(key="ann_upload").set_value(None)
    at.run()
    assert not at.exception and not at.error


@pytest.mark.parametrize("case", list(odd_files()))
def test_unusual_but_valid_uploads_are_converted(case):
    at = ann_page()
    at.file_uploader(key="ann_upload").set_value(odd_files()[case])
    at.run()
    assert not at.exception
    assert not at.error, f"{case}: {[e.value for e in at.error]}"
    assert any("Working size" in c.value for c in at.caption)


def test_divergence_warns_and_suggests_a_smaller_rate():
    at = train(ann_page(), epochs=3, side=64, lr=10.0, optimizer="sgd")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "diverged" in warnings.lower()
    assert "try" in warnings.lower() and "smaller" in warnings.lower()


def test_bad_hidden_sizes_show_error():
    at = train(ann_page(), epochs=1, hidden="nine")
    assert not at.exception
    assert any("hidden" in e.value for e in at.error)


def test_cross_image_split_trains_on_another_photo():
    at = train(ann_page(), epochs=1, side=64, split="cross-image")
    assert not at.error
    res = at.session_state["ann_result"]["result"]
    assert res.split.how == "cross-image"
    model_rows(at)


def test_an_interrupted_run_keeps_the_model_so_far():
    """A click during training (Stop, or any widget) reruns the page; the run's model is kept, not thrown away."""
    from core.ann import ANNTrainer, preset
    from core.images import load_sample, resize
    from core.splits import make_split

    at = ann_page()
    photo_arr = resize(load_sample("coffee"), (48, 72))
    trainer = ANNTrainer(preset("default", epochs=50), make_split(photo_arr, "left-right"))
    events = trainer.train()
    next(events)  # one epoch done, then the script run "was interrupted"
    done = threading.Event()
    done.set()  # the interrupted script run has let go of the trainer
    at.session_state["ann_live"] = {"trainer": trainer, "image": "coffee", "photo": photo_arr, "done": done}
    at.run()
    assert not at.exception
    assert any("stopped after epoch 1 of 50" in i.value for i in at.info)
    res = at.session_state["ann_result"]["result"]
    assert res.epochs_run == 1 and res.stopped
    model_rows(at)
    assert at.session_state["ann_live"] is None


def test_full_resolution_colorize_after_training_on_a_scaled_copy():
    at = train(ann_page(), epochs=1, side=96)
    button = at.button(key="ann_full_btn")
    assert "600×400" in button.label
    button.click().run()
    assert not at.exception and not at.error
    assert at.session_state["ann_result"]["full_out"].shape == (400, 600, 3)
