"""The verdict beside every score: plain sentences against the baselines, hand-checked cases."""

from __future__ import annotations

import math

from core.verdict import verdict

BASE = {"gray": 0.50, "mean": 0.55, "lookup": 0.60}


def test_beating_every_baseline_names_the_best_and_the_gap_in_points():
    v = verdict(0.66, BASE, higher_is_better=True)
    assert v.level == "good" and v.ok and v.best == "lookup"
    assert v.text == "beats the best baseline (lookup) by 6 points"


def test_a_tie_within_the_margin_is_level():
    v = verdict(0.602, BASE, higher_is_better=True)
    assert v.level == "close" and v.text == "level with the best baseline (lookup)"


def test_losing_to_a_baseline_fitted_on_the_photo_says_so():
    v = verdict(0.57, BASE, higher_is_better=True, fitted_on_photo=["lookup"])
    assert v.level == "behind" and not v.ok
    assert v.text == "worse than the lookup baseline by 3 points, which was fitted on this very photo"
    assert "fitted" not in verdict(0.57, BASE, higher_is_better=True).text


def test_worse_than_gray_is_useless_whatever_else():
    v = verdict(0.40, BASE, higher_is_better=True, fitted_on_photo=["lookup"])
    assert v.level == "useless"
    assert v.text.startswith("worse than gray by 10 points")


def test_lower_is_better_errors_in_their_own_unit():
    errors = {"gray": 0.60, "mean": 1.90, "lookup": 0.19}
    good = verdict(0.16, errors, higher_is_better=False, unit="steps", scale=1.0, tie=0.01)
    assert good.text == "beats the best baseline (lookup) by 0.03 steps"
    bad = verdict(0.70, errors, higher_is_better=False, unit="steps", scale=1.0, tie=0.01)
    assert bad.level == "useless"


def test_no_score_and_no_baselines():
    assert verdict(math.nan, BASE, higher_is_better=True).level == "useless"
    assert verdict(0.5, {}, higher_is_better=True).text == "no baseline to compare with"
    # A baseline without a finite score is left out, not compared with.
    assert verdict(0.56, {"gray": 0.5, "lookup": math.nan}, higher_is_better=True).best == "gray"
