"""The delivery outbox: one row per message to one member, the rules every send obeys
when it is claimed, and the content it carries.
"""

from core.outbox.claims import IN_DOUBT, LEASE, Claim, OutboxRow, claim_due
from core.outbox.content import (
    CLICK_PREFIX,
    ButtonSpec,
    DeliveryContent,
    button_payload,
    campaign_ref,
    parse_content,
)
from core.outbox.deliveries import (
    Click,
    Enqueued,
    enqueue,
    find_delivery,
    forget_member,
    mark_attempted,
    mark_blocked,
    mark_failed,
    mark_sent,
    record_click,
    variant_content,
)

__all__ = [
    "ButtonSpec",
    "CLICK_PREFIX",
    "Claim",
    "Click",
    "DeliveryContent",
    "Enqueued",
    "IN_DOUBT",
    "LEASE",
    "OutboxRow",
    "button_payload",
    "campaign_ref",
    "claim_due",
    "enqueue",
    "find_delivery",
    "forget_member",
    "mark_attempted",
    "mark_blocked",
    "mark_failed",
    "mark_sent",
    "parse_content",
    "record_click",
    "variant_content",
]
