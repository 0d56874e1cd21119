"""AppTest tests of the CNN page: loads, bad upload, colorize with a committed model, train now."""

from __future__ import annotations

import pytest
from dashboard_helpers import APP, TIMEOUT, bad_files, photo, png_bytes
from streamlit.testing.v1 import AppTest
from tests_cnn_model import model_name  # noqa: F401  (fixture)

from core.color import rgb2lab


def cnn_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/cnn.py").run()
    assert not at.exception
    return at


def test_cnn_page_loads():
    at = cnn_page()
    assert not at.error
    assert at.radio(key="cnn_choice").value == "pretrained"


def test_bad_upload_shows_error_not_exception():
    at = cnn_page()
    at.file_uploader(key="cnn_upload").set_value(bad_files()["truncated"])
    at.run()
    assert not at.exception
    assert at.error and "cannot be used" in at.error[0].value


def test_colorize_sample_with_committed_model_shows_image(model_name):  # noqa: F811
    at = cnn_page()
    at.selectbox(key="cnn_model").set_value(model_name).run()
    assert not at.exception
    at.button(key="cnn_colorize").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    done = at.session_state["cnn_out"]
    assert done["out"].shape == done["photo"].shape == (400, 600, 3)  # coffee, full resolution
    assert any("after (colorized)" in c for img in at.image for c in img.captions)
    assert "CNN" in list(at.table[-1].value.index)
    # The oracle check beside the scores (the photo's cast set right), recomputed from what the page shows.
    from core.metrics import cast_oracle

    cast_acc, _ = done["cast"]
    expected = cast_oracle(rgb2lab(done["small_out"])[..., 1:], rgb2lab(done["small_true"])[..., 1:])[0]
    assert cast_acc == expected
    assert any(f"would score {cast_acc:.3f}" in c.value for c in at.caption)
    from core import cnn

    cfg = (cnn.load_card(model_name) or {}).get("config") or {}
    if cfg.get("gate"):  # the card summary says what it is
        widths = cfg.get("member_widths")
        said = f"two U-Nets (widths {widths[0]} and {widths[1]}) and a scene gate" if widths else "two U-Nets and a"
        if int(cfg.get("members") or 1) == 1:
            said = "one U-Net conditioned on a scene gate"
        elif cfg.get("gate_members") == "tell":
            said = f"the average of 2 U-Nets (widths {widths[0]} and {widths[1]}), each conditioned on one scene gate"
        assert any(said in c.value for c in at.caption)


def test_colorize_upload_at_full_resolution(model_name):  # noqa: F811
    at = cnn_page()
    at.file_uploader(key="cnn_upload").set_value(("wide.png", png_bytes(photo(90, 300)), "image/png"))
    at.run()
    at.selectbox(key="cnn_model").set_value(model_name).run()
    at.button(key="cnn_colorize").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_out"]["out"].shape == (90, 300, 3)
    # The threshold moves without recolorizing.
    at.slider(key="cnn_threshold").set_value(40).run()
    assert not at.exception
    assert any(m.label.endswith("acc(40)") for m in at.metric)


def test_train_now_on_uploaded_photos_then_colorize(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_CACHE", str(tmp_path / "cache"))
    at = cnn_page()
    at.radio(key="cnn_choice").set_value("train").run()
    assert not at.exception
    files = [(f"p{i}.png", png_bytes(photo(64, 64, seed=i)), "image/png") for i in range(4)]
    at.file_uploader(key="cnn_set").set_value(files)
    at.radio(key="cnn_source").set_value("uploads")
    at.number_input(key="cnn_steps").set_value(4)
    at.number_input(key="cnn_batch").set_value(2)
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    trained = at.session_state["cnn_trained"]
    assert trained["card"]["training"]["steps"] == 4
    assert not trained["from_cache"]
    assert any("live signal" in c.value for c in at.caption)  # the curves say which view they are from
    assert any("96 px on the shorter side" in m.value for m in at.markdown)  # and the card's figures, theirs
    # The same knobs and photos again: served from the on-disk cache.
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_trained"]["from_cache"]
    assert any("on-disk cache" in s.value for s in at.success)
    # The classification loss is a knob too: a new model, trained, not the cached one.
    at.radio(key="cnn_loss").set_value("bins")
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_trained"]["card"]["loss"] == "bins"
    assert not at.session_state["cnn_trained"]["from_cache"]
    # ... and its class-rebalanced variant (Zhang et al. 2016)
    at.radio(key="cnn_loss").set_value("rebalanced")
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_trained"]["card"]["loss"] == "bins, rebalanced"
    assert not at.session_state["cnn_trained"]["from_cache"]
    at.button(key="cnn_colorize").click().run()
    assert not at.exception and not at.error
    assert at.session_state["cnn_out"]["model_label"].startswith("trained now")


def test_test_split_gallery_of_a_committed_model(data_dir, monkeypatch):
    from core import cnn

    if "beach" not in cnn.committed_models():
        pytest.skip("the committed beach model is not in models/")
    monkeypatch.setenv("COLORLAB_DATA", str(data_dir))
    at = cnn_page()
    at.selectbox(key="cnn_model").set_value("beach").run()
    at.button(key="cnn_gallery_btn").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    captions = [c for img in at.image for c in img.captions]
    card = cnn.load_card("beach")
    n_test = (card.get("scored_on") or card["data"])["test"]  # its own scenario's test split
    assert sum(c.startswith("prediction · accuracy") for c in captions) == n_test
    acc = f"CNN accuracy {card['metrics']['model']['accuracy']:.3f}"
    assert any(acc in c.value for c in at.caption), acc  # the same figure as its model card


def test_train_now_with_the_committed_recipe(data_dir, tmp_path, monkeypatch):
    """The recipe radio trains two conditioned U-Nets for one scenario from `scenes`, scored on that scenario's split."""
    import dataclasses

    from core import cnn

    if "scenes" not in cnn.committed_models():
        pytest.skip("the committed scenes model is not in models/")
    monkeypatch.setenv("COLORLAB_DATA", str(data_dir))
    monkeypatch.setenv("COLORLAB_CACHE", str(tmp_path / "cache"))
    real = cnn.committed_recipe
    monkeypatch.setattr(cnn, "committed_recipe", lambda name, seed=0: dataclasses.replace(real(name, seed), steps=2))
    at = cnn_page()
    at.radio(key="cnn_choice").set_value("train").run()
    at.radio(key="cnn_recipe").set_value("committed")
    at.radio(key="cnn_source").set_value("uploads")
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception
    assert any("pick 'a scenario from the data folder'" in e.value for e in at.error)  # a clear message, no run
    assert not at.success  # nothing was trained
    at.radio(key="cnn_source").set_value("scenario")
    at.selectbox(key="cnn_scenario").set_value("sunset")
    next(b for b in at.button if b.label == "Train CNN").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    trained = at.session_state["cnn_trained"]
    cfg = trained["card"]["config"]
    assert cfg["gate"] and cfg["init"] == "scenes" and cfg["focus"] == "sunset" and cfg["members"] == 2
    assert cfg["gate_members"] == "tell" and cfg["member_widths"] == [16, 12]
    assert trained["card"]["training"]["steps"] == 2 * 2 and "gate" in trained["card"]  # 2 steps per member
    assert trained["dataset"].name == "sunset" and len(trained["dataset"].test_idx) == trained["card"]["metrics"]["n"]
    assert "committed recipe" in trained["label"]
