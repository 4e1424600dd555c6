"""Stats for admins, read from incrementally kept aggregates, never from the event log.

The counters are bumped by the use cases (core.stats.counters) and can be recomputed from
the base tables (`rebuild_aggregates`).
"""

from core.stats.campaigns import CampaignFigure, best_campaigns
from core.stats.counters import (
    note_answer,
    note_checkin,
    note_claim,
    note_erasure,
    note_purchase,
    note_redemption,
    note_refund,
    note_signup,
    note_stage_entries,
    note_survey_completed,
)
from core.stats.conversion import (
    MAX_WITHIN_DAYS,
    CohortConversion,
    Funnel,
    StageFigure,
    biggest_drop,
    cohort_conversion,
    cohort_funnel,
    funnel,
)
from core.stats.indicators import Kpis, kpis
from core.stats.nps import NpsScore, nps_score
from core.stats.rebuild import rebuild_aggregates

__all__ = [
    "NpsScore",
    "note_answer",
    "note_checkin",
    "note_claim",
    "note_erasure",
    "note_purchase",
    "note_redemption",
    "note_refund",
    "note_signup",
    "note_stage_entries",
    "note_survey_completed",
    "nps_score",
    "MAX_WITHIN_DAYS",
    "CampaignFigure",
    "CohortConversion",
    "Funnel",
    "Kpis",
    "StageFigure",
    "best_campaigns",
    "biggest_drop",
    "cohort_conversion",
    "cohort_funnel",
    "funnel",
    "kpis",
    "rebuild_aggregates",
]
