"""Widgets and helpers shared by the dashboard pages.

Nothing here computes a model or a metric: it reads widgets, calls ``core`` and
draws. TensorFlow is never imported from this module.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import shutil
import sys
from collections.abc import Iterator
from importlib import metadata

import numpy as np
import streamlit as st

from core.images import SAMPLES, ImageError, fit_within, load_image, load_sample, resize, to_png_bytes

log = logging.getLogger("colorlab.dashboard")

#: File types the upload widgets accept (Pillow decodes them all).
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"]

#: Libraries listed on the home page (versions read without importing them).
LIBRARIES = ("streamlit", "numpy", "scikit-image", "pillow", "plotly", "pandas", "tensorflow", "keras")


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def friendly_errors(what: str) -> Iterator[None]:
    """Show any error inside the block as ``st.error`` instead of a traceback.

    Streamlit's own rerun/stop signals derive from ``BaseException`` and pass
    through untouched.
    """
    try:
        yield
    except ImageError as exc:
        show_image_error(exc, what)
    except Exception as exc:  # noqa: BLE001 - the dashboard never shows a traceback
        log.exception("%s failed", what)
        st.error(f"{what} did not work: {exc}", icon=":material/error:")
        with st.expander("Details"):
            st.code(f"{type(exc).__name__}: {exc}", language=None, wrap_lines=True)


# --------------------------------------------------------------------------- images


@st.cache_data(show_spinner=False, max_entries=16)
def sample_image(name: str) -> np.ndarray:
    """A built-in sample, cached for all sessions (read-only, shared)."""
    return load_sample(name)


@st.cache_data(show_spinner=False, max_entries=8)
def sample_thumbnail(name: str, side: int = 240) -> np.ndarray:
    """A small copy of a sample for the home gallery."""
    return fit_within(load_sample(name), side)


def _decode_upload(uploaded) -> np.ndarray:
    """Decode an upload (or a camera photo) once per browser session, kept in that session only.

    The bytes stay in memory: nothing a visitor uploads is written to disk.
    """
    cache = st.session_state.setdefault("_decoded_uploads", {})
    key = getattr(uploaded, "file_id", None) or f"{uploaded.name}:{uploaded.size}"
    if key not in cache:
        if len(cache) > 8:
            cache.clear()
        try:
            cache[key] = load_image(uploaded)
        except ImageError as exc:
            cache[key] = exc
    value = cache[key]
    if isinstance(value, ImageError):
        raise value
    return value


def plain_image_error(exc: Exception) -> str:
    """One sentence a student understands for a photo that cannot be used (the loader's words go below it)."""
    text = str(exc)
    if "empty file" in text:
        return "The file is empty: it holds no picture."
    if "too small" in text:
        return "The picture is too small to colorize: it needs at least 8 pixels on each side."
    if "megapixels" in text or "too large" in text:
        return "The picture is too large to open safely. Please scale it down below 50 megapixels and try again."
    if "damaged or truncated" in text:
        return "The file is damaged or cut short, so the picture cannot be read."
    return "This file is not a picture we can read. Use a JPEG, PNG, WebP, BMP, TIFF or GIF photo."


def show_image_error(exc: Exception, what: str = "This file cannot be used") -> None:
    """A plain-words error, with the loader's precise message in an expander."""
    st.error(f"{what}. {plain_image_error(exc)}", icon=":material/broken_image:")
    with st.expander("Details"):
        st.code(str(exc), language=None, wrap_lines=True)


def _source_picked(key: str, source: str) -> None:
    st.session_state[f"{key}_photo_source"] = source
    if source == "sample":
        # A sample picked after an upload replaces it: a fresh uploader drops the old (maybe broken) file.
        st.session_state[f"{key}_upload_n"] = st.session_state.get(f"{key}_upload_n", 0) + 1


def image_input(
    key: str, *, default: str = "coffee", camera: bool = False, container=None
) -> tuple[np.ndarray, str] | None:
    """Photo picker (in the sidebar by default): a built-in sample, an upload, or the camera.

    The source last touched wins: picking a sample after an upload replaces the
    upload, and removing an upload returns to the sample.

    Parameters
    ----------
    key : str
        Widget key prefix (unique per page).
    default : str
        The sample shown first.
    camera : bool
        Offer ``st.camera_input`` behind a toggle (the browser asks for the camera only then).

    Returns
    -------
    (rgb, name) with rgb (H, W, 3) uint8, or None when the chosen file cannot be
    used (a plain-words error has been shown).
    """
    ss = st.session_state
    ss.setdefault(f"{key}_photo_source", "sample")
    box = st.sidebar if container is None else container
    with box:
        st.markdown("**Photo**")
        sample = st.selectbox(
            "Built-in sample",
            SAMPLES,
            index=SAMPLES.index(default),
            key=f"{key}_sample",
            on_change=_source_picked,
            args=(key, "sample"),
        )
        uploaded = st.file_uploader(
            "…or upload your own",
            type=UPLOAD_TYPES,
            key=f"{key}_upload" + (f"_{n}" if (n := ss.get(f"{key}_upload_n", 0)) else ""),
            on_change=_source_picked,
            args=(key, "upload"),
            help="JPEG, PNG, WebP, BMP, TIFF or GIF, up to 50 MB. It stays in your browser session only.",
        )
        shot = None
        if camera and st.toggle("…or take a photo with the camera", key=f"{key}_use_camera"):
            shot = st.camera_input("Camera", key=f"{key}_camera", on_change=_source_picked, args=(key, "camera"))
    source = ss[f"{key}_photo_source"]
    chosen = {"upload": uploaded, "camera": shot}.get(source)
    if chosen is not None:
        try:
            rgb = _decode_upload(chosen)
        except ImageError as exc:
            show_image_error(exc)
            return None
        return rgb, ("camera photo" if source == "camera" else chosen.name)
    with friendly_errors(f"Loading sample '{sample}'"):
        return sample_image(sample), sample
    return None


def display_copy(rgb: np.ndarray, *, max_width: int = 400, max_height: int = 340) -> np.ndarray:
    """A copy sized for the screen: within ``max_width`` × ``max_height``, and at most twice its own size.

    Parameters
    ----------
    rgb : (H, W) or (H, W, 3) uint8

    Returns
    -------
    (h, w[, 3]) uint8, the same array when no resizing is needed
    """
    h, w = rgb.shape[:2]
    scale = min(max_width / w, max_height / h, 2.0)
    if abs(scale - 1.0) < 0.02:
        return rgb
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if rgb.ndim == 2:
        return resize(np.repeat(rgb[..., None], 3, axis=2), size)
    return resize(rgb, size)


def show_image(col, rgb: np.ndarray, caption: str, *, max_width: int = 400, max_height: int = 340) -> None:
    """Show a picture that fits the screen: see :func:`display_copy`; never wider than its column."""
    col.image(display_copy(rgb, max_width=max_width, max_height=max_height), caption=caption, width="content")


def working_copy(rgb: np.ndarray, key: str, *, default: int = 600, lo: int = 64, hi: int = 1600) -> np.ndarray:
    """Scale a photo down for live training; the working size is shown and changeable.

    Returns
    -------
    (h, w, 3) uint8 with ``max(h, w) <= chosen size``
    """
    h, w = rgb.shape[:2]
    longest = max(h, w)
    top = max(lo, min(hi, longest))
    side = st.sidebar.slider(
        "Working size (longest side, pixels)",
        min_value=lo,
        max_value=top,
        value=min(default, top),
        step=16 if top - lo >= 16 else 1,
        key=f"{key}_side",
        help="Large photos are scaled down so the network trains live; results scale with it.",
    )
    work = fit_within(rgb, side)
    note = "" if work is rgb else f" (scaled down from {w}×{h})"
    st.sidebar.caption(f"Working size: **{work.shape[1]}×{work.shape[0]}** pixels{note}.")
    return work


# --------------------------------------------------------------------------- downloads


def png_download(label: str, rgb: np.ndarray, file_name: str, key: str) -> None:
    """A download button for an RGB image as PNG."""
    st.download_button(label, to_png_bytes(rgb), file_name=file_name, mime="image/png", key=key, on_click="ignore")


def _flatten(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{name}."))
        elif isinstance(v, (list, tuple)):
            out[name] = json.dumps(list(v))
        else:
            out[name] = v
    return out


def metrics_downloads(metrics: dict, stem: str, key: str) -> None:
    """Download buttons for a run's metrics as JSON and as a two-column CSV."""
    text = json.dumps(metrics, indent=2, default=_jsonable)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["metric", "value"])
    for k, v in _flatten(json.loads(text)).items():
        writer.writerow([k, v])
    c1, c2 = st.columns(2)
    with c1:
        st.download_button(
            "Metrics (JSON)",
            text,
            file_name=f"{stem}.json",
            mime="application/json",
            key=f"{key}_json",
            on_click="ignore",
        )
    with c2:
        st.download_button(
            "Metrics (CSV)",
            buf.getvalue(),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            on_click="ignore",
        )


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return str(obj)


# --------------------------------------------------------------------------- device


def library_versions() -> dict[str, str]:
    """Installed versions of the main libraries, read from package metadata (no imports)."""
    out = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device_summary() -> str:
    """CPU or GPU, found without importing TensorFlow.

    If TensorFlow is already loaded (a CNN was used in this server), ask it;
    otherwise an NVIDIA GPU is assumed usable when ``nvidia-smi`` is on the path.
    """
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            gpus = tf.config.list_physical_devices("GPU")
        except Exception:  # noqa: BLE001
            gpus = []
        return f"GPU ({len(gpus)} visible to TensorFlow)" if gpus else "CPU (TensorFlow sees no GPU)"
    if shutil.which("nvidia-smi"):
        return "GPU (NVIDIA driver found; TensorFlow loads when a CNN is used)"
    return "CPU (no GPU driver found)"


def fmt(value, digits: int = 3) -> str:
    """Format a number for tables: fixed digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else "—"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}f}"
