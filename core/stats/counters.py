"""The counters behind admin stats, bumped by the use cases inside their own transaction.

Every bump goes through core.kernel.uow.increment, so it is applied just before the use case
commits, in a fixed order, and is rolled back with it. core.stats.rebuild recomputes the
same counters from the base tables; the two must always agree.

`stats_daily` metrics, each dated by a programme-local day:

| metric | counts | dated by |
|---|---|---|
| purchases, revenue_cents | purchases and their amounts | the purchase's time |
| refunds, refunded_cents | refunds and their amounts | the refunded purchase's time |
| coupons_claimed | coupons claimed | the claim |
| coupons_redeemed | coupons redeemed | the coupon's claim (a share of the window's claims) |
| nps_promoters, nps_passives, nps_detractors | NPS answers 9–10, 7–8, 0–6 | the answer |
| surveys_completed | surveys completed | the completion |
| checkins | check-ins | the check-in |
| signups | members who gave consent | the consent |
| erasures | signed-up members erased | the erasure, in the member's own zone |

`buyer_cohort` and `stage_cohort` are described in core.models.stats; `campaign_counter`
holds claimed, redeemed, purchases and revenue_cents per campaign variant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.kernel import increment, local_day, zone
from core.models import (
    BuyerCohort,
    CampaignCounter,
    CouponGrant,
    Member,
    Purchase,
    StageCohort,
    StageEntry,
    StatsDaily,
)
from core.programme import STAGES, Programme
from core.stats.nps import DETRACTOR_UP_TO, PROMOTER_FROM

MAX_DAYS_TO_NEXT = 366
"""The last stage-cohort bucket: converted 366 or more local days after entering."""
REPEAT_WINDOWS = {"repeat_30d": timedelta(days=30), "repeat_90d": timedelta(days=90)}


def bump(session: Session, day: date, metric: str, by: int = 1) -> None:
    """Add `by` to a daily figure when the use case commits."""
    increment(session, StatsDaily, {"day": day, "metric": metric}, "value", by)


def note_stage_entries(
    session: Session, *, member_id: int, entered: list[str], now: datetime, programme: Programme
) -> None:
    """Count each newly entered stage in the cohort of the stage before it: (that stage, the
    day the member entered it, local days it took to move on)."""
    day = local_day(now, programme.zone)
    for stage in entered:
        rank = STAGES.index(stage)
        if rank == 0:
            continue
        previous = STAGES[rank - 1]
        if previous in entered:
            previous_day = day
        else:
            row = session.get(StageEntry, (member_id, previous))
            if row is None:  # stages are entered in order, so this is only defensive
                continue
            previous_day = local_day(row.entered_at, programme.zone)
        keys = {
            "stage": previous,
            "entered_day": previous_day,
            "days_to_next": min((day - previous_day).days, MAX_DAYS_TO_NEXT),
        }
        increment(session, StageCohort, keys, "members")


def note_purchase(session: Session, *, purchase: Purchase, programme: Programme) -> None:
    """A new purchase row, flushed: daily figures, the buyer cohorts, campaign figures."""
    day = local_day(purchase.occurred_at, programme.zone)
    bump(session, day, "purchases")
    bump(session, day, "revenue_cents", purchase.amount_cents)
    _move_buyer(session, purchase=purchase, programme=programme)
    if purchase.campaign_id is not None:
        campaign, variant = purchase.campaign_id, purchase.variant
        _campaign(session, campaign, variant, "purchases", 1)
        _campaign(session, campaign, variant, "revenue_cents", purchase.amount_cents)


def note_refund(session: Session, *, purchase: Purchase, cents: int, programme: Programme) -> None:
    day = local_day(purchase.occurred_at, programme.zone)
    bump(session, day, "refunds")
    bump(session, day, "refunded_cents", cents)


def note_claim(session: Session, *, grant: CouponGrant, programme: Programme) -> None:
    bump(session, local_day(grant.claimed_at, programme.zone), "coupons_claimed")
    if grant.campaign_id is not None:
        _campaign(session, grant.campaign_id, grant.variant, "claimed", 1)


def note_redemption(session: Session, *, grant: CouponGrant, programme: Programme) -> None:
    bump(session, local_day(grant.claimed_at, programme.zone), "coupons_redeemed")
    if grant.campaign_id is not None:
        _campaign(session, grant.campaign_id, grant.variant, "redeemed", 1)


def note_answer(
    session: Session,
    *,
    kind: str,
    value: int | None,
    skipped: bool,
    now: datetime,
    programme: Programme,
) -> None:
    if kind != "nps" or skipped or value is None:
        return
    bump(session, local_day(now, programme.zone), f"nps_{nps_group(value)}")


def nps_group(value: int) -> str:
    if value >= PROMOTER_FROM:
        return "promoters"
    return "detractors" if value <= DETRACTOR_UP_TO else "passives"


def note_survey_completed(session: Session, *, now: datetime, programme: Programme) -> None:
    bump(session, local_day(now, programme.zone), "surveys_completed")


def note_checkin(session: Session, *, now: datetime, programme: Programme) -> None:
    bump(session, local_day(now, programme.zone), "checkins")


def note_signup(session: Session, *, consent_at: datetime, programme: Programme) -> None:
    bump(session, local_day(consent_at, programme.zone), "signups")


def note_erasure(session: Session, *, member: Member, now: datetime) -> None:
    """Erasing is done without the programme at hand; the member's zone is the programme's
    zone of when they joined."""
    if member.consent_at is not None:
        bump(session, local_day(now, zone(member.timezone)), "erasures")


def buyer_figures(times: list[datetime]) -> dict[str, int]:
    """What one buyer adds to the cohort of their first purchase, from their two earliest
    purchase times."""
    if not times:
        return {}
    first, second = times[0], times[1] if len(times) > 1 else None
    figures = {"buyers": 1, "repeaters": int(second is not None)}
    for name, window in REPEAT_WINDOWS.items():
        figures[name] = int(second is not None and second - first <= window)
    return figures


def _move_buyer(session: Session, *, purchase: Purchase, programme: Programme) -> None:
    """Take the buyer out of the cohort figures of their two earliest purchases before this
    one and put them in those after it (an imported purchase may be earlier than all)."""
    earliest = session.exec(
        select(Purchase.id, Purchase.occurred_at)
        .where(Purchase.member_id == purchase.member_id)
        .order_by(col(Purchase.occurred_at), col(Purchase.id))
        .limit(3)
    ).all()
    before = [at for id_, at in earliest if id_ != purchase.id][:2]
    after = [at for _, at in earliest][:2]
    if before == after:
        return
    for times, sign in ((before, -1), (after, 1)):
        if not times:
            continue
        keys: dict[str, Any] = {"first_day": local_day(times[0], programme.zone)}
        for column, value in buyer_figures(times).items():
            if value:
                increment(session, BuyerCohort, keys, column, sign * value)


def _campaign(
    session: Session, campaign_id: int, variant: str | None, metric: str, by: int
) -> None:
    keys = {"campaign_id": campaign_id, "variant": variant or "", "metric": metric}
    increment(session, CampaignCounter, keys, "value", by)
