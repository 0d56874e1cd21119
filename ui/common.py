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

from core.images import SAMPLES, ImageError, fit_within, load_image, load_sample, to_png_bytes

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
        st.error(f"{what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the dashboard never shows a traceback
        log.exception("%s failed", what)
        st.error(f"{what} failed: {type(exc).__name__}: {exc}")


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
    """Decode an upload once per browser session (kept in that session only).

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


def image_input(key: str, *, label: str = "Photo", default: str = "coffee") -> tuple[np.ndarray, str] | None:
    """Sample picker plus upload; an upload takes precedence over the sample.

    Parameters
    ----------
    key : str
        Widget key prefix (unique per page and use).

    Returns
    -------
    (rgb, name) with rgb (H, W, 3) uint8, or None when the upload could not be
    used (an ``st.error`` with the loader's message has been shown).
    """
    col_sample, col_upload = st.columns([1, 2])
    with col_sample:
        sample = st.selectbox(f"{label}: built-in sample", SAMPLES, index=SAMPLES.index(default), key=f"{key}_sample")
    with col_upload:
        uploaded = st.file_uploader(
            f"{label}: or upload your own (JPEG, PNG, WebP, BMP, TIFF)",
            type=UPLOAD_TYPES,
            key=f"{key}_upload",
        )
    if uploaded is not None:
        try:
            rgb = _decode_upload(uploaded)
        except ImageError as exc:
            st.error(f"This file cannot be used: {exc}")
            return None
        return rgb, uploaded.name
    with friendly_errors(f"Loading sample '{sample}'"):
        return sample_image(sample), sample
    return None


def working_copy(rgb: np.ndarray, key: str, *, default: int = 600, lo: int = 64, hi: int = 1600) -> np.ndarray:
    """Scale a photo down for live training; the working size is shown and changeable.

    Returns
    -------
    (h, w, 3) uint8 with ``max(h, w) <= chosen size``
    """
    h, w = rgb.shape[:2]
    longest = max(h, w)
    top = max(lo, min(hi, longest))
    side = st.slider(
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
    st.caption(f"Working size: **{work.shape[1]}×{work.shape[0]}** pixels{note}.")
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
