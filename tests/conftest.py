"""Shared fixtures: small photos and the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The dashboard loads TensorFlow in the background after its first page; AppTests load it only where they use it.
os.environ.setdefault("COLORLAB_PRELOAD", "0")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared photo folder ($COLORLAB_DATA, else ../shared/data beside the checkout)."""
    path = Path(os.environ.get("COLORLAB_DATA", ROOT.parent / "shared" / "data"))
    if not (path / "single").is_dir():
        pytest.skip(f"no data folder at {path} (set COLORLAB_DATA)")
    return path


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    from core.images import load_sample

    return load_sample("coffee")


@pytest.fixture(scope="session")
def small_photo(coffee) -> np.ndarray:
    """Coffee scaled to 60x90: real structure, fast to train on."""
    from core.images import resize

    return resize(coffee, (60, 90))


# Timing targets are printed by the tests (never asserted). pytest hides the
# output of passing tests, so lines starting with "[timing]" are collected and
# repeated in the terminal summary, where CI logs show them.
_TIMINGS: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _TIMINGS.extend(line.strip() for line in report.capstdout.splitlines() if line.strip().startswith("[timing]"))


def pytest_terminal_summary(terminalreporter):
    if _TIMINGS:
        terminalreporter.section("timing targets (measured, not asserted)")
        for line in _TIMINGS:
            terminalreporter.write_line(line)
