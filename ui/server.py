"""Server-wide settings the dashboard applies once per script run (cheap and idempotent).

Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is loaded. That is a
full garbage collection (a few hundred milliseconds with TensorFlow in memory, holding the interpreter
lock) after every redraw of a live view, twice a second, and it resets Keras' global state under a model
that trains in a background job. The dashboard keeps its models in ``st.cache_resource`` and its trainings
in jobs, so it needs no such clearing; :func:`keep_keras_session` turns it off.

Streamlit's automatic pages of a ``pages/`` folder would also serve a page without ``dashboard.py`` when a
fresh server's first visitor opens its address directly; :func:`use_dashboard_navigation` sends that
visitor through ``dashboard.py`` so the sidebar lists exactly the dashboard's pages.
"""

from __future__ import annotations

import streamlit as st


def keep_keras_session() -> None:
    """Stop Streamlit from clearing the Keras session after each script run (see the module docstring)."""
    from streamlit.runtime.scriptrunner import script_runner

    if getattr(script_runner._clean_problem_modules, "__name__", "") != "_no_cleanup":

        def _no_cleanup() -> None:
            mpl = __import__("sys").modules.get("matplotlib.pyplot")
            if mpl is not None:  # the other half of Streamlit's cleanup, kept
                mpl.close("all")

        script_runner._clean_problem_modules = _no_cleanup


def use_dashboard_navigation() -> None:
    """Rerun through ``dashboard.py`` when Streamlit served a ``pages/`` file on its own (first visit only).

    Streamlit's automatic page list includes the main script itself; the dashboard's own list does not.
    Only a visitor's first run is sent round (a click in a rerun would be lost): on a server that is the only
    run in this mode, since the first pass through ``dashboard.py`` switches the mode off for good.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    pages = ctx.pages_manager.get_pages().values() if ctx is not None else ()
    if any(str(p.get("script_path", "")).endswith("dashboard.py") for p in pages):
        PagesManager.uses_pages_directory = False
        if not st.session_state.keys():
            st.rerun()
