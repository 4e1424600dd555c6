"""The rules every outbox send obeys at the moment it is claimed: opt-out, reachability,
quiet hours in the member's time zone, and the frequency cap on promotions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from core.kernel import as_utc, zone
from core.models import Delivery
from core.programme import FrequencyCap, QuietHours


@dataclass(frozen=True)
class Recipient:
    """What the rules need to know about a delivery's member at claim time."""

    promotional: bool
    erased: bool
    opted_out: bool
    unreachable: bool  # the member, or the chat account the delivery goes to
    timezone: str


def skip_reason(recipient: Recipient) -> str | None:
    """Why the delivery must not go out at all (status `skipped`), or None."""
    if recipient.erased:
        return "erased"
    if recipient.unreachable:
        return "unreachable"
    if recipient.opted_out and recipient.promotional:
        return "opted_out"
    return None


def quiet_until(now: datetime, timezone: str, quiet: QuietHours) -> datetime | None:
    """The end of the quiet window in the member's time zone when `now` falls inside it
    (the delivery is held until then), else None. The window may wrap midnight
    (21:00–09:00) or not (13:00–14:00); equal start and end means no quiet hours."""
    if quiet.start == quiet.end:
        return None
    tz = zone(timezone)
    local = as_utc(now).astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= clock < quiet.end
    else:
        inside = clock >= quiet.start or clock < quiet.end
    if not inside:
        return None
    day = local.date() if clock < quiet.end else local.date() + timedelta(days=1)
    return _local_instant(day, quiet.end, tz)


def _local_instant(day: object, at: time, tz: object) -> datetime:
    # Built from the wall-clock time in the zone, so a DST change falls where it should;
    # a time that does not exist that day (spring forward) resolves to just after it.
    naive = datetime.combine(day, at)  # type: ignore[arg-type]
    return as_utc(naive.replace(tzinfo=tz))  # type: ignore[arg-type]


def recent_promotions(
    session: Session, *, member_ids: Iterable[int], now: datetime, cap: FrequencyCap
) -> dict[int, int]:
    """Promotional deliveries per member within the cap's period: those sent, and those
    being sent right now (claimed by a sender, result not yet written)."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    since = now - timedelta(days=cap.per_days)
    statement = (
        sa.select(col(Delivery.member_id), sa.func.count())
        .where(
            col(Delivery.member_id).in_(ids),
            col(Delivery.promotional).is_(True),
            sa.or_(
                sa.and_(col(Delivery.status) == "sent", col(Delivery.sent_at) >= since),
                sa.and_(col(Delivery.status) == "sending", col(Delivery.claimed_at) >= since),
            ),
        )
        .group_by(col(Delivery.member_id))
    )
    return {int(member): int(count) for member, count in session.execute(statement)}


def capped(counts: dict[int, int], member_id: int, cap: FrequencyCap) -> bool:
    return counts.get(member_id, 0) >= cap.max_messages
