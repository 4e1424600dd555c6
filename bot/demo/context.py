"""What the demo generator needs from the database: coupons on offer, the survey, next ids.

Times inside the generator are naive UTC, the form the database stores: millions of them
are formatted for the inserts, and naive ones format several times faster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from core.models import (
    CouponDefinition,
    CouponGrant,
    LedgerEntry,
    Member,
    Purchase,
    Survey,
    SurveyProgress,
    SurveyQuestion,
)
from core.programme import Eligibility, Programme

# Tables whose ids the generator hands out itself, because other rows refer to them.
ID_TABLES: dict[str, Any] = {
    "member": Member,
    "purchase": Purchase,
    "ledger_entry": LedgerEntry,
    "coupon_grant": CouponGrant,
    "survey_progress": SurveyProgress,
}


@dataclass(frozen=True)
class CouponOffer:
    """A claimable coupon definition, with what a claim needs to check."""

    id: int
    code: str
    kind: str
    min_spend: int
    per_member_limit: int
    points_cost: int
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    eligibility: Eligibility

    def offered_at(self, at: datetime) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until

    def expiry(self, claimed_at: datetime) -> datetime | None:
        """As core.coupons.rules.grant_expiry: end of window or N days, whichever is first."""
        ends = [self.valid_until] if self.valid_until else []
        if self.valid_days:
            ends.append(claimed_at + timedelta(days=self.valid_days))
        return min(ends) if ends else None


@dataclass(frozen=True)
class SurveyForm:
    id: int
    code: str
    reward_points: int
    questions: list[tuple[int, str, str, list[dict[str, str]], bool]]
    """(id, key, kind, choices, required) in order."""


@dataclass
class DemoContext:
    programme: Programme
    now: datetime
    """Naive UTC."""
    offers: list[CouponOffer]
    stock_left: dict[int, int | None]
    survey: SurveyForm | None
    next_ids: dict[str, int] = field(default_factory=dict)
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.zone = self.programme.zone

    def local_day(self, at: datetime) -> date:
        """The programme-local day of a naive UTC time."""
        return at.replace(tzinfo=UTC).astimezone(self.zone).date()

    def take_ids(self, table: str, count: int = 1) -> int:
        """The first of `count` fresh ids for `table`."""
        first = self.next_ids[table]
        self.next_ids[table] = first + count
        return first


def load_context(connection: Connection, *, programme: Programme, now: datetime) -> DemoContext:
    table = CouponDefinition.__table__  # type: ignore[attr-defined]
    definitions = connection.execute(
        sa.select(table).where(table.c.active.is_(True)).order_by(table.c.id)
    ).all()
    offers, stock_left = [], {}
    for row in definitions:
        offers.append(_offer(row))
        stock_left[row.id] = None if row.stock is None else max(0, row.stock - row.claimed)
    return DemoContext(
        programme=programme,
        now=naive_utc(now),
        offers=offers,
        stock_left=stock_left,
        survey=_survey(connection, programme),
        next_ids=next_ids(connection),
    )


def naive_utc(at: datetime) -> datetime:
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def next_ids(connection: Connection) -> dict[str, int]:
    return {
        name: int(
            connection.execute(sa.select(sa.func.coalesce(sa.func.max(model.id), 0))).scalar_one()
        )
        + 1
        for name, model in ID_TABLES.items()
    }


def _offer(row: Any) -> CouponOffer:
    return CouponOffer(
        id=row.id,
        code=row.code,
        kind=row.kind,
        min_spend=row.min_spend,
        per_member_limit=row.per_member_limit,
        points_cost=row.points_cost,
        valid_from=naive_utc(row.valid_from) if row.valid_from else None,
        valid_until=naive_utc(row.valid_until) if row.valid_until else None,
        valid_days=row.valid_days,
        eligibility=Eligibility.model_validate(row.eligibility or {}),
    )


def _survey(connection: Connection, programme: Programme) -> SurveyForm | None:
    """The survey demo members answered: the programme's NPS survey, else its first one."""
    surveys = connection.execute(
        select(Survey.id, Survey.code, Survey.reward_points).where(col(Survey.active).is_(True))
    ).all()
    if not surveys:
        return None
    preferred = [rule.code for rule in programme.surveys if rule.code == "nps"]
    preferred += [rule.code for rule in programme.surveys]
    by_code = {code: (survey_id, reward) for survey_id, code, reward in surveys}
    code = next((code for code in preferred if code in by_code), surveys[0][1])
    survey_id, reward = by_code[code]
    table = SurveyQuestion.__table__  # type: ignore[attr-defined]
    questions = connection.execute(
        sa.select(table.c.id, table.c.key, table.c.kind, table.c.choices, table.c.required)
        .where(table.c.survey_id == survey_id)
        .order_by(table.c.position)
    ).all()
    return SurveyForm(
        id=survey_id,
        code=code,
        reward_points=reward,
        questions=[(q[0], q[1], q[2], list(q[3] or []), bool(q[4])) for q in questions],
    )
