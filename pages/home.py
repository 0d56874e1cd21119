"""Home: what the lab does, in one sentence and a picture; the pages; what the numbers mean; samples; the server."""

import streamlit as st

from core.color import gray2rgb, rgb2gray
from core.images import SAMPLES
from ui.common import device_summary, library_versions, sample_image, sample_thumbnail, show_image
from ui.server import job_queue, sessions_connected, use_dashboard_navigation
from ui.words import SCORES

use_dashboard_navigation()  # a fresh server's first visit straight to this page
st.title("Colorization Lab")
st.markdown(
    "Two computer programs learn to paint the colours back into black-and-white photos; you train them, "
    "watch them learn, and judge them against simple baselines."
)

hero = sample_thumbnail("chelsea", 300)
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="center")
show_image(c1, gray2rgb(rgb2gray(hero)), "what the programs see", max_width=300, max_height=220)
show_image(c2, hero, "what they try to paint", max_width=300, max_height=220)
with c3:
    st.page_link("pages/ann.py", label="Train a small network live (numpy)", icon=":material/grid_on:")
    st.page_link("pages/cnn.py", label="Colorize any photo, or your own, with the CNN", icon=":material/layers:")
    st.page_link("pages/compare.py", label="Compare the two on one photo", icon=":material/compare:")
    st.caption(
        "Every score stands beside three baselines: **gray** (no colour at all), the **mean** colour, and "
        "a **lookup** table that gives each gray value its most common colour."
    )

load = job_queue().stats()
visitors = sessions_connected()
st.caption(
    f"This server now: {load['running']} job{'s' if load['running'] != 1 else ''} running "
    "(trainings, galleries, full-size colorizing), "
    f"{load['queued']} waiting, on {load['workers']} worker{'s' if load['workers'] != 1 else ''}"
    + (f"; {visitors} visitor{'s' if visitors != 1 else ''} connected" if visitors is not None else "")
    + f". Since it started: {load['finished']} of {load['submitted']} jobs finished."
)

with st.expander("What the numbers mean"):
    for key in ("seed_difference", "accuracy", "hit_rate", "saturation"):
        st.markdown(f"**{SCORES[key].name}**: {SCORES[key].meaning}")
    st.markdown(
        "Beside each score a badge says how it stands against the best baseline, for example "
        '"beats the best baseline (lookup) by 6 points" (a point is one percent of the pixels).'
    )

st.subheader("Built-in samples")
cols = st.columns(len(SAMPLES))
for col, name in zip(cols, SAMPLES, strict=True):
    full = sample_image(name)
    show_image(col, sample_thumbnail(name), f"{name} ({full.shape[1]}×{full.shape[0]})", max_width=180, max_height=140)

with st.expander("Technical details: this server"):
    versions = library_versions()
    c1, c2 = st.columns([1, 2])
    with c1:
        st.metric("Device", device_summary().split(" (")[0])
        st.caption(device_summary())
    with c2:
        st.table({"library": list(versions), "version": list(versions.values())})
