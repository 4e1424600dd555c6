"""Who each automation is due for: one set-based query per batch of members (keyset on the
member id), and what the message says (catalog keys and parameters, rendered per member
language by the delivery side).

Every rule returns `Due` rows; `core.automations` writes them into the outbox with the
dedupe key `a:<code>:<period key>:<member id>`. Period keys, per kind:
- welcome, interest_nudge: the local day the member signed up (entered `interest`), which
  happens once, so these fire once per member;
- coupon_expiry_reminder: today's local date (one reminder a day at most; each coupon is
  reminded once: its grant is marked);
- post_purchase: the local day of the purchase thanked for;
- birthday: the member's local year (the gift's ledger key is `birthday:<year>:<member>`);
- member_day: the member day's local date;
- win_back: floor(local days since 1970-01-01 / period_days);
- tier_downgrade_warning: the local day the tier ends (one warning per tier period).
On top of the key, a member who got the automation within its last `period_days` local
days is not due again (the rolling guard), whatever the key says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel import start_of_local_day
from core.models import (
    CouponDefinition,
    CouponGrant,
    Delivery,
    Member,
    StageEntry,
    Survey,
    SurveyProgress,
)
from core.programme import Automation, Programme, Text

EPOCH = date(1970, 1, 1)
RECENT_SIGNUP = timedelta(days=2)  # welcome: sign-ups older than this are not welcomed
NUDGE_WINDOW = timedelta(days=30)  # nudge: only within this long after the delay
PURCHASE_CATCH_UP_DAYS = 2  # thank-you: purchases this many days older still count


@dataclass
class Context:
    session: Session
    now: datetime
    programme: Programme
    automation: Automation

    @property
    def zone(self) -> ZoneInfo:
        return self.programme.zone

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        return start_of_local_day(day, self.zone)


@dataclass
class Due:
    """One member an automation is due for, and what to tell them."""

    member_id: int
    period_key: str
    parts: list[dict[str, Any]]
    """Paragraphs: {"key": catalog key, "params": {...}} (see `part`, `text`, `day`)."""
    commands: list[str] = field(default_factory=list)
    """Buttons that run a member command (points, coupons, survey, tier)."""
    coupon: str | None = None
    """A coupon whose claim button comes first."""
    send: bool = True
    """False: the effect applies (points given, a warning marked) but no message goes out."""
    facts: dict[str, Any] = field(default_factory=dict)
    """What the rule's effect works on (coupon grants to mark reminded, points to give)."""


@dataclass
class Batch:
    """What one batch of a rule found: the members due, and where the next batch starts."""

    dues: list[Due]
    last_id: int | None
    """The last member the batch looked at (the keyset for the next); None: no more."""


def batch_of(dues: list[Due], member_ids: list[int]) -> Batch:
    return Batch(dues, max(member_ids) if member_ids else None)


# --- parameters ---------------------------------------------------------------


def text(value: Text) -> dict[str, Any]:
    """A parameter in the programme's own words: a text per language."""
    return {"text": value}


def day(value: date | datetime, zone: ZoneInfo) -> dict[str, Any]:
    """A parameter shown as a date in the member's language."""
    local = value.astimezone(zone).date() if isinstance(value, datetime) else value
    return {"date": local.isoformat()}


def part(key: str, **params: Any) -> dict[str, Any]:
    """One paragraph of the message: a catalog key and its parameters."""
    return {"key": key, "params": params}


def with_coupon(ctx: Context, due: Due) -> Due:
    due.coupon = ctx.automation.coupon
    return due


def coupon_params(ctx: Context) -> dict[str, object]:
    coupon = ctx.programme.coupon(ctx.automation.coupon or "")
    return {"coupon": text(coupon.title)} if coupon else {}


def day_bucket(day_: date, period_days: int) -> str:
    return str((day_ - EPOCH).days // period_days)


# --- the member filters every rule starts from ------------------------------------------


def audience(ctx: Context, *, promotional: bool, after_id: int) -> list[sa.ColumnElement[bool]]:
    """Signed-up, not erased, reachable members (not opted out, for promotions) who did not
    get this automation within its period, after `after_id` (the keyset)."""
    conditions = [
        col(Member.id) > after_id,
        col(Member.erased_at).is_(None),
        col(Member.consent_at).is_not(None),
        col(Member.unreachable).is_(False),
        not_recently_sent(ctx),
    ]
    if promotional:
        conditions.append(col(Member.opted_out).is_(False))
    return conditions


def not_recently_sent(ctx: Context) -> sa.ColumnElement[bool]:
    """The rolling guard: nothing from this automation within its last period_days local
    days (today included)."""
    since = ctx.day_start(ctx.today - timedelta(days=ctx.automation.period_days - 1))
    return ~sa.exists().where(
        col(Delivery.member_id) == col(Member.id),
        col(Delivery.automation) == ctx.automation.code,
        col(Delivery.created_at) >= since,
    )


def signed_up_between(
    ctx: Context, *, after_id: int, limit: int, earliest: datetime, latest: datetime, stage: str
) -> list[tuple[int, datetime]]:
    """Members who entered `interest` between the two times, now in `stage` or beyond."""
    query = (
        select(Member.id, StageEntry.entered_at)
        .join(
            StageEntry,
            sa.and_(
                col(StageEntry.member_id) == col(Member.id), col(StageEntry.stage) == "interest"
            ),
        )
        .where(
            *audience(ctx, promotional=True, after_id=after_id),
            col(StageEntry.entered_at) > earliest,
            col(StageEntry.entered_at) <= latest,
        )
        .order_by(col(Member.id))
        .limit(limit)
    )
    if stage != "any":
        query = query.where(Member.stage == stage)
    return [(member_id or 0, entered) for member_id, entered in ctx.session.exec(query).all()]


def completed_survey(ctx: Context, member_ids: list[int], survey_code: str) -> set[int]:
    rows = ctx.session.exec(
        select(SurveyProgress.member_id)
        .join(Survey, col(Survey.id) == SurveyProgress.survey_id)
        .where(
            Survey.code == survey_code,
            SurveyProgress.status == "completed",
            col(SurveyProgress.member_id).in_(member_ids),
        )
    ).all()
    return set(rows)


def expiring_grants(
    ctx: Context, *, after_id: int, limit: int, within: timedelta, promotional: bool
) -> dict[int, list[tuple[CouponGrant, CouponDefinition]]]:
    """Per member (a batch of them), their active unreminded coupons expiring within."""
    due = sa.and_(
        col(CouponGrant.status) == "active",
        col(CouponGrant.reminded_at).is_(None),
        col(CouponGrant.expires_at) > ctx.now,
        col(CouponGrant.expires_at) <= ctx.now + within,
    )
    member_ids = ctx.session.exec(
        select(CouponGrant.member_id)
        .join(Member, col(Member.id) == CouponGrant.member_id)
        .where(due, *audience(ctx, promotional=promotional, after_id=after_id))
        .distinct()
        .order_by(col(CouponGrant.member_id))
        .limit(limit)
    ).all()
    grouped: dict[int, list[tuple[CouponGrant, CouponDefinition]]] = {m: [] for m in member_ids}
    if member_ids:
        rows = ctx.session.exec(
            select(CouponGrant, CouponDefinition)
            .join(CouponDefinition, col(CouponDefinition.id) == CouponGrant.definition_id)
            .where(due, col(CouponGrant.member_id).in_(member_ids))
            .order_by(col(CouponGrant.expires_at), col(CouponGrant.id))
        ).all()
        for grant, definition in rows:
            grouped[grant.member_id].append((grant, definition))
    return grouped
