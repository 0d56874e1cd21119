"""Verdicts: one plain sentence that sets a score against its baselines.

Every score the dashboard shows carries a verdict such as "beats the best
baseline (lookup) by 6 points" or "worse than the lookup baseline, which was
fitted on this very photo". The wording and the rule live here, away from
Streamlit, so the pages, the command line and the tests share them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Verdict", "verdict"]

#: What each baseline is, for sentences ("worse than the lookup baseline, a gray-level lookup table").
BASELINE_WORDS = {
    "gray": "gray (no colour at all)",
    "mean": "the mean colour",
    "lookup": "the lookup baseline",
}


@dataclass(frozen=True)
class Verdict:
    """A score's standing against its baselines.

    Attributes
    ----------
    level : str
        ``"good"`` (beats every baseline), ``"close"`` (within the tie margin of
        the best one), ``"behind"`` (loses to some baseline but beats gray) or
        ``"useless"`` (no better than gray, or no finite score).
    text : str
        One sentence in plain words, without a leading capital, for a badge.
    best : str or None
        The name of the strongest baseline.
    """

    level: str
    text: str
    best: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the score beats or ties every baseline."""
        return self.level in ("good", "close")


def _gap(value: float, unit: str, scale: float) -> str:
    amount = abs(value) * scale
    if unit == "points":
        return f"{amount:.0f} point{'s' if round(amount) != 1 else ''}" if amount >= 1 else "less than a point"
    return f"{amount:.2f} {unit}".rstrip()


def verdict(
    value: float,
    baselines: Mapping[str, float],
    *,
    higher_is_better: bool,
    unit: str = "points",
    scale: float = 100.0,
    tie: float = 0.005,
    fitted_on_photo: Iterable[str] = (),
) -> Verdict:
    """Set ``value`` against the baselines' values of the same score.

    Parameters
    ----------
    value : float
        The model's score.
    baselines : mapping name -> float
        The baselines' scores (``gray``, ``mean``, ``lookup``, …); non-finite ones are ignored.
    higher_is_better : bool
        True for accuracies and hit rates, False for errors.
    unit, scale : str, float
        How a gap is worded: ``scale`` times the difference, in ``unit``. The
        default reads shares in [0, 1] as percentage points.
    tie : float
        Differences smaller than this (in the score's own scale) count as a tie.
    fitted_on_photo : iterable of str
        Baselines that were fitted on the very photo being scored; a loss to
        one of them says so, because such a baseline has seen the answer.

    Returns
    -------
    Verdict
    """
    fitted = set(fitted_on_photo)
    sign = 1.0 if higher_is_better else -1.0
    scores = {k: float(v) for k, v in baselines.items() if v is not None and math.isfinite(float(v))}
    if value is None or not math.isfinite(float(value)):
        return Verdict("useless", "no score: the model gave no usable colours")
    if not scores:
        return Verdict("close", "no baseline to compare with")
    value = float(value)
    best = max(scores, key=lambda k: sign * scores[k])
    margin = sign * (value - scores[best])  # > 0: ahead of the best baseline
    if "gray" in scores and sign * (value - scores["gray"]) < -tie:
        return Verdict(
            "useless",
            f"worse than gray by {_gap(value - scores['gray'], unit, scale)}: no better than no colour at all",
            best,
        )
    if margin > tie:
        return Verdict("good", f"beats the best baseline ({best}) by {_gap(margin, unit, scale)}", best)
    if margin >= -tie:
        return Verdict("close", f"level with the best baseline ({best})", best)
    words = BASELINE_WORDS.get(best, f"the {best} baseline")
    why = ", which was fitted on this very photo" if best in fitted else ""
    return Verdict("behind", f"worse than {words} by {_gap(margin, unit, scale)}{why}", best)
