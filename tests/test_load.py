"""A small run of the load test in CI: a few real browser sessions on one server, one job worker."""

from __future__ import annotations

import sys

import pytest
from dashboard_helpers import ROOT

pytestmark = pytest.mark.browser


def test_three_sessions_share_one_worker_fairly_and_never_see_each_other():
    sys.path.insert(0, str(ROOT / "scripts"))
    import load_test

    res = load_test.run(3, per_browser=3, epochs=10, workers=1)
    print(
        f"\n[timing] load test, 3 sessions on 1 worker: page paint {res['page_paint']}, Train click to result "
        f"{res['train_click_to_result']}, Colorize {res['colorize_click_to_result']}, memory {res['memory_mb']} MB"
    )
    assert res["errors"] == []
    assert res["trainings_completed_in_browsers"] == 3
    assert res["jobs_submitted"] == res["jobs_finished"] == 3
    assert not res["cross_session_leak"]
    assert res["queue_positions_seen"] >= 1  # with one worker, somebody waited and saw their place
    assert res["last_training_start_s"] <= res["fairness_bound_s"]
    assert res["ok"]
