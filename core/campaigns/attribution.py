"""Last-touch attribution: a coupon claim or a purchase made without naming a campaign is
credited to the member's most recent campaign message that was sent within that
campaign's attribution window. Redemptions inherit their coupon's campaign."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from core.campaigns.definitions import MAX_ATTRIBUTION_DAYS
from core.models import Campaign, Delivery

_T = Delivery.__table__  # type: ignore[attr-defined]
_C = Campaign.__table__  # type: ignore[attr-defined]
LOOK_BACK = 20  # recent sends read; a member does not get more within the longest window


def last_touch(session: Session, *, member_id: int, at: datetime) -> tuple[int, str] | None:
    """(campaign id, variant) of the campaign message that touched the member last before
    `at`, within its campaign's attribution window; None when there is none."""
    rows = session.execute(
        sa.select(_T.c.campaign_id, _T.c.variant, _T.c.sent_at, _C.c.attribution_days)
        .join(_C, _C.c.id == _T.c.campaign_id)
        .where(
            _T.c.member_id == member_id,
            _T.c.status == "sent",
            _T.c.sent_at <= at,
            _T.c.sent_at >= at - timedelta(days=MAX_ATTRIBUTION_DAYS),
        )
        .order_by(_T.c.sent_at.desc(), _T.c.id.desc())
        .limit(LOOK_BACK)
    ).all()
    for campaign_id, variant, sent_at, days in rows:
        if at - sent_at <= timedelta(days=days):
            return int(campaign_id), str(variant)
    return None


def attribute(
    session: Session,
    *,
    member_id: int,
    at: datetime,
    campaign_id: int | None,
    variant: str | None,
) -> tuple[int | None, str | None]:
    """The campaign and variant to record: those given, else the last touch, else none."""
    if campaign_id is not None:
        return campaign_id, variant
    touch = last_touch(session, member_id=member_id, at=at)
    return touch if touch is not None else (None, None)
