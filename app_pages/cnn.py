"""CNN page: colorize with a pre-trained Keras model or one trained now, and explore the result.

Training knobs sit in a form applied by "Train CNN". A click elsewhere while
the CNN trains (Stop, or any widget) ends training after the current batch and
keeps the model trained so far in this session.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.color import gray2rgb, rgb2gray, rgb2lab
from core.datasets import data_root, list_scenarios
from core.images import fit_within
from core.metrics import THRESHOLDS, cast_oracle
from ui import charts
from ui.common import UPLOAD_TYPES, fmt, friendly_errors, image_input, metrics_downloads, png_download
from ui.scoring import (
    ab_baseline_predictions,
    cnn_colorize,
    committed_model_names,
    lab_scores,
    pretrained_model,
    scenario_dataset,
)

K = "cnn"
SCORE_SIDE = 384  # photo scores are computed on a copy at most this many pixels a side
MODEL_LABELS = {
    "beach": "beach (report's scenario)",
    "sunset": "sunset (the report's 'sunrise')",
    "forest": "forest (report's scenario)",
    "scenes": "all scenes",
}


def _is_script_control(exc: BaseException) -> bool:
    """Streamlit's rerun/stop signals: BaseExceptions that are not errors."""
    return not isinstance(exc, (Exception, KeyboardInterrupt, SystemExit, GeneratorExit))


def _card_summary(card: dict | None) -> None:
    if not card:
        st.caption("No model card beside this model.")
        return
    m = card.get("metrics") or {}
    tr = card.get("training") or {}
    data = card.get("data") or {}
    from core.cnn import CNNConfig

    config = CNNConfig.from_dict(card.get("config") or {})  # the card's recipe, with CNNConfig's defaults
    members, told = config.members, config.told  # told: every U-Net told the gate's p
    scored = card.get("scored_on")
    if config.focus and scored:
        focus, mix = config.focus, config.mix
        if told:
            own = config.own_share
            who = "one U-Net" if members == 1 else "each U-Net"
            how = (
                f"{who} told by a scene gate how likely a photo is of {focus}: {100 * own:.0f}% of each batch "
                f"from {focus}'s {scored.get('train')} training photos, told yes, and the rest drawn "
                f"{100 * (1 - mix):.0f}% from them and {100 * mix:.0f}% from the other scenarios', told no"
            )
            if config.position:
                how += f"; {'it' if members == 1 else 'each'} also sees where each pixel sits in the photo"
        elif config.gate:
            how = (
                f"a specialist U-Net trained on {focus}'s {scored.get('train')} training photos only and a generalist "
                f"with {100 * mix:.0f}% of its crops from the other scenarios', weighed per photo by a scene gate"
            )
        else:
            how = (
                f"{100 * (1 - mix):.0f}% of its training crops from {focus}'s {scored.get('train')} training photos, "
                f"{100 * mix:.0f}% from the other scenarios'"
            )
        trained_on = (
            f"made for **{focus}**: {how} ({data.get('train')} training photos in all; "
            f"{data.get('test')} test photos never seen)"
        )
    else:
        trained_on = f"trained on **{data.get('name')}** ({data.get('train')} photos; {data.get('test')} held out)"
    widths = config.member_widths
    of_widths = f" (widths {' and '.join(str(w) for w in widths)})" if widths else ""
    if told and members == 1:
        shape = ", one U-Net conditioned on a scene gate"
    elif told:
        shape = f", the average of {members} U-Nets{of_widths}, each conditioned on one scene gate"
    elif config.gate:
        shape = f", two U-Nets{of_widths} and a scene gate"
    elif members > 1:
        shape = f", the average of {members} U-Nets{of_widths}"
    else:
        shape = ""
    arch = f"architecture **{card.get('arch')}**{shape}"
    if config.init:
        trained_on += f", fine-tuned from the model **{Path(str(config.init)).stem}**"
    parts = [
        f"{arch} ({card.get('parameters', 0):,} parameters), loss {card.get('loss')}",
        trained_on,
        f"{tr.get('steps')} steps in {tr.get('seconds')} s on {tr.get('device')}",
    ]
    st.caption("; ".join(str(p) for p in parts) + ".")
    if m.get("model"):
        rows = []
        for name in ("model", "gray", "mean", "lookup"):
            if name in m:
                rows.append(
                    {
                        "predictor": "CNN" if name == "model" else f"baseline: {name}",
                        "accuracy (a/b within 10)": fmt(m[name]["accuracy"]),
                        "AuC": fmt(m[name]["auc"]),
                        "PSNR (dB)": fmt(m[name]["psnr"], 2),
                        "SSIM": fmt(m[name]["ssim"]),
                    }
                )
        st.markdown(
            f"**Model card: scores on its test split** ({m.get('n')} photos at {m.get('size')}×{m.get('size')}"
            + (_detail_words(m["detail_side"]) if m.get("detail_side") else "")
            + ")"
        )
        st.table(pd.DataFrame(rows).set_index("predictor"))


def _detail_words(side: int) -> str:
    """How ``evaluate`` scored the CNN (round 18's two views), for the captions."""
    return (
        "; the CNN's colours are the mean of its predictions from that view and from the photo at "
        f"{side} px on the shorter side"
    )


def _train_now(config, dataset, area) -> None:
    """Train (or load from the on-disk cache) with live curves; an interruption keeps the model so far.

    A click while this runs starts a new script run (fast reruns) that sets ``stop``
    and waits for ``done``; if this run's own widget call is interrupted instead, it
    sets ``stop`` itself. Either way Keras ends after the current batch, the model
    trained so far is put in ``live["trained"]`` and ``done`` is set; the next run
    moves it into the session (a stopped run can no longer write session state).
    """
    from core import cnn

    live = {"stop": threading.Event(), "done": threading.Event()}
    st.session_state[f"{K}_live"] = live
    interrupt: dict = {"exc": None}
    history: list[dict] = []
    try:
        with area.container():
            st.subheader("Training the CNN")
            st.button("Stop", key=f"{K}_stop")
            progress = st.progress(0.0, text="starting (TensorFlow loads the first time)…")
            chart_slot = st.empty()

        def on_progress(ev: dict) -> None:
            history.append(ev)
            if interrupt["exc"] is not None or live["stop"].is_set():
                return
            try:
                acc = f" · test accuracy {ev['test_acc']:.3f}" if ev.get("test_acc") is not None else ""
                progress.progress(
                    min(1.0, ev["step"] / ev["steps"]),
                    text=f"step {ev['step']}/{ev['steps']} · epoch {ev['epoch']:.1f} · loss {ev['loss']:.2f}{acc}",
                )
                if ev.get("train_acc") is not None:
                    chart_slot.plotly_chart(
                        charts.accuracy_curves(history, keys=("train_acc", "test_acc")), key=f"{K}_live_{ev['step']}"
                    )
            except BaseException as exc:
                if not _is_script_control(exc):
                    raise
                interrupt["exc"] = exc  # stop after this batch, keep the model, then honour the click
                live["stop"].set()

        t0 = time.perf_counter()
        result = cnn.train_or_load(config, dataset, progress=on_progress, stop=live["stop"])
        # Kept in `live`, not st.session_state: an interrupted run may no longer touch session state.
        live["trained"] = {
            "model": result.model,
            "card": result.card,
            "history": result.history or history,
            "dataset": dataset.subset(config.focus) if config.focus else dataset,  # the split it is scored on
            "message": result.message,
            "from_cache": result.from_cache,
            "stopped": result.stopped,
            "seconds": result.seconds,
            "wall": time.perf_counter() - t0,
            "label": f"trained now on '{config.focus or dataset.name}' ({config.arch}"
            + (", the committed recipe)" if config.gate else ")"),
        }
    finally:
        live["done"].set()
    if interrupt["exc"] is not None:
        raise interrupt["exc"]
    st.session_state[f"{K}_trained"] = live["trained"]
    st.session_state[f"{K}_live"] = None
    area.empty()


def _committed_recipe(arch: str, loss: str | None, source: str, scenario: str, seed: int):
    """The committed models' recipe for one scenario (``cnn.committed_recipe``), and the dataset it trains on.

    Raises ValueError, saying what to change, where the recipe does not apply.
    """
    from core import cnn
    from core.datasets import ALL_SCENES

    if arch != "ours" or loss != "huber":
        raise ValueError(
            "the committed recipe is for ours (the U-Net) with the Huber loss; pick those, or 'from scratch'"
        )
    if source != "scenario":
        raise ValueError(
            "the committed recipe trains on the data folder's scenarios (it mixes in the other "
            "scenarios' photos, and its gate learns to tell them apart); pick 'a scenario from the data folder'"
        )
    if scenario != ALL_SCENES and ALL_SCENES not in cnn.committed_models():
        raise ValueError("the committed recipe starts from models/scenes.keras, which is not in models/")
    return cnn.committed_recipe(scenario, seed=seed), ALL_SCENES


def _wait_for_interrupted_training() -> None:
    """A click during training started this run: stop that training and wait for its model."""
    live = st.session_state.get(f"{K}_live")
    if live is None:
        return
    live["stop"].set()
    if not live["done"].is_set():
        with st.spinner("Stopping the training run after its current batch…"):
            live["done"].wait(timeout=600)
    if live.get("trained") is not None:
        st.session_state[f"{K}_trained"] = live["trained"]
    st.session_state[f"{K}_live"] = None


# --------------------------------------------------------------------------- page

st.title("CNN: colorizing in CIELAB with Keras")
st.markdown(
    "A convolutional network reads the lightness **L** of a photo and predicts its colour channels **a** and "
    "**b**; the photo's own L is kept. Scored with the report's **accuracy** (share of a/b values within 10 of "
    "the truth) and the acc(t) curve, always beside the gray, mean and lookup baselines."
)

_wait_for_interrupted_training()

got = image_input(K)
photo, photo_name = got if got is not None else (None, None)
if photo is not None:
    st.caption(f"Colorize works at full resolution: {photo.shape[1]}×{photo.shape[0]} pixels.")

st.subheader("Model")
choice = st.radio(
    "Which model",
    ["pretrained", "train"],
    format_func={"pretrained": "a pre-trained model (committed)", "train": "train one now"}.get,
    horizontal=True,
    key=f"{K}_choice",
)

model = card = None
model_label = ""
if choice == "pretrained":
    names = committed_model_names()
    if not names:
        st.warning("No committed models found in models/. Train one now instead.")
    else:
        name = st.selectbox("Pre-trained model", names, format_func=lambda n: MODEL_LABELS.get(n, n), key=f"{K}_model")
        with friendly_errors(f"Loading the model '{name}'"):
            from core.cnn import load_card

            card = load_card(name)
            _card_summary(card)
            model_label = f"pretrained '{name}'"
            # Load it now (once per server, st.cache_resource): TensorFlow starts while
            # the page is read, so the first "Colorize" click is not the slow one.
            pretrained_model(name)
            model = ("pretrained", name)
else:
    root = data_root(required=False)
    scenarios = list_scenarios(root) if root else []
    from core.cnn import ARCHS, CNNConfig

    with st.form(f"{K}_train_form"):
        st.markdown("**Train a CNN now** — knobs take effect when you press **Train CNN**.")
        sources = (["scenario"] if scenarios else []) + ["uploads"]
        c1, c2 = st.columns(2)
        with c1:
            source = st.radio(
                "Photos",
                sources,
                format_func={"scenario": "a scenario from the data folder", "uploads": "photos uploaded together"}.get,
                key=f"{K}_source",
            )
            scenario = st.selectbox("Scenario", scenarios + ["scenes"] if scenarios else ["—"], key=f"{K}_scenario")
            uploads = st.file_uploader(
                "Photos for training (7:3 train/test split)",
                type=UPLOAD_TYPES,
                accept_multiple_files=True,
                key=f"{K}_set",
            )
        with c2:
            arch = st.radio(
                "Architecture",
                ARCHS,
                format_func={"report": "the report's network", "ours": "ours (small U-Net)"}.get,
                index=ARCHS.index("ours"),
                horizontal=True,
                key=f"{K}_arch",
            )
            loss = st.radio(
                "Loss (ours)",
                ("huber", "bins", "rebalanced"),
                format_func={
                    "huber": "regression (Huber)",
                    "bins": "classification over a/b bins",
                    "rebalanced": "classification, rare colours weighted up",
                }.get,
                horizontal=True,
                key=f"{K}_loss",
                help="Huber regression predicts one a/b value; bins predicts a distribution over 64 colour bins per "
                "channel and keeps the value most likely to be within 10 of the truth; rebalanced weights each "
                "value by how rare its colour is in the training photos (Zhang et al. 2016, who found it gives "
                "more vivid colours). The report's network always uses MSE.",
            )
            lr = st.select_slider(
                "Learning rate (log scale)",
                options=[1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2],
                value=2e-3,
                format_func=lambda v: f"{v:g}",
                key=f"{K}_lr",
            )
            steps = st.number_input("Steps", min_value=1, max_value=20000, value=200, step=50, key=f"{K}_steps")
            batch = st.number_input("Batch size", min_value=1, max_value=64, value=16, key=f"{K}_batch")
            seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key=f"{K}_seed")
            recipe = st.radio(
                "Recipe (ours)",
                ("plain", "committed"),
                format_func={
                    "plain": "from scratch, with these knobs",
                    "committed": "the committed models' recipe",
                }.get,
                horizontal=True,
                key=f"{K}_recipe",
                help="The committed recipe trains a model the way models/ were made. For beach, sunset or forest it "
                "fine-tunes each of the two U-Nets of the committed 'scenes' model (widths 16 and 12) for 600 "
                "steps (lr 1e-3, batch 16, weight averaging, crops of the photos rescaled to shorter sides 64 to "
                "192 px) into a U-Net with two roles: half of each batch comes from the scenario's "
                "photos, told 'this is the scenario', and half is mixed with the other scenarios' photos, told "
                "'not'. A scene gate then tells both, per photo, how likely the photo is of the scenario, and "
                "their colours are averaged. About 75-150 s on a 2-core CPU. For scenes it trains two U-Nets on all three scenarios, 1200 steps each (about "
                "5 min). Only the seed knob applies; seed 0 makes the committed model again, weight for weight.",
            )
            arch_defaults = st.checkbox(
                "Use the architecture's own learning rate, batch size and steps instead",
                key=f"{K}_arch_defaults",
                help="the report's network: lr 1e-4, batch 3, 8000 steps (slow on a CPU); ours: lr 2e-3, batch 16, 600 steps",
            )
        train_clicked = st.form_submit_button("Train CNN", type="primary")
    if not scenarios:
        st.caption("No data folder configured (set COLORLAB_DATA) — train on photos uploaded together.")
    live_area = st.empty()
    if train_clicked:
        with friendly_errors("Training the CNN"):
            chosen_loss = ("bins" if loss == "rebalanced" else loss) if arch == "ours" else None
            rebalance = arch == "ours" and loss == "rebalanced"
            if recipe == "committed":
                config, scenario = _committed_recipe(arch, chosen_loss, source, scenario, int(seed))
            elif arch_defaults:
                config = CNNConfig(arch=arch, seed=int(seed), loss=chosen_loss, rebalance=rebalance)
            else:
                config = CNNConfig(
                    arch=arch,
                    lr=float(lr),
                    steps=int(steps),
                    batch_size=int(batch),
                    seed=int(seed),
                    loss=chosen_loss,
                    rebalance=rebalance,
                )
            if source == "scenario":
                dataset = scenario_dataset(scenario, str(root.resolve()))
            else:
                if not uploads or len(uploads) < 2:
                    raise ValueError("upload at least two photos (some train, some test)")
                from core.datasets import from_images

                dataset = from_images(uploads)
            _train_now(config, dataset, live_area)
    trained = st.session_state.get(f"{K}_trained")
    if trained is not None:
        note = " (served from the on-disk cache)" if trained["from_cache"] else ""
        st.success(f"Model {trained['label']}: {trained['message']}{note}.")
        if trained["history"]:
            st.plotly_chart(
                charts.accuracy_curves(trained["history"], keys=("train_acc", "test_acc")), key=f"{K}_curves"
            )
            st.caption(
                "The curves are a live signal, from the photos squashed to 64×64 only; the model card's test "
                "figures below are measured once at the end, as every reported figure is."
            )
        _card_summary(trained["card"])
        model, card, model_label = ("session", None), trained["card"], trained["label"]


def _resolve(model_ref):
    """The keras model for a reference: a cached pretrained one or this session's."""
    kind, name = model_ref
    if kind == "pretrained":
        return pretrained_model(name)[0]
    return st.session_state[f"{K}_trained"]["model"]


# --------------------------------------------------------------------------- colorize

if model is not None and photo is not None:
    if st.button("Colorize", type="primary", key=f"{K}_colorize"):
        with friendly_errors("Colorizing"):
            keras_model = _resolve(model)
            out, lab, seconds = cnn_colorize(keras_model, photo)
            st.session_state[f"{K}_count"] = st.session_state.get(f"{K}_count", 0) + 1
            st.session_state[f"{K}_out"] = {
                "number": st.session_state[f"{K}_count"],
                "photo": photo,
                "photo_name": photo_name,
                "out": out,
                "seconds": seconds,
                "model_label": model_label,
                "card": card,
                "scores": None,  # filled below, after the picture is on screen
            }

done = st.session_state.get(f"{K}_out")
if done is not None:
    st.header("Colorized")
    src, out = done["photo"], done["out"]
    st.success(
        f"Colorized '{done['photo_name']}' ({src.shape[1]}×{src.shape[0]}) with the {done['model_label']} model "
        f"in {done['seconds']:.2f} s (colorization #{done['number']} in this session)."
    )
    view = st.segmented_control(
        "Before / after",
        ["before (gray input)", "after (colorized)", "original"],
        default="after (colorized)",
        key=f"{K}_view",
    )
    shown = {"before (gray input)": gray2rgb(rgb2gray(src)), "original": src}.get(view or "", out)
    st.image(fit_within(shown, 1200), caption=view or "after (colorized)", width="stretch")

    if done["scores"] is None:
        with friendly_errors("Scoring"), st.spinner("Scoring…"):
            # Scores on a copy at most SCORE_SIDE pixels a side (full-resolution SSIM takes seconds).
            small_true, small_out = fit_within(src, SCORE_SIDE), fit_within(out, SCORE_SIDE)
            ab_out = rgb2lab(small_out)[..., 1:]  # (h, w, 2) the CNN's a/b, as shown
            scores = {"CNN": lab_scores(ab_out, small_true, small_out)}
            for name, ab_b in ab_baseline_predictions(done["card"], small_true, train_rgb=small_true).items():
                scores[f"baseline: {name}"] = lab_scores(ab_b, small_true)
            lab_true = rgb2lab(small_true)  # (h, w, 3) the true colours; kept for the LAB explorer
            cast = cast_oracle(ab_out, lab_true[..., 1:])  # (accuracy, (2,) shift): an oracle
            done.update(
                scores=scores, cast=cast, small_true=small_true, small_out=small_out, lab_true=lab_true, ab_out=ab_out
            )
    scores = done["scores"] or {}
    with friendly_errors("Scoring"):
        baseline_note = (
            "baselines from the model card (fitted on the model's training photos)"
            if done["card"] and done["card"].get("baselines_ab")
            else "baselines fitted on this photo itself (an optimistic reference)"
        )
        st.subheader("Scores on this photo")
        rows = [
            {
                "predictor": k,
                "accuracy (a/b within 10)": fmt(s["accuracy"]),
                "AuC": fmt(s["auc"]),
                "PSNR (dB)": fmt(s["psnr"], 2),
                "SSIM": fmt(s["ssim"]),
                "colorfulness": fmt(s["colorfulness"], 1),
            }
            for k, s in scores.items()
        ]
        st.table(pd.DataFrame(rows).set_index("predictor"))
        side = max(done["small_true"].shape[:2])
        st.caption(f"Against the photo's own colours, computed at {side} pixels on the longer side; {baseline_note}.")
        if done.get("cast") is not None and "CNN" in scores:
            cast_acc, (da, db) = done["cast"]
            st.caption(
                f"Oracle check (it reads the true colours): with this photo's overall colour cast set right "
                f"(a {da:+.1f}, b {db:+.1f} added everywhere), the CNN's colours would score {cast_acc:.3f} instead "
                f"of {scores['CNN']['accuracy']:.3f}. The rest of the error is in the detail. On the sunset and "
                "forest test photos this cast alone costs the committed models 14-18 points (docs/CNN.md)."
            )

        st.subheader("Accuracy versus threshold")
        t = st.slider("Threshold t (ab distance)", 0, 150, 10, key=f"{K}_threshold")
        cols = st.columns(len(scores))
        for col, (k, s) in zip(cols, scores.items(), strict=True):
            col.metric(f"{k}: acc({t})", f"{s['curve'][t]:.3f}", help=f"AuC {s['auc']:.3f}")
        st.plotly_chart(
            charts.threshold_curve(THRESHOLDS, {f"{k} (AuC {s['auc']:.3f})": s["curve"] for k, s in scores.items()}, t),
            key=f"{K}_thr",
        )

        st.subheader("LAB explorer")
        lab_view = done["lab_true"]  # (h, w, 3), converted once when scoring
        c1, c2, c3 = st.columns(3)
        c1.image(np.clip(lab_view[..., 0] / 100.0, 0, 1), caption="L (lightness, 0–100)", width="stretch")
        c2.image(np.clip((lab_view[..., 1] + 128) / 255.0, 0, 1), caption="a (green − / red +), true", width="stretch")
        c3.image(
            np.clip((lab_view[..., 2] + 128) / 255.0, 0, 1), caption="b (blue − / yellow +), true", width="stretch"
        )
        st.plotly_chart(charts.ab_scatter(done["ab_out"], lab_view[..., 1:]), key=f"{K}_scatter")

    st.subheader("Downloads")
    d1, d2 = st.columns([1, 2])
    with d1:
        png_download("Colorized picture (PNG)", out, f"cnn_{done['photo_name']}.png", key=f"{K}_png")
    with d2:
        metrics = {
            "photo": done["photo_name"],
            "model": done["model_label"],
            "colorize_seconds": done["seconds"],
            "scores": {k: {m: v for m, v in s.items() if m != "curve"} for k, s in scores.items()},
        }
        metrics_downloads(metrics, f"cnn_{done['photo_name']}_metrics", key=f"{K}_metrics")

# --------------------------------------------------------------------------- test split gallery

if model is not None:
    st.header("The test split")
    trained = st.session_state.get(f"{K}_trained")
    dataset = None
    if model[0] == "session" and trained is not None:
        dataset = trained["dataset"]
    elif card and (card.get("data") or {}).get("name"):
        root = data_root(required=False)
        # a model made for one scenario (focus/mix) is scored on that scenario's test split
        data_name = (card.get("scored_on") or {}).get("name") or card["data"]["name"]
        if root is not None and (data_name in list_scenarios(root) or data_name == "scenes"):
            dataset = scenario_dataset(data_name, str(root.resolve()))
    if dataset is None:
        st.caption("The test photos of this model are not available here (set COLORLAB_DATA to the data folder).")
    elif st.button("Show the test split", key=f"{K}_gallery_btn"):
        with friendly_errors("Scoring the test split"):
            from core.cnn import evaluate

            keras_model = _resolve(model)
            ev = evaluate(keras_model, dataset, split="test")
            st.caption(
                f"{ev['n']} test photos at {ev['size']}×{ev['size']}: CNN accuracy {ev['aggregate']['model']['accuracy']:.3f}, "
                f"best baseline ({ev['best_baseline']}) {ev['aggregate'][ev['best_baseline']]['accuracy']:.3f}"
                + (_detail_words(ev["detail_side"]) if ev["detail_side"] else "")
                + "."
            )
            for photo_i, row in zip(dataset.part("test"), ev["per_image"], strict=True):
                small_photo = fit_within(photo_i, 256)
                pred, _, _ = cnn_colorize(keras_model, small_photo)
                c1, c2, c3 = st.columns(3)
                c1.image(gray2rgb(rgb2gray(small_photo)), caption=f"{row['name']}: gray", width="stretch")
                c2.image(small_photo, caption="truth", width="stretch")
                c3.image(pred, caption=f"prediction · accuracy {row['model']['accuracy']:.3f}", width="stretch")
