"""Members: first contact, sign-up, enrolment by the brand's systems, search, and what
a member chose (promotions, language, profile, reachability).
"""

from core.members.accounts import CHANNELS, INVITE_ALPHABET, find_member, register_contact, sign_up
from core.members.enrolment import EXTERNAL_REF_MAX, enrol_member, enrolment_key
from core.members.preferences import (
    mark_reachable,
    mark_unreachable,
    opt_in,
    opt_out,
    set_locale,
    update_profile,
)
from core.members.search import MAX_PAGE, search_members

__all__ = [
    "CHANNELS",
    "EXTERNAL_REF_MAX",
    "INVITE_ALPHABET",
    "MAX_PAGE",
    "enrol_member",
    "enrolment_key",
    "find_member",
    "mark_reachable",
    "mark_unreachable",
    "opt_in",
    "opt_out",
    "register_contact",
    "search_members",
    "set_locale",
    "sign_up",
    "update_profile",
]
