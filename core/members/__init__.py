"""Members: first contact, sign-up, enrolment by the brand's systems, search, what a
member chose (promotions, language, profile, reachability), and which chat account
reaches them.
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
from core.members.reach import ChatAccount, latest_identity, reaching_account
from core.members.search import MAX_PAGE, search_members

__all__ = [
    "CHANNELS",
    "ChatAccount",
    "EXTERNAL_REF_MAX",
    "INVITE_ALPHABET",
    "MAX_PAGE",
    "enrol_member",
    "enrolment_key",
    "find_member",
    "latest_identity",
    "mark_reachable",
    "mark_unreachable",
    "opt_in",
    "opt_out",
    "reaching_account",
    "register_contact",
    "search_members",
    "set_locale",
    "sign_up",
    "update_profile",
]
