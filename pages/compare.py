"""Comparison page: the same photo through the ANN and the CNN, side by side, in one table.

Every predictor is scored on the same test part of the photo with the same
``core.metrics`` functions (common units), next to the baselines and to the
report's printed figures.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import streamlit as st

from core.ann import preset, run_ann
from core.color import gray2rgb, lab2uint8, merge_l_ab, rgb2gray, rgb2lab
from core.images import SAMPLES, fit_within
from core.report import REPORT_ANN, REPORT_FIGURES
from core.splits import make_split
from ui.common import fmt, friendly_errors, image_input, png_download, sample_image, working_copy
from ui.scoring import ab_baseline_predictions, cnn_colorize, committed_model_names, common_scores, pretrained_model

K = "cmp"
SESSION_CNN = "session"

# The report's printed figures (CS 520 Assignment 4), shown labelled as the report's.
REPORT_ANN_DIFFERENCE = {k: v for k, v in REPORT_ANN.items() if v is not None}
REPORT_CNN_ACCURACY = {("sunrise (our sunset)" if k == "sunset" else k): v for k, v in REPORT_FIGURES.items()}


def _panel(images: list[np.ndarray], height: int = 256) -> np.ndarray:
    """Lay images side by side at one height, with a white gap (for the PNG export)."""
    from core.images import resize

    tiles = []
    for img in images:
        h, w = img.shape[:2]
        tiles.append(resize(img, (height, max(1, round(w * height / h)))))
        tiles.append(np.full((height, 8, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


st.title("Comparison: ANN and CNN on the same photo")
st.markdown(
    "Both colorizers see the same gray photo and are scored on the same **test part** with the same functions: "
    "the report's difference on 4-level RGB, the report's accuracy (a/b within 10), AuC of acc(t), PSNR, SSIM and "
    "colorfulness, plus training and colorize times. Baselines are fitted on the training part."
)

got = image_input(K)
if got is None:
    st.info("Pick a sample or upload another photo to compare.")
    st.stop()
photo, photo_name = got
work = working_copy(photo, K, default=400)

cnn_options = committed_model_names()
if st.session_state.get("cnn_trained") is not None:
    cnn_options = [SESSION_CNN, *cnn_options]

with st.form(f"{K}_form"):
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**ANN (numpy)** — our default preset")
        how = st.radio(
            "ANN trained on",
            ["left-right", "cross-image"],
            format_func={"left-right": "the left half (tested on the right half)", "cross-image": "another image"}.get,
            key=f"{K}_split",
        )
        other = st.selectbox(
            "Other image (for 'another image')", SAMPLES, index=SAMPLES.index("chelsea"), key=f"{K}_other"
        )
        epochs = st.number_input("ANN epochs", min_value=1, max_value=500, value=10, key=f"{K}_epochs")
    with c2:
        st.markdown("**CNN (Keras)**")
        cnn_choice = st.selectbox(
            "CNN model",
            cnn_options or ["(none available)"],
            format_func=lambda n: "trained in this session (CNN page)" if n == SESSION_CNN else f"pre-trained '{n}'",
            key=f"{K}_cnn",
        )
    compare_clicked = st.form_submit_button("Compare", type="primary")

if compare_clicked:
    with friendly_errors("Comparing"):
        if how == "cross-image":
            split = make_split(work, "cross-image", train_image=fit_within(sample_image(other), max(work.shape[:2])))
        else:
            split = make_split(work, "left-right")
        test_rgb = split.test_rgb
        rows: dict[str, dict] = {}
        images: dict[str, np.ndarray] = {}
        with st.spinner("Training the ANN…"):
            ann = run_ann(preset("default", epochs=int(epochs), preview_every=0), split)
            t0 = time.perf_counter()
            ann_pred = ann.model.colorize(test_rgb)
            ann_colorize_s = time.perf_counter() - t0
        rows["ANN (numpy)"] = {
            **common_scores(ann_pred, test_rgb),
            "train_seconds": ann.train_seconds,
            "colorize_seconds": ann_colorize_s,
        }
        images["ANN (numpy)"] = ann_pred
        if cnn_choice == SESSION_CNN:
            trained = st.session_state["cnn_trained"]
            cnn_model, card, cnn_label = trained["model"], trained["card"], trained["label"]
        elif cnn_choice in committed_model_names():
            with st.spinner("Loading the CNN…"):
                cnn_model, card = pretrained_model(cnn_choice)
            cnn_label = f"pre-trained '{cnn_choice}'"
        else:
            cnn_model = card = None
            cnn_label = ""
        if cnn_model is not None:
            with st.spinner("Colorizing with the CNN…"):
                cnn_pred, _, cnn_s = cnn_colorize(cnn_model, test_rgb)
            rows[f"CNN ({cnn_label})"] = {
                **common_scores(cnn_pred, test_rgb),
                "train_seconds": ((card or {}).get("training") or {}).get("seconds"),
                "colorize_seconds": cnn_s,
            }
            images[f"CNN ({cnn_label})"] = cnn_pred
        L = rgb2lab(test_rgb)[..., 0]
        for name, ab in ab_baseline_predictions(None, test_rgb, train_rgb=split.train_rgb).items():
            pred = lab2uint8(merge_l_ab(L, ab))
            rows[f"baseline: {name}"] = {
                **common_scores(pred, test_rgb),
                "train_seconds": None,
                "colorize_seconds": None,
            }
        st.session_state[f"{K}_result"] = {
            "rows": rows,
            "images": images,
            "test_rgb": test_rgb,
            "how": split.how,
            "photo_name": photo_name,
            "truth_colorfulness": common_scores(test_rgb, test_rgb)["colorfulness"],
        }

res = st.session_state.get(f"{K}_result")
if res is None:
    st.info("Choose the models and press **Compare**.")
    st.stop()

part = "right half" if res["how"] == "left-right" else "whole photo (ANN trained on another image)"
st.header(f"'{res['photo_name']}': {part}")
gray = gray2rgb(rgb2gray(res["test_rgb"]))
tiles = [(gray, "gray input"), *[(img, name) for name, img in res["images"].items()], (res["test_rgb"], "truth")]
cols = st.columns(len(tiles))
for col, (img, cap) in zip(cols, tiles, strict=True):
    col.image(img, caption=cap, width="stretch")

table = pd.DataFrame(
    [
        {
            "predictor": name,
            "Seed difference (4-level RGB)": fmt(s["seed_difference"]),
            "accuracy (a/b within 10)": fmt(s["accuracy"]),
            "hit rate": fmt(s["hit_rate"]),
            "saturation": fmt(s["saturation"], 2),
            "AuC": fmt(s["auc"]),
            "PSNR (dB)": fmt(s["psnr"], 2),
            "SSIM": fmt(s["ssim"]),
            "colorfulness": fmt(s["colorfulness"], 1),
            "training (s)": fmt(s["train_seconds"], 2),
            "colorize (s)": fmt(s["colorize_seconds"], 3),
        }
        for name, s in res["rows"].items()
    ]
).set_index("predictor")
st.subheader("Metrics in common units")
st.table(table)
st.caption(
    f"All on the same test part. Seed difference: lower is better (levels); accuracy, hit rate (colourful pixels within 20), AuC, PSNR, SSIM: "
    "higher is better; saturation: 1 is as vivid as the truth, 0 is gray. "
    f"Colorfulness of the truth: {res['truth_colorfulness']:.1f}. CNN training time is from its model card."
)

st.subheader("The report's figures (as printed in the report, not measured here)")
r1, r2 = st.columns(2)
r1.table(
    pd.DataFrame(
        {
            "photo": list(REPORT_ANN_DIFFERENCE),
            "report's ANN Seed difference": [f"{v:.2f}" for v in REPORT_ANN_DIFFERENCE.values()],
        }
    ).set_index("photo")
)
r2.table(
    pd.DataFrame(
        {
            "scenario": list(REPORT_CNN_ACCURACY),
            "report's CNN accuracy": [f"{v:.0%}" for v in REPORT_CNN_ACCURACY.values()],
        }
    ).set_index("scenario")
)

st.subheader("Export")
e1, e2 = st.columns(2)
with e1:
    buf = io.StringIO()
    table.to_csv(buf)
    st.download_button(
        "Table (CSV)",
        buf.getvalue(),
        file_name=f"compare_{res['photo_name']}.csv",
        mime="text/csv",
        key=f"{K}_csv",
        on_click="ignore",
    )
with e2:
    png_download("Panel (PNG)", _panel([img for img, _ in tiles]), f"compare_{res['photo_name']}.png", key=f"{K}_png")
