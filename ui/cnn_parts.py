"""Parts of the CNN page: colour hints by clicking, the gallery, the model card, and "Train a CNN now".

Hints are clicked on a ``streamlit-drawable-canvas`` in point mode: each point
is a hint, its fill the hint's colour. The canvas keeps the points; the page
reads them back after every click.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from core.color import gray2rgb, rgb2gray
from core.datasets import data_root, list_scenarios
from ui import charts
from ui.common import UPLOAD_TYPES, display_copy, fmt, friendly_errors, show_image
from ui.jobs import Job
from ui.server import free_memory_mb, job_queue, live_job, session_id
from ui.words import SCORES

HINT_SIDE = (290, 330)  # the hint canvas's largest width and height on screen, in pixels


# --------------------------------------------------------------------------- hints


def _hex(rgb_hex: str) -> tuple[int, int, int]:
    h = rgb_hex.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _centre(obj: dict) -> tuple[float, float]:
    """The centre of a canvas point (a Fabric.js circle), in canvas pixels."""
    w = float(obj.get("width", 0)) * float(obj.get("scaleX", 1))
    h = float(obj.get("height", 0)) * float(obj.get("scaleY", 1))
    stroke = float(obj.get("strokeWidth", 0))
    x, y = float(obj["left"]), float(obj["top"])
    if obj.get("originX", "left") == "left":
        x += (w + stroke) / 2
    if obj.get("originY", "top") == "top":
        y += (h + stroke) / 2
    return x, y


def _reset_canvas(key: str, objects: list) -> None:
    """Start a fresh canvas holding ``objects`` (the canvas applies its initial drawing only when mounted)."""
    st.session_state[f"{key}_hint_objs"] = objects
    st.session_state[f"{key}_hint_initial"] = {"version": "7.4.0", "objects": objects} if objects else None
    st.session_state[f"{key}_canvas_n"] = st.session_state.get(f"{key}_canvas_n", 0) + 1


def hint_controls(key: str, photo: np.ndarray, photo_id, colour: str) -> list:
    """The clickable gray photo and the list of hints. Returns hints as (x, y, (r, g, b)) in photo pixels.

    Hints belong to one photo (``photo_id``): another photo starts with none.
    """
    from streamlit_drawable_canvas import st_canvas

    ss = st.session_state
    if ss.get(f"{key}_hint_photo") != photo_id:
        ss[f"{key}_hint_photo"] = photo_id
        if ss.get(f"{key}_hint_objs"):
            _reset_canvas(key, [])
    objs = ss.setdefault(f"{key}_hint_objs", [])
    shown = gray2rgb(rgb2gray(display_copy(photo, max_width=HINT_SIDE[0], max_height=HINT_SIDE[1])))
    h, w = shown.shape[:2]
    n = ss.get(f"{key}_canvas_n", 0)
    result = st_canvas(
        fill_color=colour,
        stroke_color="#ffffff",
        stroke_width=2,
        background_image=Image.fromarray(shown),
        drawing_mode="point",
        point_display_radius=6,
        width=w,
        height=h,
        initial_drawing=ss.get(f"{key}_hint_initial"),
        key=f"{key}_canvas_{n}",
        on_change=lambda: ss.update({f"{key}_canvas_sent": True}),
    )
    # Only a drawing the browser sent replaces the hints (before that the canvas returns its initial drawing).
    if ss.pop(f"{key}_canvas_sent", False) and result.json_data is not None:
        objs = [o for o in result.json_data.get("objects", []) if o.get("type", "").lower() == "circle"]
        ss[f"{key}_hint_objs"] = objs
    st.caption("Click the gray photo to place a hint in the chosen colour.")
    H, W = photo.shape[:2]
    hints = []
    for o in objs:
        cx, cy = _centre(o)
        x, y = min(W - 1, max(0, cx * W / w)), min(H - 1, max(0, cy * H / h))
        hints.append((round(x), round(y), _hex(o.get("fill") or colour)))
    for i, (x, y, rgb) in enumerate(hints):
        c1, c2 = st.columns([3, 2], vertical_alignment="center")
        c1.markdown(
            f"<span style='display:inline-block;width:1em;height:1em;background:rgb{rgb};border:1px solid #333;"
            f"vertical-align:middle'></span> hint {i + 1} at ({x}, {y})",
            unsafe_allow_html=True,
        )
        c2.button(
            "Remove",
            key=f"{key}_rm_{i}_{n}",
            on_click=_reset_canvas,
            args=(key, [o for j, o in enumerate(objs) if j != i]),
        )
    if hints:
        st.button("Clear hints", key=f"{key}_clear_hints", on_click=_reset_canvas, args=(key, []))
    return hints


# --------------------------------------------------------------------------- gallery


GALLERY_SIZE = 32


@st.cache_resource
def _galleries() -> dict:
    """Finished galleries, shared by all visitors: (model name, folder, vividness) -> entries (a few at most)."""
    return {}


class _GalleryStopped(Exception):
    """The visitor pressed Stop during the gallery."""


def _gallery_job(name: str, model, folder: str, vividness) -> Job:
    from core.cnn.gallery import gallery

    def run(job: Job):
        def progress(done: int, total: int) -> None:
            job.history.append((done, total))
            if job.stop_requested:
                raise _GalleryStopped

        try:
            entries = gallery(model, folder, count=GALLERY_SIZE, seed=0, vividness=vividness, progress=progress)
        except _GalleryStopped:
            return None
        store = _galleries()
        while len(store) >= 8:
            store.pop(next(iter(store)))
        store[name, folder, vividness] = entries
        return entries

    job = Job(run, kind="gallery", session=session_id(), slot="gallery", gallery=(name, folder, vividness))
    job_queue().submit(job)
    return job


def _gallery_progress(job: Job) -> tuple[float, str]:
    if not job.history:
        return 0.0, "Colorizing photos the model never saw…"
    done, total = job.history[-1]
    return done / total, f"Colorizing photo {done} of {total}…"


def gallery_section(key: str, name: str, model, vividness) -> None:
    """Where it works, where it fails: the best and worst of a random draw of validation photos (a queued job)."""
    from core.corpus import corpus_root

    ss = st.session_state
    with st.expander("Where it works, where it fails"):
        try:
            folder = corpus_root() / "val"
        except Exception:  # noqa: BLE001 - no data folder on this server
            folder = None
        if folder is None or not folder.is_dir():
            st.caption(
                "The validation photos are not on this server (the data folder's corpus/val), so there is no gallery."
            )
            return
        st.markdown(f"{GALLERY_SIZE} photos the model never saw, drawn at random, ranked by **colour hits**.")
        if not st.toggle("Show the gallery", key=f"{key}_gallery"):
            ss.pop(f"{key}_gallery_stopped", None)
            return
        from core.cnn.gallery import best_and_worst

        want = (name, str(folder), vividness)
        entries = _galleries().get(want)
        job: Job | None = ss.get(f"{key}_gallery_job")
        if job is not None and (job.done or job.info["gallery"] != want):
            ss[f"{key}_gallery_job"] = None
            job_queue().forget(job.session, "gallery")
            if job.error is not None:
                ss[f"{key}_gallery_failed"] = (want, str(job.error))
            if job.done and job.result is not None and job.info["gallery"] == want:
                entries = job.result
            job = None
        failed = ss.get(f"{key}_gallery_failed")
        if entries is None and failed and failed[0] == want:
            st.error(f"The gallery did not work: {failed[1]}")
            return
        if entries is None and job is None and ss.get(f"{key}_gallery_stopped") == want:
            st.info("The gallery was stopped.")
            if st.button("Start it again", key=f"{key}_gallery_again", icon=":material/replay:"):
                ss.pop(f"{key}_gallery_stopped")
                st.rerun()
            return
        if entries is None:
            if job is None:
                job = ss[f"{key}_gallery_job"] = _gallery_job(name, model, str(folder), vividness)

            def stopped() -> None:
                ss[f"{key}_gallery_stopped"] = want

            live_job(f"{key}_gallery_live", job, _gallery_progress, on_stop=stopped)
            return
        best, worst = best_and_worst(entries)
        for title, group in (("Where it works", best), ("Where it fails", worst)):
            st.markdown(f"**{title}** (colorized above, real colours below)")
            cols = st.columns(max(1, len(group)))
            for col, e in zip(cols, group, strict=False):
                show_image(
                    col, e["colorized"], f"{e['group']}: hits {e['hit_rate']:.0%}", max_width=180, max_height=180
                )
                show_image(
                    col,
                    e["photo"],
                    f"accuracy {e['accuracy']:.2f}, strength {e['saturation']:.2f}",
                    max_width=180,
                    max_height=180,
                )


# --------------------------------------------------------------------------- model card


def card_details(card: dict | None) -> None:
    """The model card's facts and its scores beside the baselines (for the Technical details expander)."""
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
                **{
                    SCORES[k].name: fmt(agg[name][k], SCORES[k].digits)
                    for k in ("accuracy", "hit_rate", "saturation", "ssim")
                },
            }
            for name in ("model", "gray", "mean", "lookup")
            if name in agg
        ]
        st.markdown(f"Scores on {m.get('n')} photos it never saw: {m.get('scored_on')}.")
        st.table(pd.DataFrame(rows).set_index("colorizer"))


# --------------------------------------------------------------------------- train now


#: Memory a CNN training needs beyond what the server already holds, with a margin: a 30-step fine-tune on
#: the beach scenario raised a process's resident size from 721 MB (TensorFlow, the general model and the
#: photos loaded) to a peak of 1,092 MB, 371 MB more.
CNN_TRAINING_MB = 600


def _start_training(key: str, config, dataset, label: str) -> Job:
    from core.cnn.runs import train_on_dataset

    free = free_memory_mb()
    if free is not None and free < CNN_TRAINING_MB:
        raise MemoryError(
            f"the server has {free:,} MB of memory free and a CNN training needs about {CNN_TRAINING_MB:,} MB. "
            "Try again when fewer visitors are training, or colorize with a trained model meanwhile"
        )

    def run(job: Job):
        return train_on_dataset(config, dataset, progress=job.history.append, stop=job.stop_event)

    job = Job(run, kind="CNN training", session=session_id(), label=label, steps=config.steps, dataset=dataset)
    replaced = job_queue().submit(job)
    if replaced:
        st.session_state[f"{key}_train_note"] = replaced
    return job


def _collect(key: str, job: Job) -> None:
    st.session_state[f"{key}_job"] = None
    job_queue().forget(job.session)
    if job.cancelled:
        st.session_state[f"{key}_train_note"] = "The training was taken out of the queue before it started."
        return
    if job.error is not None:
        st.session_state[f"{key}_train_error"] = str(job.error)
        return
    res = job.result
    history = res["history"] if len(res["history"] or []) >= len(job.history) else list(job.history)
    if (old := st.session_state.get(f"{key}_trained")) is not None:  # one per visitor bounds the memory
        st.session_state[f"{key}_train_note"] = (
            f"This CNN replaces the one you trained before ({old['label']}): each visitor keeps one."
        )
    st.session_state[f"{key}_trained"] = {
        **res,
        "history": history,
        "dataset": job.info["dataset"],
        "wall": job.seconds,
        "label": job.info["label"],
    }


def _accuracy(history: list[dict]) -> float | None:
    """The latest accuracy on the test photos in a training's progress records (None before the first)."""
    return next((e["accuracy"] for e in reversed(history) if e.get("accuracy") is not None), None)


def _training_progress(job: Job) -> tuple[float, str]:
    h, steps = job.history, job.info["steps"]
    if not h:
        return 0.0, "starting (TensorFlow loads the first time)…"
    acc = _accuracy(h)
    text = f"step {h[-1]['step']}/{steps}" + (f" · accuracy on the test photos {acc:.3f}" if acc is not None else "")
    return h[-1]["step"] / steps, text


def _live(key: str) -> None:
    def curves(job: Job) -> None:
        if _accuracy(job.history) is not None:
            st.plotly_chart(charts.accuracy_curves(job.history, steps=job.info["steps"]), key=f"{key}_live_curve")

    live_job(key, st.session_state[f"{key}_job"], _training_progress, more=curves)


def train_section(key: str) -> None:
    """The "Train a CNN now" expander: fine-tune the general model on a scenario or on uploads."""
    from core.cnn import recipe

    ss = st.session_state
    job: Job | None = ss.get(f"{key}_job")
    if job is not None and job.done:
        _collect(key, job)
        job = None
    root = data_root(required=False)
    scenarios = list_scenarios(root) if root else []
    with st.expander("Train a CNN now", expanded=job is not None or ss.get(f"{key}_trained") is not None):
        if job is not None:  # the live view sits above the form, where the eye already is
            _live(key)
        note = ss.pop(f"{key}_train_note", None)
        if note:
            st.info(note)
        err = ss.pop(f"{key}_train_error", None)
        if err:
            st.error(f"Training did not work: {err}")
        trained = ss.get(f"{key}_trained")
        if trained is not None and job is None:
            (st.warning if trained["stopped"] else st.success)(f"Model {trained['label']}: {trained['message']}.")
            if trained["history"]:
                st.plotly_chart(charts.accuracy_curves(trained["history"], steps=None), key=f"{key}_curves")
            st.caption("Pick 'trained now, in this session' as the model in the sidebar to colorize with it.")
            with st.expander("Technical details of the model trained now"):
                card_details(trained["card"])
        with st.form(f"{key}_train_form"):
            c_btn, c_txt = st.columns([1, 3], vertical_alignment="center")
            clicked = c_btn.form_submit_button("Train CNN", type="primary", disabled=job is not None)
            c_txt.markdown("Teach the general model one kind of scene, or train the report's network from scratch.")
            sources = (["scenario"] if scenarios else []) + ["uploads"]
            source = st.radio(
                "Photos",
                sources,
                horizontal=True,
                key=f"{key}_source",
                format_func={"scenario": "a scenario from the data folder", "uploads": "photos uploaded together"}.get,
            )
            scenario = st.selectbox("Scenario", scenarios or ["—"], key=f"{key}_scenario")
            uploads = st.file_uploader(
                "Photos for training (7:3 train/test split)",
                type=UPLOAD_TYPES,
                accept_multiple_files=True,
                key=f"{key}_set",
            )
            which = st.radio(
                "Recipe",
                ("scenario", "report"),
                horizontal=True,
                key=f"{key}_recipe",
                format_func={
                    "scenario": "fine-tune the general model (about a minute)",
                    "report": "the report's network",
                }.get,
            )
            steps = st.number_input("Steps", min_value=1, max_value=20000, value=150, step=50, key=f"{key}_steps")
            seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key=f"{key}_seed")
        if clicked and job is None:
            started = False
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
                ss[f"{key}_job"] = _start_training(key, config, dataset, f"trained now on '{dataset.name}'")
                started = True
            if started:
                st.rerun()  # redraw with the live view above the form
