"""Colorization Lab dashboard: ``streamlit run dashboard.py``.

The entry point only sets up the page and the navigation (``st.navigation``);
each page lives in ``pages/`` and calls ``core`` for every model and metric. Once
``st.navigation`` runs, Streamlit ignores its automatic discovery of ``pages/``, so the sidebar
lists exactly the four pages named here (each page sends a fresh server's very first visitor
through this file; see ``ui/server.py``). TensorFlow is imported only by the CNN parts and, after
the first page is drawn, by a background preload.
"""

import os
import threading

import streamlit as st

from ui.server import keep_keras_session

keep_keras_session()
st.set_page_config(page_title="Colorization Lab", page_icon=":material/palette:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/ann.py", title="ANN (numpy)", icon=":material/grid_on:", url_path="ann"),
    st.Page("pages/cnn.py", title="CNN (Keras)", icon=":material/layers:", url_path="cnn"),
    st.Page("pages/compare.py", title="Comparison", icon=":material/compare:", url_path="compare"),
]

# Less empty space around the page, so a photo and its result fit a 1280×800 projector screen.
st.html(
    "<style>[data-testid='stMainBlockContainer']{padding-top:4rem;padding-left:2.5rem;padding-right:2.5rem;"
    "max-width:none} h1{font-size:2.1rem !important;padding-top:0 !important}</style>"
)

st.navigation(PAGES).run()


@st.cache_resource(show_spinner=False)
def _preload_cnn() -> threading.Thread:
    """Once per server, after the first page is drawn: start the ANN's worker processes, and load TensorFlow
    and the general model, in the background.

    TensorFlow takes about 4 s to import; by the time a visitor opens the CNN page it is ready. The model
    goes into the pages' own cache (``ui.scoring.pretrained_model``), so it is loaded once, not twice.
    ``COLORLAB_PRELOAD=0`` turns this off.
    """

    def work() -> None:
        from ui import ann_work
        from ui.server import job_queue

        job_queue().warm_processes(ann_work.ready)
        try:
            from core.cnn import store
            from ui.scoring import pretrained_model

            pretrained_model(store.DEFAULT_MODEL)
        except Exception:  # noqa: BLE001 - the CNN page reports any real problem itself
            pass

    thread = threading.Thread(target=work, daemon=True, name="colorlab-preload")
    thread.start()
    return thread


if os.environ.get("COLORLAB_PRELOAD", "1") != "0":
    _preload_cnn()
