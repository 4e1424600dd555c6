"""Automations: the programme's stage-targeted offers, each selecting the members due
in batches, applying its effect and writing one outbox delivery per member.
"""

from core.automations.audiences import Due
from core.automations.runs import Render, Sending, run_automation, warn_points_expiry

__all__ = [
    "Due",
    "Render",
    "Sending",
    "run_automation",
    "warn_points_expiry",
]
