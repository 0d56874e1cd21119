"""AppTest tests of the comparison page."""

from __future__ import annotations

from dashboard_helpers import APP, TIMEOUT, bad_files, photo, png_bytes
from streamlit.testing.v1 import AppTest
from tests_cnn_model import model_name  # noqa: F401  (fixture)


def compare_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    return at


def test_compare_page_loads_and_bad_upload_shows_error():
    at = compare_page()
    assert not at.error
    at.file_uploader(key="cmp_upload").set_value(bad_files()["not an image"])
    at.run()
    assert not at.exception
    assert at.error and "cannot be used" in at.error[0].value


def test_compare_uploaded_photo_gives_one_table_with_baselines(model_name):  # noqa: F811
    at = compare_page()
    at.file_uploader(key="cmp_upload").set_value(("mine.png", png_bytes(photo(64, 96)), "image/png"))
    at.run()
    at.number_input(key="cmp_epochs").set_value(2)
    at.selectbox(key="cmp_cnn").set_value(model_name)
    next(b for b in at.button if b.label == "Compare").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.table[0].value
    assert list(table.index) == [
        "ANN (numpy)",
        f"CNN ('{model_name}')",
        "baseline: gray",
        "baseline: mean",
        "baseline: lookup",
    ]
    assert list(table.columns) == ["Colour error", "Accuracy", "Colour hits", "Colour strength"]
    # The best value of each column is bold, exactly once.
    for col in table.columns:
        assert sum(str(v).startswith("**") for v in table[col]) == 1, col
    gray_hits = table.loc["baseline: gray", "Colour hits"].strip("*")
    assert float(gray_hits) == 0.0
    more = at.table[1].value
    assert {"AuC", "PSNR (dB)", "SSIM", "Colourfulness", "training (s)", "colorize (s)"} <= set(more.columns)
    report_tables = [t.value for t in at.table[2:]]
    assert any("report's ANN colour error" in t.columns for t in report_tables)
    assert len(at.get("download_button")) == 2
    # The lookup baseline was fitted on the left half of this very photo, and the page says so.
    assert any("this very photo" in c.value for c in at.caption)


def test_compare_sample_with_ann_trained_on_another_image(model_name):  # noqa: F811
    at = compare_page()
    at.slider(key="cmp_side").set_value(128)
    at.number_input(key="cmp_epochs").set_value(1)
    at.radio(key="cmp_split").set_value("cross-image")
    at.selectbox(key="cmp_cnn").set_value(model_name)
    next(b for b in at.button if b.label == "Compare").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["cmp_result"]["photo_name"] == "coffee"
    assert at.session_state["cmp_result"]["how"] == "cross-image"
    assert len(at.table[0].value) == 5


def test_compare_reuses_the_ann_trained_on_the_ann_page():
    at = compare_page()
    at.switch_page("pages/ann.py").run()
    at.slider(key="ann_side").set_value(64)
    at.number_input(key="ann_epochs").set_value(1)
    next(b for b in at.button if b.label == "Train").click().run()
    import time

    while at.session_state["ann_job"] is not None and not at.session_state["ann_job"].done:
        time.sleep(0.05)
    at.run()
    trained = at.session_state["ann_result"]["result"]
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="cmp_ann").value == "session"
    at.slider(key="cmp_side").set_value(64)
    next(b for b in at.button if b.label == "Compare").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "ANN (trained on the ANN page)" in at.table[0].value.index
    assert at.session_state["cmp_result"]["rows"]["ANN (trained on the ANN page)"]["train_seconds"] == (
        trained.train_seconds
    )
