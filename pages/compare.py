"""Comparison page: the same photo through the ANN and the CNN, side by side, in one table.

Every predictor is scored on the same test part of the photo with the same
``core.metrics`` functions (common units), next to the baselines and to the
report's printed figures. The ANN and the CNN trained on their own pages in
this session can be reused here.
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
from ui.common import fmt, friendly_errors, image_input, png_download, sample_image, show_image, working_copy
from ui.scoring import ab_baseline_predictions, cnn_colorize, committed_model_names, common_scores, pretrained_model
from ui.server import use_dashboard_navigation
from ui.words import SCORES, badge, judge, score_help

K = "cmp"
SESSION = "session"
MAIN = ("seed_difference", "accuracy", "hit_rate", "saturation")  # the columns shown first
MORE = ("auc", "psnr", "ssim", "colorfulness")  # the rest, in an expander

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


def _table(rows: dict, keys) -> pd.DataFrame:
    """Scores per predictor, with the best value of each column in bold (closest to 1 for colour strength)."""
    df = pd.DataFrame(
        {SCORES[k].name: [fmt(r.get(k), SCORES[k].digits) for r in rows.values()] for k in keys}, index=list(rows)
    )
    for k in keys:
        s = SCORES[k]
        vals = {n: r.get(k) for n, r in rows.items() if r.get(k) is not None and np.isfinite(r.get(k))}
        if not vals:
            continue
        if s.target is not None:
            best = min(vals, key=lambda n: abs(vals[n] - s.target))
        else:
            best = (max if s.higher_is_better else min)(vals, key=vals.get)
        df.loc[best, s.name] = f"**{df.loc[best, s.name]}**"
    df.index.name = "colorizer"
    return df


def _compare(work, how, other, epochs, ann_choice, cnn_choice, photo_name) -> None:
    if how == "cross-image":
        split = make_split(work, "cross-image", train_image=fit_within(sample_image(other), max(work.shape[:2])))
    else:
        split = make_split(work, "left-right")
    test_rgb = split.test_rgb
    rows: dict[str, dict] = {}
    images: dict[str, np.ndarray] = {}
    if ann_choice == SESSION:
        ann = st.session_state["ann_result"]["result"]
        ann_label = "ANN (trained on the ANN page)"
    else:
        with st.spinner("Training the ANN…"):
            ann = run_ann(preset("default", epochs=int(epochs), preview_every=0, score_sample=4096), split)
        ann_label = "ANN (numpy)"
    t0 = time.perf_counter()
    ann_pred = ann.model.colorize(test_rgb)
    rows[ann_label] = {
        **common_scores(ann_pred, test_rgb),
        "train_seconds": ann.train_seconds,
        "colorize_seconds": time.perf_counter() - t0,
    }
    images[ann_label] = ann_pred
    if cnn_choice == SESSION:
        trained = st.session_state["cnn_trained"]
        cnn_model, card, cnn_label = trained["model"], trained["card"], "CNN (trained on the CNN page)"
    elif cnn_choice in committed_model_names():
        with st.spinner("Loading the CNN…"):
            cnn_model, card = pretrained_model(cnn_choice)
        cnn_label = f"CNN ('{cnn_choice}')"
    else:
        cnn_model = card = None
    if cnn_model is not None:
        with st.spinner("Colorizing with the CNN…"):
            cnn_pred, _, cnn_s = cnn_colorize(cnn_model, test_rgb)
        rows[cnn_label] = {
            **common_scores(cnn_pred, test_rgb),
            "train_seconds": ((card or {}).get("training") or {}).get("seconds"),
            "colorize_seconds": cnn_s,
        }
        images[cnn_label] = cnn_pred
    L = rgb2lab(test_rgb)[..., 0]
    for name, ab in ab_baseline_predictions(None, test_rgb, train_rgb=split.train_rgb).items():
        rows[f"baseline: {name}"] = {
            **common_scores(lab2uint8(merge_l_ab(L, ab)), test_rgb),
            "train_seconds": None,
            "colorize_seconds": None,
        }
    st.session_state[f"{K}_result"] = {
        "rows": rows,
        "images": images,
        "test_rgb": test_rgb,
        "how": split.how,
        "photo_name": photo_name,
    }


# --------------------------------------------------------------------------- page

use_dashboard_navigation()  # a fresh server's first visit straight to this page
st.title("Comparison: ANN and CNN on the same photo")
st.markdown(
    "Both colorizers see the same gray photo and are scored on the same part of it, beside three "
    "baselines. Choose them in the sidebar and press **Compare**."
)

got = image_input(K)
work = working_copy(got[0], K, default=400) if got is not None else None
ann_options = ([SESSION] if st.session_state.get("ann_result") is not None else []) + ["new"]
cnn_options = ([SESSION] if st.session_state.get("cnn_trained") is not None else []) + committed_model_names()
with st.sidebar.form(f"{K}_form", border=False):
    compare_clicked = st.form_submit_button("Compare", type="primary", icon=":material/compare:", width="stretch")
    ann_choice = st.selectbox(
        "ANN",
        ann_options,
        key=f"{K}_ann",
        format_func={SESSION: "the one trained on the ANN page", "new": "train one now"}.get,
    )
    how = st.radio(
        "The new ANN learns on",
        ["left-right", "cross-image"],
        key=f"{K}_split",
        format_func={"left-right": "the left half (tested on the right half)", "cross-image": "another photo"}.get,
    )
    other = st.selectbox("Other photo", SAMPLES, index=SAMPLES.index("chelsea"), key=f"{K}_other")
    epochs = st.number_input("ANN epochs", min_value=1, max_value=500, value=10, key=f"{K}_epochs")
    cnn_choice = st.selectbox(
        "CNN",
        cnn_options or ["(none available)"],
        key=f"{K}_cnn",
        format_func=lambda n: "the one trained on the CNN page" if n == SESSION else f"pre-trained '{n}'",
    )

if st.session_state.pop(f"{K}_busy", False):
    st.info("The last comparison was stopped before it finished. Press **Compare** to run it again.")
if compare_clicked and work is not None:
    st.session_state[f"{K}_busy"] = True  # still set on the next run if this one is stopped
    with friendly_errors("Comparing"):
        _compare(work, how, other, epochs, ann_choice, cnn_choice, got[1])
    st.session_state[f"{K}_busy"] = False

res = st.session_state.get(f"{K}_result")
if res is None or got is None or res["photo_name"] != got[1]:
    if got is not None:
        show_image(st, work, f"'{got[1]}': press Compare in the sidebar", max_width=520)
    st.stop()

part = "right half" if res["how"] == "left-right" else "whole photo (the ANN learnt on another photo)"
st.markdown(f"**'{res['photo_name']}', scored on the {part}**")
gray = gray2rgb(rgb2gray(res["test_rgb"]))
tiles = [(gray, "what they see"), *[(img, name) for name, img in res["images"].items()], (res["test_rgb"], "truth")]
for col, (img, cap) in zip(st.columns(len(tiles)), tiles, strict=True):
    show_image(col, img, cap, max_width=230, max_height=250)

rows = res["rows"]
base = {k.removeprefix("baseline: "): r for k, r in rows.items() if k.startswith("baseline: ")}
fitted = ("mean", "lookup") if res["how"] == "left-right" else ()
models = [n for n in rows if not n.startswith("baseline: ")]
for col, name in zip(st.columns(len(models)), models, strict=True):
    with col:
        st.markdown(f"**{name}**")
        for key in ("seed_difference", "hit_rate"):
            badge(key, judge(key, rows[name][key], {b: r[key] for b, r in base.items()}, fitted))

st.table(_table(rows, MAIN))
why = (
    " The **mean** and **lookup** baselines were fitted on the left half of this very photo, so they have "
    "seen its colours; the CNN never saw this photo, so losing to them is no shame."
    if fitted
    else ""
)
st.caption(
    "Lower colour error is better; higher accuracy and colour hits are better; colour strength is best "
    "near 1. The best value in each column is in bold." + why
)
with st.expander("What the columns mean"):
    st.markdown(score_help(*MAIN, *MORE))
with st.expander("More scores, times, the report's figures, export"):
    more = _table(rows, MORE)
    more["training (s)"] = [fmt(r["train_seconds"], 2) for r in rows.values()]
    more["colorize (s)"] = [fmt(r["colorize_seconds"], 3) for r in rows.values()]
    st.table(more)
    st.caption("The report's figures, as printed in the report (not measured here):")
    r1, r2 = st.columns(2)
    r1.table(
        pd.DataFrame(
            {
                "photo": list(REPORT_ANN_DIFFERENCE),
                "report's ANN colour error": [f"{v:.2f}" for v in REPORT_ANN_DIFFERENCE.values()],
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
    e1, e2 = st.columns(2)
    buf = io.StringIO()
    pd.DataFrame(
        {n: {k: r.get(k) for k in (*MAIN, *MORE, "train_seconds", "colorize_seconds")} for n, r in rows.items()}
    ).T.to_csv(buf)
    e1.download_button(
        "Table (CSV)",
        buf.getvalue(),
        file_name=f"compare_{res['photo_name']}.csv",
        mime="text/csv",
        key=f"{K}_csv",
        on_click="ignore",
    )
    with e2:
        png_download(
            "Panel (PNG)", _panel([img for img, _ in tiles]), f"compare_{res['photo_name']}.png", key=f"{K}_png"
        )
