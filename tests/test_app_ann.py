"""AppTest tests of the ANN page: inputs, bad files, a short training run, divergence."""

from __future__ import annotations

import json
import time

import pytest
from dashboard_helpers import APP, TIMEOUT, bad_files, odd_files, photo, png_bytes
from streamlit.testing.v1 import AppTest


def ann_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/ann.py").run()
    assert not at.exception
    return at


def job(at: AppTest):
    try:
        return at.session_state["ann_job"]
    except KeyError:
        return None


def finish(at: AppTest, timeout: float = 120) -> AppTest:
    """Wait for the background training job, then run the page again to show its result."""
    end = time.monotonic() + timeout
    while (j := job(at)) is not None and not j.done and time.monotonic() < end:
        time.sleep(0.05)
    at.run()
    assert not at.exception
    return at


def train(at: AppTest, *, epochs: int = 2, side: int = 96, wait: bool = True, **knobs) -> AppTest:
    """Set a small working size and a few epochs, press "Train" and (by default) wait for the result."""
    at.slider(key="ann_side").set_value(side)
    at.number_input(key="ann_epochs").set_value(epochs)
    for name, value in knobs.items():
        widget = next(w for w in at.sidebar if getattr(w, "key", None) == f"ann_{name}")
        widget.set_value(value)
    train_button = next(b for b in at.button if b.label == "Train")
    train_button.click().run()
    assert not at.exception
    return finish(at) if wait else at


def model_rows(at: AppTest):
    table = at.table[0].value
    assert list(table.columns) == ["Colour error", "Channel error"]
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
    at = train(ann_page(), epochs=20)
    assert not at.error
    table = model_rows(at)
    assert list(table.index) == ["this network", "baseline: gray", "baseline: mean", "baseline: lookup"]
    assert all(float(v) >= 0 for v in table["Colour error"])
    assert [m.label for m in at.metric] == ["Colour error"]
    assert at.success and at.success[0].value.startswith("Finished: 20 of 20 epochs")
    captions = [c for img in at.image for c in img.captions]  # gray | colorized | real colours
    assert captions == [
        "what the network sees",
        "colorized by the network (scored on the right half)",
        "the real colours, in 4 levels",
    ]
    assert not at.get("download_button")  # only the open tab is drawn: "Scores"
    at.session_state["ann_tab"] = "Downloads"
    at.run()
    dl = [e for e in at.get("download_button")]
    assert len(dl) == 3  # PNG, JSON, CSV
    assert at.session_state["ann_result"]["result"].epochs_run == 20
    assert json.loads(json.dumps(at.session_state["ann_result"]["result"].to_dict(), default=str))["epochs"] == 20


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
    assert "Error" not in at.error[0].value and "UploadedFile" not in at.error[0].value  # plain words
    # Picking a sample replaces the bad upload, and the page trains again.
    at.selectbox(key="ann_sample").set_value("astronaut").run()
    assert not at.exception and not at.error
    train(at, epochs=1, side=64)
    assert at.session_state["ann_result"]["image"] == "astronaut"


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
    assert not at.success


def test_a_run_worse_than_gray_is_never_a_green_finish():
    at = train(ann_page(), epochs=3, side=64, lr=10.0, optimizer="adam")
    res = at.session_state["ann_result"]["result"]
    if res.diverged is None:
        assert res.seed_difference > res.baselines["gray"]["seed_difference"]
        assert any("worse than leaving the photo gray" in w.value for w in at.warning)
    assert not at.success


def test_bad_hidden_sizes_show_error():
    at = train(ann_page(), epochs=1, hidden="nine", wait=False)
    assert not at.exception
    assert any("hidden" in e.value for e in at.error)


def test_cross_image_split_trains_on_another_photo():
    at = train(ann_page(), epochs=1, side=64, split="cross-image")
    assert not at.error
    res = at.session_state["ann_result"]["result"]
    assert res.split.how == "cross-image"
    model_rows(at)


def test_training_survives_other_clicks_and_stop_keeps_the_model_so_far():
    """Training runs in a background job: other widgets rerun the page without ending it; Stop keeps the model."""
    at = train(ann_page(), epochs=2000, side=64, wait=False)
    j = job(at)
    assert j is not None and not j.done
    at.selectbox(key="ann_preset").set_value("report").run()  # another widget: the run goes on
    assert not at.exception and job(at) is j and not j.done
    while not j.history:
        time.sleep(0.05)
    at.button(key="ann_stop").click().run()
    finish(at)
    res = at.session_state["ann_result"]["result"]
    assert res.stopped and 1 <= res.epochs_run < 2000
    notes = [e.value for e in (*at.info, *at.warning)]  # a stopped run may still be worse than gray
    assert any(f"{res.epochs_run} of 2000 epochs" in n for n in notes), notes
    assert not at.success
    model_rows(at)


def test_full_resolution_colorize_after_training_on_a_scaled_copy():
    at = train(ann_page(), epochs=1, side=96)
    at.session_state["ann_tab"] = "Downloads"
    at.run()
    button = at.button(key="ann_full_btn")
    assert "600×400" in button.label
    button.click().run()  # a queued job, in a worker process
    assert not at.exception and not at.error
    full_job = at.session_state["ann_full_job"]
    assert full_job is not None and full_job.slot == "colorize"
    assert full_job.wait(120) and full_job.error is None
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["ann_result"]["full_out"].shape == (400, 600, 3)
    assert at.session_state["ann_full_job"] is None


def test_a_second_training_replaces_the_first_with_a_note():
    at = train(ann_page(), epochs=1, side=64)
    first = at.session_state["ann_result"]["result"]
    assert not any("replaces your earlier one" in i.value for i in at.info)
    train(at, epochs=2, side=64)
    assert at.session_state["ann_result"]["result"] is not first  # one network per visitor
    assert any("replaces your earlier one (1 epoch on" in i.value for i in at.info)
