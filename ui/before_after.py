"""A before/after slider: drag across the picture to wipe between the gray photo and its colours.

A small Streamlit component (components v2, inline HTML/CSS/JS, no iframe and
nothing fetched from the network, so it works in a classroom without internet).
The package index's ``streamlit-image-comparison`` loads its script from a
CDN, which an offline class server cannot reach.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import streamlit as st

from core.images import to_png_bytes

_CSS = """
.ba { position: relative; display: inline-block; user-select: none; touch-action: none; cursor: ew-resize;
      line-height: 0; max-width: 100%; }
.ba img { display: block; max-width: 100%; height: auto; }
.ba .after { position: absolute; inset: 0; clip-path: inset(0 0 0 50%); }
.ba .bar { position: absolute; top: 0; bottom: 0; left: 50%; width: 3px; margin-left: -1px; background: #fff;
           box-shadow: 0 0 4px rgba(0,0,0,.6); pointer-events: none; }
.ba .tag { position: absolute; top: 6px; padding: 2px 8px; font: 600 15px sans-serif; line-height: 1.4;
           background: rgba(15,23,42,.7); color: #fff; border-radius: 4px; pointer-events: none; }
.ba .tag.l { left: 6px; } .ba .tag.r { right: 6px; }
.ba-cap { font-size: 14px; color: var(--st-text-color, #0f172a); opacity: .7; text-align: center; margin-top: 4px; }
"""

_JS = """
export default function(component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector('.ba-host');
  if (!root) { root = document.createElement('div'); root.className = 'ba-host'; parentElement.appendChild(root); }
  root.innerHTML = `<div class="ba" role="slider" aria-label="before and after" aria-valuemin="0"
      aria-valuemax="100" aria-valuenow="50" tabindex="0">
    <img class="before" alt="${data.before_label}" width="${data.width}" src="${data.before}">
    <img class="after" alt="${data.after_label}" width="${data.width}" src="${data.after}">
    <div class="bar"></div><span class="tag l">${data.before_label}</span>
    <span class="tag r">${data.after_label}</span></div><div class="ba-cap">${data.caption}</div>`;
  const box = root.querySelector('.ba'), after = root.querySelector('.after'), bar = root.querySelector('.bar');
  const set = (pct) => {
    pct = Math.max(0, Math.min(100, pct));
    after.style.clipPath = `inset(0 0 0 ${pct}%)`; bar.style.left = pct + '%';
    box.setAttribute('aria-valuenow', Math.round(pct));
  };
  const move = (e) => { const r = box.getBoundingClientRect(); set(100 * (e.clientX - r.left) / r.width); };
  box.addEventListener('pointerdown', (e) => { box.setPointerCapture(e.pointerId); move(e); });
  box.addEventListener('pointermove', (e) => { if (e.buttons) move(e); });
  box.addEventListener('keydown', (e) => {
    const now = Number(box.getAttribute('aria-valuenow'));
    if (e.key === 'ArrowLeft') set(now - 5); if (e.key === 'ArrowRight') set(now + 5);
  });
}
"""

_component = None


def _data_url(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(to_png_bytes(rgb)).decode("ascii")


def before_after(
    before: np.ndarray, after: np.ndarray, *, caption: str, key: str, labels: tuple[str, str] = ("gray", "colorized")
) -> None:
    """Show two same-sized pictures as one, with a divider the visitor drags across.

    Parameters
    ----------
    before, after : (H, W, 3) uint8, the same shape (already sized for the screen)
    caption : str
        Shown under the picture.
    key : str
        Streamlit element key.
    """
    global _component
    if _component is None:  # registered on first use, not at import
        _component = st.components.v2.component("colorlab_before_after", html="", css=_CSS, js=_JS)
    if before.shape != after.shape:
        raise ValueError(f"before and after must have the same shape, got {before.shape} and {after.shape}")
    _component(
        data={
            "before": _data_url(before),
            "after": _data_url(after),
            "width": int(before.shape[1]),
            "before_label": html.escape(labels[0]),
            "after_label": html.escape(labels[1]),
            "caption": html.escape(caption),
        },
        key=key,
    )
