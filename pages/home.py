"""Home: what the lab does, the sample gallery, device and versions, links."""

import streamlit as st

from core.images import SAMPLES
from ui.common import device_summary, library_versions, sample_image, sample_thumbnail

st.title("Colorization Lab")
st.markdown(
    """
Automatic colorization of grayscale photos, two ways, with every number beside its baselines:

* **ANN (numpy)** — a small network written from scratch sees a *w×w* gray window and predicts each
  pixel's colour on K levels per channel. It learns on one half of a photo and is scored on the other half
  with the report's *Seed difference* and an L1 that cannot cancel.
* **CNN (Keras)** — a convolutional network trained on thousands of varied photos paints the colours of any
  photo from its lightness, scored with the report's accuracy (a/b within 10) and with two scores a gray
  picture cannot win: the hit rate on colourful pixels and the saturation ratio.
* **Comparison** — the same photo through both, in one table with PSNR, SSIM and colorfulness.

Every score stands beside three baselines: **gray** (no colour), **mean** colour and a gray-level **lookup** table.
"""
)

st.subheader("Pages")
c1, c2, c3 = st.columns(3)
with c1:
    st.page_link("pages/ann.py", label="Train the numpy ANN live", icon=":material/grid_on:")
with c2:
    st.page_link("pages/cnn.py", label="Colorize with the CNN", icon=":material/layers:")
with c3:
    st.page_link("pages/compare.py", label="Compare ANN and CNN", icon=":material/compare:")

st.subheader("Built-in samples")
cols = st.columns(len(SAMPLES))
for col, name in zip(cols, SAMPLES, strict=True):
    with col:
        thumb = sample_thumbnail(name)
        full = sample_image(name)
        st.image(thumb, caption=f"{name} ({full.shape[1]}×{full.shape[0]})", width="stretch")

st.subheader("This server")
versions = library_versions()
c1, c2 = st.columns([1, 2])
with c1:
    st.metric("Device", device_summary().split(" (")[0])
    st.caption(device_summary())
with c2:
    st.table({"library": list(versions), "version": list(versions.values())})
