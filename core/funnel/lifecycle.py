"""Funnel side states that follow from time passing: at risk and lapsed buyers."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import Clock, run_once
from core.models import Event, JSONType, Member, UTCDateTime
from core.programme import Programme


class RiskResult(BaseModel):
    at_risk: int
    lapsed: int
    active: int
    """Members moved back to active (a purchase usually does that itself)."""

    @property
    def changed(self) -> int:
        return self.at_risk + self.lapsed + self.active


def update_risk(
    session: Session, *, clock: Clock, programme: Programme, limit: int = 5000
) -> RiskResult:
    """The scheduled job: buyers with no purchase for `at_risk_days` become at risk, for
    `lapsed_days` lapsed, and recent ones active; each change is logged once as an event.

    Works set-based (a few statements per run, whatever the member count) and changes at
    most `limit` members a run; run again until it changes none."""
    now = clock.now()
    rule = programme.funnel
    at_risk_since = now - timedelta(days=rule.at_risk_days)
    lapsed_since = now - timedelta(days=rule.lapsed_days)
    last = col(Member.last_purchase_at)
    moves = (
        ("lapsed", last <= lapsed_since),
        ("at_risk", sa.and_(last <= at_risk_since, last > lapsed_since)),
        ("active", last > at_risk_since),
    )

    def work() -> RiskResult:
        counts: dict[str, int] = {}
        room = limit
        for risk, due in moves:
            counts[risk] = _move(session, risk=risk, due=due, limit=room, now=now)
            room -= counts[risk]
        return RiskResult(**counts)

    return run_once(
        session,
        key=None,
        operation="update_risk",
        request={},
        result_type=RiskResult,
        now=now,
        work=work,
    )


def _move(
    session: Session, *, risk: str, due: sa.ColumnElement[bool], limit: int, now: datetime
) -> int:
    if limit <= 0:
        return 0
    ids = list(
        session.exec(
            select(Member.id)
            .where(
                col(Member.last_purchase_at).is_not(None),
                col(Member.erased_at).is_(None),
                Member.risk != risk,
                due,
            )
            .order_by(col(Member.id))
            .limit(limit)
            # Locked, so a purchase racing this job (which makes the member active) waits
            # and is not overwritten; another run of the job skips them.
            .with_for_update(skip_locked=True)
        ).all()
    )
    if not ids:
        return 0
    if risk != "active":
        _log_events(session, member_ids=ids, type=risk, now=now)
    session.execute(
        sa.update(Member)
        .where(col(Member.id).in_(ids))
        .values(risk=risk)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def _log_events(
    session: Session, *, member_ids: list[int | None], type: str, now: datetime
) -> None:
    """One event per member, written in one statement. Not through log_event: becoming at
    risk is not the member's activity, so their last activity time must not move. Moving
    back to active logs nothing here: the purchase that did it has its own event."""
    columns = ("member_id", "channel", "type", "stage", "payload", "created_at")
    # SQLAlchemy's own select: SQLModel's typed one takes at most four columns.
    rows = sa.select(
        col(Member.id),
        sa.literal("system"),
        sa.literal(type),
        col(Member.stage),
        sa.literal({"risk": type}, JSONType),
        sa.literal(now, UTCDateTime),
    ).where(col(Member.id).in_(member_ids))
    session.execute(sa.insert(Event).from_select(columns, rows))
