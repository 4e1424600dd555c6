"""Activity rewards: the daily check-in with its streak, and referrals."""

from core.rewards.checkins import CheckinResult, check_in
from core.rewards.referrals import link_invitee, reward_first_purchase

__all__ = [
    "CheckinResult",
    "check_in",
    "link_invitee",
    "reward_first_purchase",
]
