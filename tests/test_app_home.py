"""AppTest smoke tests of the dashboard entry point and its home page."""

from __future__ import annotations

import subprocess
import sys

from dashboard_helpers import APP, ROOT, TIMEOUT
from streamlit.testing.v1 import AppTest


def test_home_loads_with_gallery_device_and_versions():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value.startswith("Colorization Lab")
    assert len(at.image) == 2 + 6  # the gray/colour picture, then one thumbnail per built-in sample
    assert any(m.label == "Device" and m.value in ("CPU", "GPU") for m in at.metric)
    libs = at.table[0].value
    assert {"numpy", "streamlit", "tensorflow"} <= set(libs["library"])


def _last_line_in_a_fresh_interpreter(code: str, timeout: float) -> str:
    """Run ``code`` in a new Python (so no earlier test has imported TensorFlow); its last printed line."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_home_and_ann_pages_do_not_import_tensorflow():
    """First paint stays fast: the pages themselves import TensorFlow only where a CNN is used.

    (The dashboard preloads it in a background thread after the first page; that is off here.)
    """
    code = (
        "import os, sys\n"
        "os.environ['COLORLAB_PRELOAD'] = '0'\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()\n"
        "assert not at.exception\n"
        "at.switch_page('pages/ann.py').run()\n"
        "assert not at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    assert _last_line_in_a_fresh_interpreter(code, timeout=300) == "False False"


def test_the_dashboard_preloads_the_cnn_in_the_background_after_the_first_page():
    code = (
        "import os, sys, threading\n"
        "os.environ['COLORLAB_PRELOAD'] = '1'\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()\n"
        "assert not at.exception\n"
        "t = next(t for t in threading.enumerate() if t.name == 'colorlab-preload')\n"
        "t.join(300)\n"
        "print('keras' in sys.modules)\n"
    )
    assert _last_line_in_a_fresh_interpreter(code, timeout=400) == "True"
