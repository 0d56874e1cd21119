"""ANN page: train the numpy colorizer live and read its scores beside the baselines.

The knobs sit in the sidebar in a form: they take effect when "Train" is
pressed, so moving one while a run trains never throws that run away. Training
runs in a background job (``ui.jobs``); the live view is a fragment that looks
at it at most twice a second, and Stop (the page's, or Streamlit's own) keeps
the model trained so far.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.ann import ACTIVATIONS, OPTIMIZERS, PRESETS, STRUCTURES, preset
from core.color import gray2rgb, quantize_rgb, rgb2gray
from core.images import SAMPLES, ImageError, fit_within, load_image, to_png_bytes
from core.splits import make_split
from ui import ann_work, charts
from ui.common import (
    UPLOAD_TYPES,
    display_copy,
    fmt,
    friendly_errors,
    image_input,
    metrics_downloads,
    png_download,
    sample_image,
    show_image,
    working_copy,
)
from ui.jobs import Job
from ui.server import job_header, job_queue, live_job, redraw_every, session_id, use_dashboard_navigation
from ui.words import SCORES, badge, judge, score_help

K = "ann"  # session-state and widget key prefix of this page
KNOBS = ("lr", "epochs", "window", "levels", "hidden", "optimizer", "batch_size", "seed", "activation", "structure")
REDRAW_S = 0.5  # the live progress redraws at most twice a second
PICTURES_REDRAW_S = 2.0  # the live curves and preview (the browser's heaviest drawing) less often
SCORE_SAMPLE = 4096  # pixels of each part scored between epochs; the final scores use every pixel
LR_STEPS = sorted({m * 10.0**e for e in range(-4, 1) for m in (1, 2, 5)} | {10.0} | {c.lr for c in PRESETS.values()})
SPLIT_LABELS = {
    "left-right": "learn on the left half, test on the right (the report's)",
    "top-bottom": "learn on the top, test on the bottom",
    "cross-image": "learn on another photo, test on this one",
}
PART = {"left-right": "right half", "top-bottom": "bottom half", "cross-image": "test photo"}


def _apply_preset() -> None:
    """Copy the chosen preset into the knobs (runs before the page is redrawn)."""
    cfg = PRESETS[st.session_state[f"{K}_preset"]]
    for name in KNOBS:
        value = getattr(cfg, name)
        st.session_state[f"{K}_{name}"] = ", ".join(map(str, value)) if name == "hidden" else value


def _parse_hidden(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in str(text).replace(";", ",").split(",") if s.strip())
    except ValueError:
        raise ValueError(f"hidden sizes must be whole numbers separated by commas, got {text!r}") from None


def _knobs() -> tuple[bool, str, str, object]:
    """The sidebar form. Returns (train clicked, split, training sample, training upload)."""
    sb = st.sidebar
    sb.selectbox(
        "Preset",
        list(PRESETS),
        key=f"{K}_preset",
        format_func=lambda p: {"report": "the report's setup", "default": "our default"}.get(p, p),
        on_change=_apply_preset,
        help="Loads a full set of knobs; change any of them below before training.",
    )
    with sb.form(f"{K}_knobs", border=False):
        clicked = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:", width="stretch")
        st.caption("Knob changes take effect when you press **Train**.")
        st.select_slider("Learning rate", options=LR_STEPS, key=f"{K}_lr", format_func=lambda v: f"{v:g}")
        st.number_input("Epochs (passes over the pixels)", min_value=1, max_value=2000, step=1, key=f"{K}_epochs")
        split_how = st.selectbox("How to split", list(SPLIT_LABELS), format_func=SPLIT_LABELS.get, key=f"{K}_split")
        st.radio(
            "Window the network sees", [3, 5, 7], key=f"{K}_window", horizontal=True, format_func=lambda w: f"{w}×{w}"
        )
        st.radio("Colour levels per channel", [4, 8, 16], key=f"{K}_levels", horizontal=True)
        with st.expander("More knobs"):
            st.text_input("Hidden layer sizes", key=f"{K}_hidden", help="e.g. 9, or 32, 16 for two layers")
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
            st.number_input("Batch size", min_value=1, max_value=65536, step=1, key=f"{K}_batch_size")
            st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=f"{K}_seed")
            sample = st.selectbox(
                "Training photo (another photo)", SAMPLES, index=SAMPLES.index("chelsea"), key=f"{K}_train_sample"
            )
            upload = st.file_uploader("…or upload the training photo", type=UPLOAD_TYPES, key=f"{K}_train_upload")
    return clicked, split_how, sample, upload


def _config():
    ss = st.session_state
    return preset(
        ss[f"{K}_preset"],
        lr=float(ss[f"{K}_lr"]),
        epochs=int(ss[f"{K}_epochs"]),
        window=int(ss[f"{K}_window"]),
        levels=int(ss[f"{K}_levels"]),
        hidden=_parse_hidden(ss[f"{K}_hidden"]),
        optimizer=ss[f"{K}_optimizer"],
        batch_size=int(ss[f"{K}_batch_size"]),
        seed=int(ss[f"{K}_seed"]),
        activation=ss[f"{K}_activation"],
        structure=ss[f"{K}_structure"],
        preview_every=max(1, int(ss[f"{K}_epochs"]) // 4),
        score_sample=SCORE_SAMPLE,
    )


def _start(config, split, photo_name: str, photo) -> Job:
    """Queue the training (in a worker process); the job's result is the trainer's exact final scoring."""
    job = Job.in_process(
        ann_work.train,
        (config, split),
        kind="ANN training",
        session=session_id(),
        photo_name=photo_name,
        photo=photo,
        epochs=config.epochs,
    )
    job.latest["preview"] = (
        0,
        split.compose(quantize_rgb(split.train_rgb, config.levels), gray2rgb(rgb2gray(split.test_rgb))),
    )
    replaced = job_queue().submit(job)
    if replaced:
        st.session_state[f"{K}_notice"] = ("info", replaced)
    return job


def _collect(job: Job) -> None:
    """A finished job becomes this visitor's result."""
    st.session_state[f"{K}_job"] = None
    job_queue().forget(job.session)
    if job.cancelled:
        st.session_state[f"{K}_notice"] = ("info", "The training was taken out of the queue before it started.")
        return
    if job.error is not None:
        st.session_state[f"{K}_notice"] = ("error", f"Training did not work: {job.error}")
        return
    res = job.result
    if res.epochs_run == 0 and not res.diverged:
        st.session_state[f"{K}_notice"] = ("info", "The run was stopped before its first epoch finished.")
        return
    old = st.session_state.get(f"{K}_result")
    if old is not None:  # one trained network per visitor keeps the server's memory bounded
        st.session_state[f"{K}_notice"] = (
            "info",
            f"This network replaces your earlier one ({old['result'].epochs_run} "
            f"epoch{'s' if old['result'].epochs_run != 1 else ''} on '{old['image']}'): "
            "each visitor keeps one.",
        )
    st.session_state[f"{K}_result"] = {
        "result": res,
        "image": job.info["photo_name"],
        "photo": job.info["photo"],
        "wall_seconds": time.perf_counter() - job.submitted,
        "waited_seconds": (job.started or job.submitted) - job.submitted,
    }


def _live() -> None:
    """The live view: its place while it waits; then progress (twice a second), the curves and the latest preview."""
    first: Job | None = st.session_state.get(f"{K}_job")
    if first is None:
        return
    every = redraw_every(first, REDRAW_S)
    waiting = every != REDRAW_S  # (a job about to start, a worker being free, is drawn as running)

    @st.fragment(run_every=every)
    def progress() -> None:
        job: Job | None = st.session_state.get(f"{K}_job")
        if job is None:
            return
        if job is not first or redraw_every(job, REDRAW_S) != every:
            st.rerun()  # it moved up the queue or its turn came: redraw the page at the new rate
        h = job.history
        n, total = (h[-1]["epoch"] if h else 0), job.info["epochs"]
        if job.running and (n == total or job.stop_requested):
            job.wait(2.0)  # the last epoch is in: wait for the exact final scores rather than for the next redraw
        if job.done:
            st.rerun()  # the whole page redraws with the result
        c_bar = job_header(K, job)
        if c_bar is not None:
            err = f" · colour error on the test part ≈ {h[-1]['test_difference']:.3f}" if h else ""
            stopping = " · stopping…" if job.stop_requested else ""
            c_bar.progress(n / total, text=f"epoch {n}/{total}{err}{stopping}")

    @st.fragment(run_every=PICTURES_REDRAW_S)
    def pictures() -> None:
        job: Job | None = st.session_state.get(f"{K}_job")
        if job is not first or job.done:
            return
        c_chart, c_prev = st.columns([3, 2])
        if job.history:
            c_chart.plotly_chart(
                charts.ann_curves(job.history, job.info["epochs"]),
                key=f"{K}_live_curve",
                config={"staticPlot": True},  # a moving chart: no hover layer to build at every redraw
            )
        epoch, preview = job.latest["preview"]
        shown = job.latest.get("shown")
        if shown is None or shown[0] != epoch:  # encode each preview once, not at every redraw
            shown = job.latest["shown"] = (epoch, to_png_bytes(display_copy(preview, max_width=460, max_height=340)))
        c_prev.image(
            shown[1], caption="the test part is still gray" if epoch == 0 else f"after epoch {epoch}", width="content"
        )

    progress()
    if not waiting:
        pictures()


def _results(stored: dict) -> None:
    res = stored["result"]
    cfg, split = res.config, res.split
    part = PART[split.how]
    status = f"{res.epochs_run} of {cfg.epochs} epochs on '{stored['image']}' in {res.train_seconds:.1f} s of training"
    if stored.get("wall_seconds"):
        status += f", {stored['wall_seconds']:.1f} s from click to result"
        if stored.get("waited_seconds", 0) >= 0.5:
            status += f" ({stored['waited_seconds']:.1f} s of it waiting for a free worker)"
    gray_err = res.baselines["gray"]["seed_difference"]
    if res.diverged:
        st.warning(f"Training went wrong: {res.diverged}", icon=":material/warning:")
    elif res.seed_difference > gray_err + 0.01:
        st.warning(
            f"Training ended ({status}), but the result is useless: it is worse than leaving the photo "
            "gray. Try more epochs, or a smaller learning rate.",
            icon=":material/warning:",
        )
    elif res.stopped:
        st.info(f"Stopped early: {status}. The model as it stood is shown.", icon=":material/pause:")
    else:
        st.success(f"Finished: {status}.", icon=":material/check:")

    whole = split.compose(split.train_rgb, split.test_rgb)
    cols = st.columns(3)
    for col, (img, cap) in zip(
        cols,
        [
            (rgb2gray(whole), "what the network sees"),
            (split.compose(res.train_pred, res.test_pred), f"colorized by the network (scored on the {part})"),
            (quantize_rgb(whole, cfg.levels), f"the real colours, in {cfg.levels} levels"),
        ],
        strict=True,
    ):
        show_image(col, img, cap, max_width=360)

    base = {k: v["seed_difference"] for k, v in res.baselines.items()}
    v = judge("seed_difference", res.seed_difference, base)
    m1, m2 = st.columns([1, 3], vertical_alignment="center")
    m1.metric(SCORES["seed_difference"].name, fmt(res.seed_difference), help=SCORES["seed_difference"].meaning)
    with m2:
        badge("seed_difference", v)
        st.caption(
            f"On the {part}, which the network never saw. Lower is better; 0 = perfect. Baselines: "
            + ", ".join(f"{k} {fmt(x)}" for k, x in base.items())
            + "."
        )

    names = ["Scores", "Training curves", "Where it errs", "Confusion", "What it learnt", "Downloads"]
    tabs = st.tabs(names, key=f"{K}_tab", on_change="rerun")  # only the open tab is drawn
    if tabs[0].open:
        with tabs[0]:
            rows = [
                {
                    "colorizer": "this network",
                    SCORES["seed_difference"].name: fmt(res.seed_difference),
                    SCORES["l1_difference"].name: fmt(res.l1_difference),
                }
            ]
            rows += [
                {
                    "colorizer": f"baseline: {k}",
                    SCORES["seed_difference"].name: fmt(b["seed_difference"]),
                    SCORES["l1_difference"].name: fmt(b["l1_difference"]),
                }
                for k, b in res.baselines.items()
            ]
            st.table(pd.DataFrame(rows).set_index("colorizer"))
            st.caption(
                score_help("seed_difference", "l1_difference") + "  \nBaselines: **gray** leaves the photo "
                "gray, **mean** paints the training part's mean colour, **lookup** gives each gray value the "
                "colour it had most often in the training part."
            )
    if tabs[1].open and res.history:
        with tabs[1]:
            st.plotly_chart(charts.ann_curves(res.history, cfg.epochs), key=f"{K}_curves")
            st.caption(
                "Between epochs the colour error is measured on 4,096 random pixels of each part; "
                "the scores above use every pixel."
            )
    if tabs[2].open:
        with tabs[2]:
            st.plotly_chart(
                charts.heatmap(res.error_map, f"Colour error per pixel on the {part}", "steps"),
                key=f"{K}_err",
                theme=None,
            )
    if tabs[3].open:
        with tabs[3]:
            st.plotly_chart(charts.confusion(res.confusion), key=f"{K}_conf")
    if tabs[4].open:
        with tabs[4]:
            st.plotly_chart(charts.first_layer(res.first_layer_weights, cfg.window), key=f"{K}_weights")
    if tabs[5].open:
        with tabs[5]:
            _downloads(stored, res, split)
    with st.expander("Technical details"):
        st.markdown(f"Recipe: `{cfg}`")


def _downloads(stored, res, split) -> None:
    png_download("Colorized picture (PNG)", res.full_image(), f"ann_{stored['image']}.png", key=f"{K}_png")
    metrics_downloads(res.to_dict(), f"ann_{stored['image']}_metrics", key=f"{K}_metrics")
    full, whole = stored.get("photo"), split.compose(split.train_rgb, split.test_rgb)
    if full is None or split.how == "cross-image" or full.shape == whole.shape:
        return
    ss = st.session_state
    job: Job | None = ss.get(f"{K}_full_job")
    if job is not None and job.done:
        ss[f"{K}_full_job"] = None
        job_queue().forget(job.session, "colorize")
        if job.error is not None:
            st.error(f"Colorizing at full resolution did not work: {job.error}")
        elif job.result is not None and job.info["photo"] is full:
            stored["full_out"] = job.result
        job = None
    if job is None and stored.get("full_out") is None:
        if st.button(f"Colorize the full photo ({full.shape[1]}×{full.shape[0]})", key=f"{K}_full_btn"):
            job = ss[f"{K}_full_job"] = Job.in_process(
                ann_work.colorize,
                (res.model, full),
                kind="full-size colorizing",
                session=session_id(),
                slot="colorize",
                photo=full,
            )
            job_queue().submit(job)
    if job is not None:
        live_job(f"{K}_full", job, lambda j: (0.5 if j.running else 0.0, "Colorizing the full photo…"))
    if stored.get("full_out") is not None:
        png_download(
            "Full-resolution picture (PNG)", stored["full_out"], f"ann_{stored['image']}_full.png", key=f"{K}_full_png"
        )


# --------------------------------------------------------------------------- page

use_dashboard_navigation()  # a fresh server's first visit straight to this page
job_queue().warm_processes(ann_work.ready)  # training runs in worker processes: start them while the knobs turn
st.title("ANN: a numpy colorizer, trained live")
st.markdown(
    "A small network learns the colours of one part of a photo from its gray values, then paints the "
    "part it never saw. Press **Train** in the sidebar and watch it learn."
)

if f"{K}_preset" not in st.session_state:
    st.session_state[f"{K}_preset"] = "default"
    _apply_preset()

got = image_input(K)
work = working_copy(got[0], K, default=600) if got is not None else None
train_clicked, split_how, train_sample, train_upload = _knobs()

job: Job | None = st.session_state.get(f"{K}_job")
if job is not None and job.done:
    _collect(job)
    job = None

if train_clicked and got is not None:
    with friendly_errors("Starting training"):
        config = _config()
        if split_how == "cross-image":
            try:
                other = load_image(train_upload) if train_upload is not None else sample_image(train_sample)
            except ImageError as exc:
                raise ImageError(f"the training photo cannot be used: {exc}") from None
            split = make_split(work, "cross-image", train_image=fit_within(other, max(work.shape[:2])))
        else:
            split = make_split(work, split_how)
        st.session_state[f"{K}_job"] = job = _start(config, split, got[1], got[0])

kind_text = st.session_state.pop(f"{K}_notice", None)
if kind_text:
    getattr(st, kind_text[0])(kind_text[1])

if job is not None:
    _live()
elif got is None:
    st.info("Pick a sample in the sidebar, or upload another photo.")
else:
    stored = st.session_state.get(f"{K}_result")
    if stored is not None and stored["image"] == got[1]:
        _results(stored)
    else:
        if stored is not None:
            st.caption(f"The last run was on '{stored['image']}'; press **Train** to train on this photo.")
        how = st.session_state.get(f"{K}_split", "left-right")
        show_image(
            st,
            work,
            f"'{got[1]}': the network learns on one part and is tested on the other ({SPLIT_LABELS[how]}).",
            max_width=560,
        )
