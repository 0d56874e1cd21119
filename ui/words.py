"""One on-screen name, meaning and scale per score, shared by every page, and the verdict badge.

The names are what a student reads; the keys are the ones ``core.metrics``
returns. The verdict's rule and wording live in :mod:`core.verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.verdict import Verdict, verdict


@dataclass(frozen=True)
class Score:
    """How a score is shown: its name, one line of meaning, and its direction."""

    name: str
    meaning: str
    higher_is_better: bool
    digits: int = 3
    unit: str = "points"  # how a gap to a baseline is worded
    scale: float = 100.0
    target: float | None = None  # when set, the closer to it the better (e.g. 1 = as vivid as the truth)


SCORES = {
    "seed_difference": Score(
        "Colour error",
        "How far the colours are from the true ones, in colour steps per pixel: 0 = perfect, about 1 = "
        "one step off everywhere. The report's score (its 'difference', |dR+dG+dB| on 4 levels); "
        "errors of opposite sign cancel.",
        False,
        unit="steps",
        scale=1.0,
    ),
    "l1_difference": Score(
        "Channel error",
        "Like the colour error, but red, green and blue errors are added without cancelling: 0 = perfect.",
        False,
        unit="steps",
        scale=1.0,
    ),
    "accuracy": Score(
        "Accuracy",
        "Share of colour values within 10 of the truth (the report's accuracy): 1 = perfect. A gray picture "
        "already scores about 0.5 on everyday photos, so read it beside the baselines.",
        True,
    ),
    "hit_rate": Score(
        "Colour hits",
        "Among the truly colourful pixels, the share painted within 20 of the true colour: 1 = perfect, "
        "0 = gray. Gray cannot win this one.",
        True,
    ),
    "saturation": Score(
        "Colour strength",
        "How vivid the colours are next to the truth: 1 = as vivid, 0 = gray, above 1 = more vivid.",
        True,
        digits=2,
        target=1.0,
    ),
    "auc": Score("AuC", "Area under accuracy-versus-threshold (thresholds 0 to 150): 1 = perfect.", True),
    "psnr": Score("PSNR (dB)", "Peak signal-to-noise ratio of the RGB picture: higher is closer.", True, 2, "dB", 1.0),
    "ssim": Score("SSIM", "Structural similarity of the RGB picture: 1 = identical.", True),
    "colorfulness": Score("Colourfulness", "Hasler and Süsstrunk's colourfulness: 0 = gray.", True, 1, "", 1.0),
}

BADGE = {
    "good": ("green", ":material/thumb_up:"),
    "close": ("blue", ":material/drag_handle:"),
    "behind": ("orange", ":material/info:"),
    "useless": ("red", ":material/warning:"),
}


def judge(key: str, value: float, baselines: dict[str, float], fitted_on_photo=()) -> Verdict:
    """The verdict for score ``key`` (see :data:`SCORES`) against the baselines."""
    s = SCORES[key]
    if s.target is not None:  # the distance to the target, negated: higher is better

        def near(x):
            return None if x is None else -abs(float(x) - s.target)

        value, baselines = near(value), {k: near(x) for k, x in baselines.items()}
    return verdict(
        value,
        baselines,
        higher_is_better=s.higher_is_better,
        unit=s.unit,
        scale=s.scale,
        tie=0.005 if s.scale == 100.0 else 0.01,
        fitted_on_photo=fitted_on_photo,
    )


def badge(key: str, v: Verdict, *, short: bool = False) -> None:
    """Draw a verdict as a coloured label, e.g. "Colour hits: beats the best baseline (lookup) by 6 points".

    The label wraps in a narrow column (``st.badge`` would cut a long verdict short). ``short`` leaves out
    the score's name (for a label right under its number).
    """
    color, icon = BADGE[v.level]
    text = v.text if short else f"{SCORES[key].name}: {v.text}"
    st.markdown(f":{color}-background[{icon} {text}]", help=SCORES[key].meaning)


def score_help(*keys: str) -> str:
    """A caption with each score's name and meaning."""
    return "  \n".join(f"**{SCORES[k].name}**: {SCORES[k].meaning}" for k in keys)
