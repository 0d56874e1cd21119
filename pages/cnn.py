"""CNN page: colorize any photo (a sample, an upload or the camera), add colour hints by clicking, and train now.

The photo, the model and the vividness sit in the sidebar; the result fills the
screen beside the real colours. Training runs in a background job (``ui.jobs``)
drawn by a fragment, so a click elsewhere or Streamlit's own Stop never freezes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.color import gray2rgb, rgb2gray, rgb2lab
from core.images import fit_within
from ui.before_after import before_after
from ui.cnn_parts import card_details, gallery_section, hint_controls, train_section
from ui.common import display_copy, fmt, friendly_errors, image_input, metrics_downloads, png_download, show_image
from ui.scoring import ab_baseline_predictions, cnn_colorize, committed_model_names, lab_scores, pretrained_model
from ui.server import use_dashboard_navigation
from ui.words import SCORES, badge, judge, score_help

K = "cnn"
DEMO_PHOTO = "chelsea"  # a sample the general model colours well
SCORE_SIDE = 384  # photo scores are computed on a copy at most this many pixels a side
GRAY_CHROMA = 2.0  # a photo whose a/b never leave this distance from gray has no true colours to score against
SHOWN = ("accuracy", "hit_rate", "saturation")
MODEL_LABELS = {
    "general": "general: any photo",
    "beach": "beach (the report's scenario)",
    "sunset": "sunset (the report's 'sunrise')",
    "forest": "forest (the report's scenario)",
}


def _is_gray(rgb: np.ndarray) -> bool:
    """Whether a photo has no colour at all (its a/b stay within :data:`GRAY_CHROMA` of gray everywhere)."""
    ab = rgb2lab(fit_within(rgb, 256))[..., 1:]
    return float(np.hypot(ab[..., 0], ab[..., 1]).max()) < GRAY_CHROMA


def _score(done: dict) -> None:
    src, out = done["photo"], done["out"]
    small_true, small_out = fit_within(src, SCORE_SIDE), fit_within(out, SCORE_SIDE)
    ab_out = rgb2lab(small_out)[..., 1:]
    scores = {"this model": lab_scores(ab_out, small_true, small_out)}
    card = done["card"]
    for name, ab_b in ab_baseline_predictions(card, small_true, train_rgb=small_true).items():
        scores[f"baseline: {name}"] = lab_scores(ab_b, small_true)
    done["scores"] = scores
    # Without the model card's tables the baselines are fitted on this very photo: they have seen the answer.
    done["fitted_on_photo"] = () if (card or {}).get("baselines_ab") else ("mean", "lookup")


def _colorize(model, photo, photo_name, choice, label, card, vivid, hints) -> None:
    with friendly_errors("Colorizing"):
        out, _, seconds = cnn_colorize(model, photo, hints=hints or None, vividness=vivid)
        st.session_state[f"{K}_count"] = st.session_state.get(f"{K}_count", 0) + 1
        st.session_state[f"{K}_out"] = {
            "photo": photo,
            "photo_name": photo_name,
            "out": out,
            "seconds": seconds,
            "label": label,
            "card": card,
            "scores": None,
            "gray": _is_gray(photo),
            "key": (photo_name, photo.shape, choice, vivid),
            "hints": tuple(hints),
            "number": st.session_state[f"{K}_count"],
        }


def _verdicts(done: dict) -> None:
    s = done["scores"]
    base = {k.removeprefix("baseline: "): v for k, v in s.items() if k.startswith("baseline: ")}
    for col, key in zip(st.columns(len(SHOWN)), SHOWN, strict=True):
        v = judge(key, s["this model"][key], {k: b[key] for k, b in base.items()}, done["fitted_on_photo"])
        with col:
            st.metric(SCORES[key].name, fmt(s["this model"][key], SCORES[key].digits), help=SCORES[key].meaning)
            badge(key, v, short=True)


def _score_table(done: dict) -> None:
    rows = [
        {"colorizer": k, **{SCORES[m].name: fmt(s[m], SCORES[m].digits) for m in SHOWN}}
        for k, s in done["scores"].items()
    ]
    st.table(pd.DataFrame(rows).set_index("colorizer"))
    fitted = done["fitted_on_photo"]
    where = (
        "fitted on this very photo, so they have seen its colours"
        if fitted
        else "fitted on the photos the model learnt from"
    )
    st.caption(
        score_help(*SHOWN) + f"  \nBaselines ({where}): **gray** leaves the photo gray, **mean** paints "
        "one average colour, **lookup** gives each gray value its most common colour."
    )


# --------------------------------------------------------------------------- page

use_dashboard_navigation()  # a fresh server's first visit straight to this page
st.title("CNN: colorize any photo")
st.markdown(
    "A convolutional network looks at the lightness of a photo and paints in its colours. Pick a photo "
    "in the sidebar (or take one with the camera), press **Colorize**, and compare with the real colours."
)

got = image_input(K, default=DEMO_PHOTO, camera=True)
photo, photo_name = got if got is not None else (None, None)

names = committed_model_names()
options = names + (["session"] if st.session_state.get(f"{K}_trained") is not None else [])
choice = st.sidebar.selectbox(
    "Model",
    options or ["(none)"],
    format_func=lambda n: "trained now, in this session" if n == "session" else MODEL_LABELS.get(n, n),
    key=f"{K}_model",
)
model = card = None
label = ""
if choice == "session":
    trained = st.session_state[f"{K}_trained"]
    model, card, label = trained["model"], trained["card"], trained["label"]
elif choice in names:
    with friendly_errors(f"Loading the model '{choice}'"):
        model, card = pretrained_model(choice)
        label = MODEL_LABELS.get(choice, choice)
vivid = None
if model is not None and (card or {}).get("config", {}).get("loss") == "bins":
    vivid = st.sidebar.slider(
        "Colours: safe ↔ vivid",
        min_value=0.0,
        max_value=1.0,
        value=0.5,
        step=0.1,
        key=f"{K}_vivid",
        help="Safe colours stay near gray where the network is unsure; vivid ones favour the rarer, "
        "brighter colours it considers possible.",
    )
takes_hints = model is not None and (card or {}).get("config", {}).get("hints", False)

c_btn, c_hint, c_pick = st.columns([1, 2, 2], vertical_alignment="center")
clicked = c_btn.button(
    "Colorize", type="primary", key=f"{K}_colorize", disabled=model is None or photo is None, icon=":material/palette:"
)
hint_mode = takes_hints and c_hint.toggle(
    "Add colour hints by clicking",
    key=f"{K}_hint_mode",
    help="Click a point of the gray photo to tell the network its colour.",
)
colour = c_pick.color_picker("Hint colour", value="#2563eb", key=f"{K}_hint_colour") if hint_mode else None

done = st.session_state.get(f"{K}_out")
current = (photo_name, None if photo is None else photo.shape, choice, vivid)
hints: list = []
if hint_mode and photo is not None:
    cols = st.columns(3)
    with cols[0]:
        hints = hint_controls(K, photo, (photo_name, photo.shape), colour)
    if model is not None and (
        clicked or (done is not None and done["key"] == current and done["hints"] != tuple(hints))
    ):
        _colorize(model, photo, photo_name, choice, label, card, vivid, hints)
elif clicked and model is not None and photo is not None:
    _colorize(model, photo, photo_name, choice, label, card, vivid, [])
    cols = None
else:
    cols = None

done = st.session_state.get(f"{K}_out")
if done is None or photo is None or done["key"][:2] != current[:2]:  # no result for this photo yet
    if photo is not None:
        left, right = (cols[1], cols[2]) if cols else st.columns(2)
        width = 290 if cols else 440
        show_image(left, gray2rgb(rgb2gray(photo)), "what the network sees", max_width=width, max_height=330)
        show_image(right, photo, "the real colours", max_width=width, max_height=330)
        st.caption(f"'{photo_name}', {photo.shape[1]}×{photo.shape[0]} pixels. Press **Colorize** to paint it.")
else:
    stale = done["key"] != current
    src, out = done["photo"], done["out"]
    left, right = (cols[1], cols[2]) if cols else st.columns(2)
    width = 290 if cols else 440
    shown = display_copy(out, max_width=width, max_height=330)
    gray_shown = gray2rgb(rgb2gray(display_copy(src, max_width=width, max_height=330)))
    with left:
        before_after(gray_shown, shown, caption=f"colorized by {done['label']}: drag across to compare", key=f"{K}_ba")
    show_image(
        right,
        src,
        "the real colours" if not done["gray"] else "the photo (black and white)",
        max_width=width,
        max_height=330,
    )
    if stale:
        st.info("The model or the vividness changed: press **Colorize** to update this result.")
    hint_note = f" with {len(done['hints'])} hint{'s' if len(done['hints']) != 1 else ''}" if done["hints"] else ""
    st.caption(
        f"'{done['photo_name']}', {src.shape[1]}×{src.shape[0]} pixels, colorized{hint_note} in "
        f"{done['seconds']:.2f} s (colorization #{done['number']} in this session)."
    )
    if done["gray"]:
        st.info("This photo has no true colours to compare against (it is black and white), so it gets no scores.")
    elif not stale:
        with friendly_errors("Scoring"):
            if done["scores"] is None:
                _score(done)
            _verdicts(done)
    if done["scores"] and not stale:
        with st.expander("All scores beside the baselines"):
            _score_table(done)
    with st.expander("Downloads"):
        png_download("Colorized picture (PNG)", out, f"cnn_{done['photo_name']}.png", key=f"{K}_png")
        if done["scores"]:
            scores = {k: {m: v for m, v in s.items() if m != "curve"} for k, s in done["scores"].items()}
            metrics_downloads(
                {"photo": done["photo_name"], "model": done["label"], "scores": scores},
                f"cnn_{done['photo_name']}_metrics",
                key=f"{K}_metrics",
            )

if model is not None and choice in names:
    gallery_section(K, choice, model, vivid)
with st.expander("Technical details"):
    card_details(card)
train_section(K)
