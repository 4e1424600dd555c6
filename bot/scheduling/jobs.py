"""The scheduled jobs: plain functions of a session, a clock and the programme.

Each job does its work in batches, one transaction per batch (the use cases commit), and
is safe to run again at any time: a second run, or two overlapping runs after a leader
change, find nothing left to do or are stopped by the use cases' idempotency keys.
The scheduler (bot/scheduling/scheduler.py) only decides when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from core.automations import Sending, run_automation, warn_points_expiry
from core.campaigns import launch_due_campaigns
from core.coupons import expire_coupons
from core.funnel import update_risk
from core.kernel import Clock
from core.models import InboundUpdate
from core.points import expire_points, release_pending_points
from core.prediction import score_members_job
from core.programme import Automation, Programme
from core.tiers import collect_tier_warnings, review_tiers

Counts = dict[str, int]
MAX_ROUNDS = 200  # batches per run; whatever is left waits for the next run
INBOUND_KEEP_DAYS = 30  # platforms redeliver within hours; a month is ample for support
PURGE_BATCH = 5000


class Job(Protocol):
    """A job: its own session, the clock and programme, and how messages are sent."""

    def __call__(
        self, session: Session, *, clock: Clock, programme: Programme, sending: Sending
    ) -> Counts: ...


def release_pending(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Purchase points whose return window has passed become spendable."""
    return _repeat(
        lambda: release_pending_points(session, clock=clock).model_dump(), until="members"
    )


def expire_old_points(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Expiry entries for points past their date, oldest first."""
    return _repeat(lambda: expire_points(session, clock=clock).model_dump(), until="members")


def warn_expiring_points(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """ "N points expire on DATE", into the outbox, once per member per expiry date."""
    result = warn_points_expiry(session, clock=clock, programme=programme, sending=sending)
    return result.model_dump(exclude={"automation"})


def expire_old_coupons(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Active coupons past their time become expired."""
    return _repeat(lambda: expire_coupons(session, clock=clock).model_dump(), until="grants")


def update_member_risk(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Buyers without a recent purchase become at risk, then lapsed."""

    def once() -> Counts:
        result = update_risk(session, clock=clock, programme=programme)
        return result.model_dump() | {"changed": result.changed}

    return _repeat(once, until="changed")


def review_member_tiers(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """The tier review, then the warnings: members due for review keep their tier or, if
    warned before, drop; the unwarned are postponed by the warning period. Then everyone
    whose review is within the warning period and who would drop is warned (the
    tier-downgrade-warning automation's message; with it off, only the mark the review
    needs). Reviewing first means a warning always comes a warning period before the drop."""
    counts: Counts = {"reviewed": 0, "kept": 0, "downgraded": 0, "warned": 0}
    for _ in range(MAX_ROUNDS):
        review = review_tiers(session, clock=clock, programme=programme)
        counts["reviewed"] += review.reviewed
        counts["kept"] += review.kept
        counts["downgraded"] += len(review.downgraded)
        if review.reviewed == 0:  # the reviewed get a new review date, so this ends
            break
    warning = next(
        (a for a in programme.automations if a.kind == "tier_downgrade_warning" and a.enabled),
        None,
    )
    if warning is not None:
        result = run_automation(
            session, clock=clock, programme=programme, automation=warning, sending=sending
        )
        counts["warned"] = result.due
    else:
        counts["warned"] = len(collect_tier_warnings(session, clock=clock, programme=programme))
    return counts


def purge_inbound_updates(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Forget webhook updates handled more than INBOUND_KEEP_DAYS ago (their dedupe rows)."""
    table = InboundUpdate.__table__  # type: ignore[attr-defined]
    cutoff = clock.now() - timedelta(days=INBOUND_KEEP_DAYS)
    deleted = 0
    for _ in range(MAX_ROUNDS):
        batch = (
            sa.select(table.c.id)
            .where(table.c.status == "done", table.c.processed_at < cutoff)
            .order_by(table.c.id)
            .limit(PURGE_BATCH)
        )
        result = session.execute(sa.delete(table).where(table.c.id.in_(batch.scalar_subquery())))
        session.commit()
        count = result.rowcount or 0  # type: ignore[attr-defined]
        deleted += count
        if count < PURGE_BATCH:
            break
    return {"deleted": deleted}


def automation_job(automation: Automation) -> Job:
    """The job that runs one automation of the programme."""

    def job(session: Session, *, clock: Clock, programme: Programme, sending: Sending) -> Counts:
        # The programme's own copy, so a job built before a config change runs the new one.
        current = next((a for a in programme.automations if a.code == automation.code), None)
        if current is None or not current.enabled:
            return {"enqueued": 0}
        result = run_automation(
            session, clock=clock, programme=programme, automation=current, sending=sending
        )
        return result.model_dump(exclude={"automation"})

    job.__name__ = f"automation_{automation.code}"
    return job


def launch_campaigns(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Scheduled and recurring campaigns whose time has come write their deliveries (the
    delivery workers send them); launches a crash cut short are finished."""
    launched = launch_due_campaigns(session, clock=clock, channels=sending.channels)
    return {"campaigns": len(launched), "targeted": sum(run.targeted for run in launched)}


def score_members(
    session: Session, *, clock: Clock, programme: Programme, sending: Sending
) -> Counts:
    """Refit the churn / lifetime-value model and rescore every buyer (RFM segments too)."""
    return score_members_job(session, clock=clock, programme=programme)


HOUSEKEEPING: dict[str, Job] = {
    "launch_campaigns": launch_campaigns,
    "release_pending": release_pending,
    "expire_points": expire_old_points,
    "warn_expiring_points": warn_expiring_points,
    "expire_coupons": expire_old_coupons,
    "update_risk": update_member_risk,
    "tier_review": review_member_tiers,
    "purge_inbound": purge_inbound_updates,
    "score_members": score_members,
}


def _repeat(once: Callable[[], Counts], *, until: str) -> Counts:
    """Run a batch use case until a batch finds nothing (field `until` is 0); sum counts."""
    total: Counts = {}
    for _ in range(MAX_ROUNDS):
        counts = once()
        for key, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
        if not counts.get(until):
            break
    return total
