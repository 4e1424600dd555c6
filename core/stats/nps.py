"""The net promoter score: promoters (9–10) less detractors (0–6), in percent of answers."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

PROMOTER_FROM, DETRACTOR_UP_TO = 9, 6


class NpsScore(BaseModel):
    score: float
    """% promoters (9–10) − % detractors (0–6), from −100 to 100."""
    promoters: int
    passives: int
    detractors: int


def nps_score(counts: Mapping[int, int]) -> NpsScore | None:
    """NPS over answered NPS values (`{score: how many}`); None when nobody answered."""
    answered = sum(counts.values())
    if answered == 0:
        return None
    promoters = sum(n for value, n in counts.items() if value >= PROMOTER_FROM)
    detractors = sum(n for value, n in counts.items() if value <= DETRACTOR_UP_TO)
    return NpsScore(
        score=100 * (promoters - detractors) / answered,
        promoters=promoters,
        passives=answered - promoters - detractors,
        detractors=detractors,
    )
