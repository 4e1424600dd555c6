"""RFM quintile scores (1–5) and the named segments they map to.

Scores: R from days since the last purchase (fewer is better), F from distinct purchase
days, M from mean spend per purchase day. A member's score is 1 + ⌊5·w/n⌋ where w is the
number of members with a strictly *worse* value: ties share a score (the one their worst
position would get), input order never matters, and with n distinct values each score
holds a fifth of the members. One-time buyers, usually the largest tie, all get F = 1.

Segments, from (R, F) only; the rules are disjoint and together cover all 25 pairs:

    champions    R ≥ 4 and F ≥ 4     bought recently and often
    loyal        R = 3 and F ≥ 4     buy often, not the most recently
    potential    R ≥ 3 and F ≤ 3, except new     recent, not yet frequent
    new          R = 5 and F = 1     first purchase among the most recent
    at_risk      R ≤ 2 and F ≥ 3     used to buy often, quiet for a while
    hibernating  R = 2 and F ≤ 2     few purchases, quiet for a while
    lost         R = 1 and F ≤ 2     few purchases, the longest silence

             F=1          F=2          F=3          F=4        F=5
    R=5      new          potential    potential    champions  champions
    R=4      potential    potential    potential    champions  champions
    R=3      potential    potential    potential    loyal      loyal
    R=2      hibernating  hibernating  at_risk      at_risk    at_risk
    R=1      lost         lost         at_risk      at_risk    at_risk
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

SEGMENTS = ("champions", "loyal", "potential", "new", "at_risk", "hibernating", "lost")

SEGMENT_RULES: tuple[tuple[str, Callable[[int, int], bool]], ...] = (
    ("champions", lambda r, f: r >= 4 and f >= 4),
    ("loyal", lambda r, f: r == 3 and f >= 4),
    ("potential", lambda r, f: r >= 3 and f <= 3 and not (r == 5 and f == 1)),
    ("new", lambda r, f: r == 5 and f == 1),
    ("at_risk", lambda r, f: r <= 2 and f >= 3),
    ("hibernating", lambda r, f: r == 2 and f <= 2),
    ("lost", lambda r, f: r == 1 and f <= 2),
)

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class RfmScores:
    recency: IntArray
    frequency: IntArray
    monetary: IntArray
    segments: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.segments)

    def code(self, i: int) -> str:
        """The usual three-digit cell, e.g. "545"."""
        return f"{self.recency[i]}{self.frequency[i]}{self.monetary[i]}"


def segment_for(recency_score: int, frequency_score: int) -> str:
    """The one segment whose rule holds for (R, F); both scores must be 1–5."""
    if not (1 <= recency_score <= 5 and 1 <= frequency_score <= 5):
        raise ValueError(f"RFM scores run from 1 to 5, got R={recency_score} F={frequency_score}")
    matches = [name for name, rule in SEGMENT_RULES if rule(recency_score, frequency_score)]
    if len(matches) != 1:
        raise AssertionError(f"segment rules overlap or leave a gap at {matches}")
    return matches[0]


def quintile_scores(values: ArrayLike, *, higher_is_better: bool = True) -> IntArray:
    """Scores 1–5 by rank: 1 + ⌊5·(members strictly worse)/n⌋, so ties share a score."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError("RFM scores need a one-dimensional array of finite values")
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    ordered = np.sort(v)
    if higher_is_better:
        worse = np.searchsorted(ordered, v, side="left")
    else:
        worse = v.size - np.searchsorted(ordered, v, side="right")
    return np.minimum(1 + (5 * worse) // v.size, 5).astype(np.int64)


def rfm_scores(
    *, days_since_last: ArrayLike, purchase_days: ArrayLike, spend_per_day: ArrayLike
) -> RfmScores:
    recency = quintile_scores(days_since_last, higher_is_better=False)
    frequency = quintile_scores(purchase_days)
    monetary = quintile_scores(spend_per_day)
    segments = tuple(segment_for(int(r), int(f)) for r, f in zip(recency, frequency, strict=True))
    return RfmScores(recency=recency, frequency=frequency, monetary=monetary, segments=segments)
