"""The sales funnel: events, forward-only stage moves, and the side states time brings
(at risk, lapsed).
"""

from core.funnel.events import STAGE_RANK, advance_stage, log_event, log_member_event
from core.funnel.lifecycle import update_risk

__all__ = [
    "STAGE_RANK",
    "advance_stage",
    "log_event",
    "log_member_event",
    "update_risk",
]
