"""Colorization Lab dashboard: ``streamlit run dashboard.py``.

The entry point only sets up the page and the navigation (``st.navigation``);
each page lives in ``app_pages/`` (not ``pages/``, which Streamlit would also auto-discover) and calls ``core`` for every model and metric.
TensorFlow is imported only by the CNN parts, so home and ANN open fast.
"""

import streamlit as st

st.set_page_config(page_title="Colorization Lab", page_icon=":material/palette:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("app_pages/ann.py", title="ANN (numpy)", icon=":material/grid_on:", url_path="ann"),
    st.Page("app_pages/cnn.py", title="CNN (Keras)", icon=":material/layers:", url_path="cnn"),
    st.Page("app_pages/compare.py", title="Comparison", icon=":material/compare:", url_path="compare"),
]

st.navigation(PAGES).run()
