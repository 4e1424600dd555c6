"""Running the programme's automations: each selects the members due (set-based, a batch
at a time), applies its effect (a birthday gift, coupons marked reminded, members marked
warned) and writes one outbox delivery per member, all in one transaction per batch.

A delivery's dedupe key `a:<code>:<period key>:<member>` makes each automation reach a
member at most once per period, also when runs repeat, overlap (a leader change) or are
retried after a crash; the rules and their period keys are in core.automations.rules and
core.automations.audiences. Nothing is sent from here: the delivery workers drain the
outbox, applying opt-out, quiet hours and the frequency cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.automations.audiences import Batch, Context, Due, day, part
from core.automations.effects import EFFECTS, Effect
from core.automations.rules import RULES
from core.kernel import Clock, run_once
from core.models import LedgerEntry, Member
from core.outbox import Enqueued, enqueue
from core.programme import Automation, Programme

BATCH = 500
MAX_BATCHES = 400  # a run stops here; the next run goes on where the keys say
POINTS_EXPIRY = "points_expiry"


class Render(Protocol):
    def __call__(self, due: Due) -> dict[str, Any]:
        """The message for `due` in every language the programme speaks: the outbox's
        content (`text` per locale and command `buttons`; the coupon is added here)."""
        ...


@dataclass(frozen=True)
class Sending:
    """How automation messages reach members: through the configured chat channels, worded
    by the application's catalogs (core has no texts of its own)."""

    channels: Collection[str]
    render: Render


class AutomationResult(BaseModel):
    automation: str
    due: int = 0
    """Members the automation was due for."""
    enqueued: int = 0
    """New deliveries written (a repeat run writes none)."""
    no_channel: int = 0
    """Due members with no chat account to reach them."""
    points: int = 0
    """Points given (birthday gifts)."""


class _BatchResult(BaseModel):
    due: int
    enqueued: int
    no_channel: int
    points: int
    last_id: int | None


def run_automation(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    automation: Automation,
    sending: Sending,
    batch: int = BATCH,
) -> AutomationResult:
    """Run one automation of the programme now: every member due gets one delivery."""
    rule = RULES[automation.kind]
    now = clock.now()
    ctx = Context(session=session, now=now, programme=programme, automation=automation)

    def select_batch(after_id: int) -> Batch:
        found = rule.select(ctx, after_id, batch)
        if automation.message:  # the programme's own words replace the catalog's
            for due in found.dues:
                due.parts[0] = {"text": automation.message, "params": due.parts[0]["params"]}
        return found

    return _in_batches(
        ctx,
        select_batch,
        EFFECTS.get(automation.kind),
        sending=sending,
        promotional=rule.promotional,
        prefix="a",
    )


def warn_points_expiry(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> AutomationResult:
    """ "N points expire on DATE" for the first date in the warning period on which a
    member's points expire (and how many more expire after it within the period), once
    per member per expiry date: key `w:points_expiry:<date>:<member>`."""
    now = clock.now()
    # Not a configured automation; the context only needs its code (no rolling guard here).
    ctx = Context(
        session=session,
        now=now,
        programme=programme,
        automation=Automation(code=POINTS_EXPIRY, kind="coupon_expiry_reminder", period_days=1),
    )
    horizon = now + timedelta(days=programme.expiry.warning_days)

    def select_batch(after_id: int) -> Batch:
        return _expiring_points(ctx, after_id=after_id, horizon=horizon)

    if not programme.expiry.months or not programme.expiry.warning_days:
        return AutomationResult(automation=POINTS_EXPIRY)
    return _in_batches(ctx, select_batch, None, sending=sending, promotional=False, prefix="w")


def _in_batches(
    ctx: Context,
    select_batch: Callable[[int], Batch],
    effect: Effect | None,
    *,
    sending: Sending,
    promotional: bool,
    prefix: str,
) -> AutomationResult:
    total = AutomationResult(automation=ctx.automation.code)
    after_id = 0
    for _ in range(MAX_BATCHES):

        def work(after_id: int = after_id) -> _BatchResult:
            found = select_batch(after_id)
            points = effect(ctx, found.dues) if effect else 0
            queued = [
                _enqueue(ctx, due, sending=sending, promotional=promotional, prefix=prefix)
                for due in found.dues
                if due.send
            ]
            return _BatchResult(
                due=len(found.dues),
                enqueued=sum(item.created for item in queued),
                no_channel=sum(item.reason == "no_channel" for item in queued),
                points=points,
                last_id=found.last_id,
            )

        # One transaction per batch; a unique-key race (an overlapping run) redoes it.
        result = run_once(
            ctx.session,
            key=None,
            operation=f"automation:{ctx.automation.code}",
            request={},
            result_type=_BatchResult,
            now=ctx.now,
            work=work,
        )
        total.due += result.due
        total.enqueued += result.enqueued
        total.no_channel += result.no_channel
        total.points += result.points
        if result.last_id is None:
            break
        after_id = result.last_id
    return total


def _expiring_points(ctx: Context, *, after_id: int, horizon: datetime) -> Batch:
    session = ctx.session
    member_ids = session.exec(
        select(LedgerEntry.member_id)
        .join(Member, col(Member.id) == LedgerEntry.member_id)
        .where(
            LedgerEntry.remaining > 0,
            col(LedgerEntry.expires_at) > ctx.now,
            col(LedgerEntry.expires_at) <= horizon,
            col(LedgerEntry.member_id) > after_id,
            col(Member.erased_at).is_(None),
            col(Member.consent_at).is_not(None),
            col(Member.unreachable).is_(False),
        )
        .distinct()
        .order_by(col(LedgerEntry.member_id))
        .limit(BATCH)
    ).all()
    if not member_ids:
        return Batch([], None)
    lots = session.exec(
        select(LedgerEntry.member_id, LedgerEntry.remaining, LedgerEntry.expires_at).where(
            col(LedgerEntry.member_id).in_(member_ids),
            LedgerEntry.remaining > 0,
            col(LedgerEntry.expires_at) > ctx.now,
            col(LedgerEntry.expires_at) <= horizon,
        )
    ).all()
    by_member: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, remaining, expires_at in lots:
        by_member[member_id][ctx.local_date(expires_at or horizon)] += remaining
    dues = [_expiry_warning(ctx, m, by_member[m]) for m in member_ids]
    return Batch(dues, max(member_ids))


def _expiry_warning(ctx: Context, member_id: int, points_by_day: dict[date, int]) -> Due:
    """The first day's points, and the rest of the warning period's after it."""
    dates = sorted(points_by_day)
    first = dates[0]
    parts = [
        part("automation.points_expiry", points=points_by_day[first], date=day(first, ctx.zone))
    ]
    later = sum(points_by_day[d] for d in dates[1:])
    if later:
        last = day(dates[-1], ctx.zone)
        parts.append(part("automation.points_expiry_more", points=later, date=last))
    return Due(member_id, first.isoformat(), parts, ["points"])


def _enqueue(
    ctx: Context, due: Due, *, sending: Sending, promotional: bool, prefix: str
) -> Enqueued:
    content = sending.render(due)
    if due.coupon:
        content["coupon"] = due.coupon
    return enqueue(
        ctx.session,
        member_id=due.member_id,
        dedupe_key=f"{prefix}:{ctx.automation.code}:{due.period_key}:{due.member_id}",
        content=content,
        now=ctx.now,
        channels=sending.channels,
        automation=ctx.automation.code,
        promotional=promotional,
    )
