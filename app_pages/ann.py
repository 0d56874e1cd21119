"""ANN page: train the numpy colorizer live and read its scores beside the baselines.

Knob changes use a form: the knobs only take effect when "Train" is pressed, so
moving one while a run trains never throws that run away. Anything that does
interrupt a run (Stop, a new photo) keeps the model trained so far.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import streamlit as st

from core.ann import ACTIVATIONS, OPTIMIZERS, PRESETS, STRUCTURES, ANNTrainer, preset
from core.color import gray2rgb, quantize_rgb, rgb2gray
from core.images import SAMPLES, ImageError, fit_within, load_image
from core.splits import make_split
from ui import charts
from ui.common import fmt, friendly_errors, image_input, metrics_downloads, png_download, sample_image, working_copy

K = "ann"  # session-state and widget key prefix of this page
KNOBS = ("lr", "epochs", "window", "levels", "hidden", "optimizer", "batch_size", "seed", "activation", "structure")
MIN_REDRAW_S = 0.5  # redraw the live curves after each epoch, but at most twice a second (browser CPU)
LR_STEPS = sorted({m * 10.0**e for e in range(-4, 1) for m in (1, 2, 5)} | {10.0} | {c.lr for c in PRESETS.values()})
SPLIT_LABELS = {
    "left-right": "train left, test right (the report's)",
    "top-bottom": "train top, test bottom",
    "cross-image": "train on another image",
}


def _apply_preset() -> None:
    """Copy the chosen preset into the knobs (runs before the page is redrawn)."""
    cfg = PRESETS[st.session_state[f"{K}_preset"]]
    for name in KNOBS:
        value = getattr(cfg, name)
        st.session_state[f"{K}_{name}"] = ", ".join(map(str, value)) if name == "hidden" else value


def _parse_hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in str(text).replace(";", ",").split(",") if s.strip())
    except ValueError:
        raise ValueError(f"hidden sizes must be whole numbers separated by commas, got {text!r}") from None
    return sizes


def _fit_like(other, work):
    """Scale the training photo down to the working size of the test photo."""
    return fit_within(other, max(work.shape[:2]))


def _finish_interrupted() -> None:
    """A run was interrupted (Stop, or another widget): keep its model so far."""
    live = st.session_state.get(f"{K}_live")
    if live is None:
        return
    st.session_state[f"{K}_live"] = None
    trainer: ANNTrainer = live["trainer"]
    trainer.request_stop()
    # With fast reruns the interrupted run may still be finishing its batch in its own
    # thread; wait for it to let go of the model before scoring it.
    if live.get("done") is not None:
        live["done"].wait(timeout=60)
    if trainer.epochs_run == 0:
        st.session_state[f"{K}_notice"] = "The run was stopped before its first epoch finished; nothing to show."
        return
    with friendly_errors("Scoring the stopped run"):
        result = trainer.result()  # stopped=True: request_stop() was called above
        st.session_state[f"{K}_result"] = {"result": result, "image": live["image"], "photo": live.get("photo")}
        st.session_state[f"{K}_notice"] = (
            f"Training stopped after epoch {trainer.epochs_run} of {trainer.config.epochs}; "
            "the model as it stood is shown below."
        )


def _train_live(config, split, photo_name: str, area, photo=None) -> None:
    """Train with live progress; the trainer sits in session state so an interruption keeps it."""
    trainer = ANNTrainer(config, split)
    done = threading.Event()  # set when this run lets go of the trainer, however it ends
    st.session_state[f"{K}_live"] = {"trainer": trainer, "image": photo_name, "photo": photo, "done": done}
    try:
        _drive(trainer, config, split, photo_name, area, photo)
    finally:
        done.set()


def _drive(trainer, config, split, photo_name: str, area, photo) -> None:
    with area.container():
        st.subheader("Training")
        stop_slot = st.empty()
        stop_slot.button("Stop", key=f"{K}_stop", on_click=lambda: st.session_state.update({f"{K}_stop_clicked": True}))
        progress = st.progress(0.0, text="starting…")
        c_chart, c_prev = st.columns([3, 2])
        chart_slot = c_chart.empty()
        preview_slot = c_prev.empty()
        preview_slot.image(
            split.compose(quantize_rgb(split.train_rgb, config.levels), gray2rgb(rgb2gray(split.test_rgb))),
            caption="preview: the test part is still gray",
            width="stretch",
        )
        warn_slot = st.empty()
    t0 = time.perf_counter()
    history: list[dict] = []
    last_draw = 0.0
    for ev in trainer.train():
        if ev.kind == "epoch":
            history.append(
                {
                    "epoch": ev.epoch,
                    "loss": ev.loss,
                    "train_difference": ev.train_difference,
                    "test_difference": ev.test_difference,
                }
            )
            progress.progress(
                ev.epoch / ev.epochs,
                text=f"epoch {ev.epoch}/{ev.epochs} · loss {ev.loss:.3f} · test Seed difference {ev.test_difference:.3f}",
            )
            now = time.perf_counter()
            if now - last_draw >= MIN_REDRAW_S or ev.epoch == ev.epochs:
                chart_slot.plotly_chart(charts.ann_curves(history, ev.epochs), key=f"{K}_live_curve_{ev.epoch}")
                last_draw = now
        elif ev.kind in ("preview", "done") and ev.preview is not None:
            preview_slot.image(ev.preview, caption=f"preview after epoch {ev.epoch}", width="stretch")
        elif ev.kind == "diverged":
            warn_slot.warning(ev.message, icon=":material/warning:")
    result = trainer.result()
    st.session_state[f"{K}_result"] = {
        "result": result,
        "image": photo_name,
        "photo": photo,
        "wall_seconds": time.perf_counter() - t0,
    }
    if not trainer.diverged:
        area.empty()


# --------------------------------------------------------------------------- page

st.title("ANN: a numpy colorizer, trained live")
st.markdown(
    "A small network sees a *w×w* window of gray values and predicts each pixel's colour as one of "
    "K levels per channel (the report: 3×3 window, K = 4, one 9-9-4 net per channel). It learns on one part "
    "of the photo and is scored on the other with the report's **Seed difference** "
    "(mean |dR+dG+dB| in levels) and an L1 that cannot cancel."
)

if st.session_state.get(f"{K}_stop_clicked") or st.session_state.get(f"{K}_live") is not None:
    # Reaching here with a live run means the previous script run was interrupted.
    _finish_interrupted()
    st.session_state[f"{K}_stop_clicked"] = False

if f"{K}_preset" not in st.session_state:
    st.session_state[f"{K}_preset"] = "default"
    _apply_preset()

got = image_input(K)
if got is None:
    st.info("Pick a sample or upload another photo to train.")
    st.stop()
photo, photo_name = got
work = working_copy(photo, K, default=600)

st.selectbox(
    "Preset",
    list(PRESETS),
    key=f"{K}_preset",
    format_func=lambda p: {"report": "the report's setup", "default": "our default"}.get(p, p),
    on_change=_apply_preset,
    help="Loads a full set of knobs; change any of them below before training.",
)

with st.form(f"{K}_knobs", border=True):
    st.markdown("**Knobs** — changes take effect when you press **Train**; a run in progress is not affected.")
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        st.select_slider(
            "Learning rate (log scale)",
            options=LR_STEPS,
            key=f"{K}_lr",
            format_func=lambda v: f"{v:g}",
        )
        st.number_input("Epochs", min_value=1, max_value=2000, step=1, key=f"{K}_epochs")
        st.number_input("Batch size", min_value=1, max_value=65536, step=1, key=f"{K}_batch_size")
    with c2:
        st.radio("Window (w×w)", [3, 5, 7], key=f"{K}_window", horizontal=True, format_func=lambda w: f"{w}×{w}")
        st.radio("Levels K per channel", [4, 8, 16], key=f"{K}_levels", horizontal=True)
        st.text_input("Hidden layer sizes", key=f"{K}_hidden", help="e.g. 9, or 32, 16 for two layers")
    with c3:
        st.selectbox(
            "Optimizer",
            OPTIMIZERS,
            key=f"{K}_optimizer",
            format_func=lambda o: {"sgd": "SGD", "rmsprop": "RMSprop"}.get(o, o.title()),
        )
        st.selectbox("Activation", ACTIVATIONS, key=f"{K}_activation")
        st.selectbox(
            "Structure",
            STRUCTURES,
            key=f"{K}_structure",
            help="per-channel: one net per R, G, B; shared: one trunk, three heads",
        )
    with c4:
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=f"{K}_seed")
        split_how = st.selectbox("Split", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, key=f"{K}_split")
        train_sample = st.selectbox(
            "Training photo (for 'another image')", SAMPLES, index=SAMPLES.index("chelsea"), key=f"{K}_train_sample"
        )
        train_upload = st.file_uploader(
            "…or upload the training photo",
            type=["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"],
            key=f"{K}_train_upload",
        )
    train_clicked = st.form_submit_button("Train", type="primary")

notice = st.session_state.pop(f"{K}_notice", None)
if notice:
    st.info(notice)

live_area = st.empty()  # the live view; cleared when the run ends (results follow)

if train_clicked:
    ss = st.session_state
    config = None
    with friendly_errors("These knobs"):
        hidden = _parse_hidden(ss[f"{K}_hidden"])
        config = preset(
            ss[f"{K}_preset"],
            lr=float(ss[f"{K}_lr"]),
            epochs=int(ss[f"{K}_epochs"]),
            window=int(ss[f"{K}_window"]),
            levels=int(ss[f"{K}_levels"]),
            hidden=hidden,
            optimizer=ss[f"{K}_optimizer"],
            batch_size=int(ss[f"{K}_batch_size"]),
            seed=int(ss[f"{K}_seed"]),
            activation=ss[f"{K}_activation"],
            structure=ss[f"{K}_structure"],
            preview_every=max(1, int(ss[f"{K}_epochs"]) // 6),
        )
    split = None
    if config is not None:
        with friendly_errors("Splitting the photo"):
            if split_how == "cross-image":
                try:
                    other = load_image(train_upload) if train_upload is not None else sample_image(train_sample)
                except ImageError as exc:
                    raise ImageError(f"the training photo cannot be used: {exc}") from None
                split = make_split(work, "cross-image", train_image=_fit_like(other, work))
            else:
                split = make_split(work, split_how)
    if config is not None and split is not None:
        with friendly_errors("Training"):
            _train_live(config, split, photo_name, live_area, photo=photo)
        st.session_state[f"{K}_live"] = None  # not reached when a click interrupts the run


# --------------------------------------------------------------------------- results

stored = st.session_state.get(f"{K}_result")
if stored is None:
    st.info("Set the knobs and press **Train**. 20 epochs of our default take a few seconds on coffee.")
    st.stop()

res = stored["result"]
cfg = res.config
st.header("Results")
status = f"{res.epochs_run} of {cfg.epochs} epochs in {res.train_seconds:.1f} s of training on '{stored['image']}'"
if stored.get("wall_seconds"):
    status += f" ({stored['wall_seconds']:.1f} s with per-epoch scoring and live drawing)"
if res.diverged:
    st.warning(f"Training diverged — {res.diverged}", icon=":material/warning:")
elif res.stopped:
    st.info(f"Stopped early: {status}.")
else:
    st.success(f"Finished: {status}.")

m1, m2, m3 = st.columns(3)
m1.metric("Seed difference (test)", fmt(res.seed_difference), help="mean |dR+dG+dB| in levels; the report's score")
m2.metric("L1 difference (test)", fmt(res.l1_difference), help="mean |dR|+|dG|+|dB| in levels; cannot cancel")
best = min(res.baselines, key=lambda b: res.baselines[b]["seed_difference"])
m3.metric(f"Best baseline ({best})", fmt(res.baselines[best]["seed_difference"]))

split = res.split
whole = split.compose(split.train_rgb, split.test_rgb)
panel_names = {"left-right": "right half", "top-bottom": "bottom half", "cross-image": "test photo"}
part = panel_names[split.how]
cols = st.columns(4)
panels = [
    (quantize_rgb(whole, cfg.levels), f"quantized original (K = {cfg.levels})"),
    (rgb2gray(whole), "gray input"),
    (res.test_true, f"ideal {part}"),
    (res.test_pred, f"generated {part}"),
]
for col, (img, cap) in zip(cols, panels, strict=True):
    col.image(img, caption=cap, width="stretch")

st.subheader("Scores on the test part, beside the baselines")
rows = [
    {
        "predictor": "ANN (this run)",
        "Seed difference": fmt(res.seed_difference),
        "L1 difference": fmt(res.l1_difference),
    }
]
for name, b in res.baselines.items():
    rows.append(
        {
            "predictor": f"baseline: {name}",
            "Seed difference": fmt(b["seed_difference"]),
            "L1 difference": fmt(b["l1_difference"]),
        }
    )
st.table(pd.DataFrame(rows).set_index("predictor"))
st.caption("Both in levels per pixel (one level = a step of 256/K in one channel). Lower is better.")

tab_curves, tab_err, tab_conf, tab_w = st.tabs(
    ["Training curves", "Error heatmap", "Confusion matrices", "First-layer weights"]
)
with tab_curves:
    if res.history:
        st.plotly_chart(charts.ann_curves(res.history, cfg.epochs), key=f"{K}_curves")
with tab_err:
    st.plotly_chart(
        charts.heatmap(res.error_map, f"Per-pixel error on the {part} (|dR+dG+dB| in levels; block means)", "levels"),
        key=f"{K}_err",
        theme=None,  # keep the heatmap's own colour scale
    )
with tab_conf:
    st.plotly_chart(charts.confusion(res.confusion), key=f"{K}_conf")
with tab_w:
    st.plotly_chart(charts.first_layer(res.first_layer_weights, cfg.window), key=f"{K}_weights")

full = stored.get("photo")
if full is not None and full.shape != whole.shape and split.how != "cross-image":
    st.subheader("Full resolution")
    label = f"Colorize the full photo ({full.shape[1]}×{full.shape[0]}) with this model"
    if st.button(label, key=f"{K}_full_btn"):
        with friendly_errors("Colorizing at full resolution"):
            stored["full_out"] = res.model.colorize(full)
    if stored.get("full_out") is not None:
        st.image(stored["full_out"], caption="the whole photo colorized from its gray values", width="stretch")
        png_download(
            "Full-resolution picture (PNG)", stored["full_out"], f"ann_{stored['image']}_full.png", key=f"{K}_full_png"
        )

st.subheader("Downloads")
d1, d2 = st.columns([1, 2])
with d1:
    png_download("Colorized picture (PNG)", res.full_image(), f"ann_{stored['image']}.png", key=f"{K}_png")
with d2:
    metrics_downloads(res.to_dict(), f"ann_{stored['image']}_metrics", key=f"{K}_metrics")
