"""CNN page: colorize any photo with the general model (or a scenario's), or train one now on your photos.

A click elsewhere while the CNN trains (Stop, or any widget) ends training after the current step and keeps
the model trained so far in this session.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import streamlit as st

from core.color import gray2rgb, rgb2gray, rgb2lab
from core.datasets import data_root, list_scenarios
from core.images import fit_within
from ui import charts
from ui.common import UPLOAD_TYPES, fmt, friendly_errors, image_input, metrics_downloads, png_download
from ui.scoring import ab_baseline_predictions, cnn_colorize, committed_model_names, lab_scores, pretrained_model

K = "cnn"
SCORE_SIDE = 384  # photo scores are computed on a copy at most this many pixels a side
GRAY_CHROMA = 2.0  # a photo whose a/b never leave this distance from gray has no true colours to score against
MODEL_LABELS = {
    "general": "general: any photo",
    "beach": "beach (the report's scenario)",
    "sunset": "sunset (the report's 'sunrise')",
    "forest": "forest (the report's scenario)",
}
SCORE_HELP = {
    "accuracy": "Share of a/b colour values within 10 of the truth (the report's score). 1 = perfect; a gray "
    "picture already scores about 0.5 on everyday photos, so read it beside the baselines.",
    "hit rate": "Among the truly colourful pixels (chroma at least 20), the share whose predicted colour is within "
    "20 of the true one. 1 = perfect, 0 = gray.",
    "saturation": "How vivid the colours are next to the truth: 1 = as vivid, 0 = gray, above 1 = more vivid.",
}


def _is_script_control(exc: BaseException) -> bool:
    """Streamlit's rerun/stop signals: BaseExceptions that are not errors."""
    return not isinstance(exc, (Exception, KeyboardInterrupt, SystemExit, GeneratorExit))


def _card_details(card: dict | None) -> None:
    """The model card's facts and its scores beside the baselines, for the Technical details expander."""
    if not card:
        st.caption("No model card beside this model.")
        return
    cfg, tr, m = card.get("config") or {}, card.get("training") or {}, card.get("metrics") or {}
    st.caption(
        f"{card.get('arch')} network, {card.get('parameters', 0):,} parameters, loss {card.get('loss')}; "
        + (f"fine-tuned from '{cfg.get('init')}'; " if cfg.get("init") else "")
        + f"trained on {(card.get('data') or {}).get('name')} ({(card.get('data') or {}).get('photos')} photos), "
        + f"{tr.get('steps')} steps in {(tr.get('seconds') or 0) / 60:.1f} min on {tr.get('device')}."
    )
    agg = m.get("aggregate") or {}
    if agg.get("model"):
        rows = [
            {
                "colorizer": "this model" if name == "model" else f"baseline: {name}",
                "accuracy": fmt(agg[name]["accuracy"]),
                "hit rate": fmt(agg[name]["hit_rate"]),
                "saturation": fmt(agg[name]["saturation"], 2),
                "SSIM": fmt(agg[name]["ssim"]),
            }
            for name in ("model", "gray", "mean", "lookup")
            if name in agg
        ]
        st.markdown(f"Scores on {m.get('n')} photos it never saw: {m.get('scored_on')}.")
        st.table(pd.DataFrame(rows).set_index("colorizer"))


def _train_now(config, dataset, area) -> None:
    """Train (or load from the cache) with live curves; an interruption keeps the model so far."""
    from core.cnn.runs import train_on_dataset

    live = {"stop": threading.Event(), "done": threading.Event()}
    st.session_state[f"{K}_live"] = live
    interrupt: dict = {"exc": None}
    history: list[dict] = []
    try:
        with area.container():
            st.button("Stop", key=f"{K}_stop")
            progress = st.progress(0.0, text="starting (TensorFlow loads the first time)…")
            chart_slot = st.empty()

        def on_progress(ev: dict) -> None:
            history.append(ev)
            if interrupt["exc"] is not None or live["stop"].is_set():
                return
            try:
                acc = f" · accuracy on the test photos {ev['accuracy']:.3f}" if ev.get("accuracy") is not None else ""
                progress.progress(min(1.0, ev["step"] / ev["steps"]), text=f"step {ev['step']}/{ev['steps']}{acc}")
                if ev.get("accuracy") is not None:
                    chart_slot.plotly_chart(
                        charts.accuracy_curves(history, keys=("accuracy",)), key=f"{K}_live_{ev['step']}"
                    )
            except BaseException as exc:
                if not _is_script_control(exc):
                    raise
                interrupt["exc"] = exc  # stop after this step, keep the model, then honour the click
                live["stop"].set()

        t0 = time.perf_counter()
        res = train_on_dataset(config, dataset, progress=on_progress, stop=live["stop"])
        live["trained"] = {
            **res,
            "history": res["history"] or history,
            "dataset": dataset,
            "wall": time.perf_counter() - t0,
            "label": f"trained now on '{dataset.name}'",
        }
    finally:
        live["done"].set()
    if interrupt["exc"] is not None:
        raise interrupt["exc"]
    st.session_state[f"{K}_trained"] = live["trained"]
    st.session_state[f"{K}_live"] = None
    area.empty()


def _wait_for_interrupted_training() -> None:
    """A click during training started this run: stop that training and wait for its model."""
    live = st.session_state.get(f"{K}_live")
    if live is None:
        return
    live["stop"].set()
    if not live["done"].is_set():
        with st.spinner("Stopping the training run after its current step…"):
            live["done"].wait(timeout=600)
    if live.get("trained") is not None:
        st.session_state[f"{K}_trained"] = live["trained"]
    st.session_state[f"{K}_live"] = None


def _train_section() -> None:
    root = data_root(required=False)
    scenarios = list_scenarios(root) if root else []
    from core.cnn import recipe

    with st.expander("Train a CNN now", expanded=False), st.form(f"{K}_train_form"):
        st.markdown("Teach the general model one kind of scene, or train the report's network from scratch.")
        sources = (["scenario"] if scenarios else []) + ["uploads"]
        source = st.radio(
            "Photos",
            sources,
            format_func={"scenario": "a scenario from the data folder", "uploads": "photos uploaded together"}.get,
            horizontal=True,
            key=f"{K}_source",
        )
        scenario = st.selectbox("Scenario", scenarios or ["—"], key=f"{K}_scenario")
        uploads = st.file_uploader(
            "Photos for training (7:3 train/test split)", type=UPLOAD_TYPES, accept_multiple_files=True, key=f"{K}_set"
        )
        which = st.radio(
            "Recipe",
            ("scenario", "report"),
            format_func={
                "scenario": "fine-tune the general model (about a minute)",
                "report": "the report's network",
            }.get,
            horizontal=True,
            key=f"{K}_recipe",
        )
        steps = st.number_input("Steps", min_value=1, max_value=20000, value=150, step=50, key=f"{K}_steps")
        seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key=f"{K}_seed")
        clicked = st.form_submit_button("Train CNN", type="primary")
    live_area = st.empty()
    if clicked:
        with friendly_errors("Training the CNN"):
            config = recipe(which, steps=int(steps), seed=int(seed))
            if source == "scenario":
                from ui.scoring import scenario_dataset

                dataset = scenario_dataset(scenario, str(root.resolve()))
            else:
                if not uploads or len(uploads) < 2:
                    raise ValueError("upload at least two photos (some to train on, some to test on)")
                from core.datasets import from_images

                dataset = from_images(uploads)
            _train_now(config, dataset, live_area)
    trained = st.session_state.get(f"{K}_trained")
    if trained is not None:
        (st.warning if trained["stopped"] else st.success)(f"Model {trained['label']}: {trained['message']}.")
        if trained["history"]:
            st.plotly_chart(charts.accuracy_curves(trained["history"], keys=("accuracy",)), key=f"{K}_curves")
        with st.expander("Technical details of the model trained now"):
            _card_details(trained["card"])


def _is_gray(rgb: np.ndarray) -> bool:
    """Whether a photo has no colour at all (its a/b stay within :data:`GRAY_CHROMA` of gray everywhere)."""
    ab = rgb2lab(fit_within(rgb, 256))[..., 1:]
    return float(np.hypot(ab[..., 0], ab[..., 1]).max()) < GRAY_CHROMA


def _score(done: dict) -> None:
    src, out = done["photo"], done["out"]
    small_true, small_out = fit_within(src, SCORE_SIDE), fit_within(out, SCORE_SIDE)
    ab_out = rgb2lab(small_out)[..., 1:]
    scores = {"this model": lab_scores(ab_out, small_true, small_out)}
    for name, ab_b in ab_baseline_predictions(done["card"], small_true, train_rgb=small_true).items():
        scores[f"baseline: {name}"] = lab_scores(ab_b, small_true)
    done["scores"] = scores


# --------------------------------------------------------------------------- page

st.title("CNN: colorize any photo")
st.markdown(
    "A convolutional network looks at the lightness of a photo and paints in its colours. "
    "Pick a photo, press **Colorize**, and compare with the real colours."
)

_wait_for_interrupted_training()

got = image_input(K, default="chelsea")
photo, photo_name = got if got is not None else (None, None)

names = committed_model_names()
options = names + (["session"] if st.session_state.get(f"{K}_trained") is not None else [])
c1, c2 = st.columns([2, 1])
with c1:
    choice = st.selectbox(
        "Model",
        options or ["(none)"],
        format_func=lambda n: "trained now, in this session" if n == "session" else MODEL_LABELS.get(n, n),
        key=f"{K}_model",
    )
model = card = None
if choice == "session":
    trained = st.session_state[f"{K}_trained"]
    model, card, label = trained["model"], trained["card"], trained["label"]
elif choice in names:
    with friendly_errors(f"Loading the model '{choice}'"):
        model, card = pretrained_model(choice)
        label = MODEL_LABELS.get(choice, choice)
vivid = None
if model is not None and (card or {}).get("config", {}).get("loss") == "bins":
    with c2:
        vivid = st.slider(
            "Colours: safe ↔ vivid",
            min_value=0.0,
            max_value=1.0,
            value=0.5,
            step=0.1,
            key=f"{K}_vivid",
            help="Safe colours stay near gray where the network is unsure; vivid ones favour the rarer, "
            "brighter colours it considers possible.",
        )
if model is not None and photo is not None and st.button("Colorize", type="primary", key=f"{K}_colorize"):
    with friendly_errors("Colorizing"):
        out, _, seconds = cnn_colorize(model, photo, vividness=vivid)
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
            "key": (photo_name, choice, vivid),
            "number": st.session_state[f"{K}_count"],
        }

done = st.session_state.get(f"{K}_out")
if done is not None:
    stale = done["key"] != (photo_name, choice, vivid)
    src, out = done["photo"], done["out"]
    cols = st.columns(3)
    width = min(400, 2 * src.shape[1])
    cols[0].image(gray2rgb(rgb2gray(fit_within(src, 800))), caption="what the network sees", width=width)
    cols[1].image(fit_within(out, 800), caption=f"colorized by {done['label']}", width=width)
    cols[2].image(fit_within(src, 800), caption="the real colours", width=width)
    if stale:
        st.info("The photo, the model or the vividness changed: press Colorize to update this result.")
    st.caption(
        f"'{done['photo_name']}', {src.shape[1]}×{src.shape[0]} pixels, colorized in {done['seconds']:.2f} s "
        f"(colorization #{done['number']} in this session)."
    )
    if done["gray"]:
        st.info("This photo has no true colours to compare against (it is black and white), so it gets no scores.")
    else:
        with friendly_errors("Scoring"):
            if done["scores"] is None:
                _score(done)
            rows = [
                {
                    "colorizer": k,
                    "accuracy": fmt(s["accuracy"]),
                    "hit rate": fmt(s["hit_rate"]),
                    "saturation": fmt(s["saturation"], 2),
                }
                for k, s in done["scores"].items()
            ]
            st.table(pd.DataFrame(rows).set_index("colorizer"))
            st.caption(" · ".join(f"**{k}**: {v}" for k, v in SCORE_HELP.items()))
    d1, d2 = st.columns([1, 2])
    with d1:
        png_download("Colorized picture (PNG)", out, f"cnn_{done['photo_name']}.png", key=f"{K}_png")
    with d2:
        if done["scores"]:
            scores = {k: {m: v for m, v in s.items() if m != "curve"} for k, s in done["scores"].items()}
            metrics_downloads(
                {"photo": done["photo_name"], "model": done["label"], "scores": scores},
                f"cnn_{done['photo_name']}_metrics",
                key=f"{K}_metrics",
            )

with st.expander("Technical details"):
    _card_details(card)

_train_section()
