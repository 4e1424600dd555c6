"""Recompute every stats aggregate from the base tables (members, stage entries, purchases,
refunds, coupons, survey answers, check-ins): after a bulk load such as `loyalty demo`, and
as the reference the incrementally kept counters must always equal.

Grouped in the database; only the (small) grouped rows pass through Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from core.kernel import local_day as python_local_day
from core.kernel import zone
from core.models import (
    BuyerCohort,
    CampaignCounter,
    CouponGrant,
    FunnelDaily,
    Member,
    Purchase,
    Refund,
    StageCohort,
    StageEntry,
    StatsDaily,
    SurveyAnswer,
    SurveyProgress,
    SurveyQuestion,
)
from core.models import Checkin as CheckinRow
from core.programme import STAGES, Programme
from core.stats.counters import MAX_DAYS_TO_NEXT, REPEAT_WINDOWS
from core.stats.nps import DETRACTOR_UP_TO, PROMOTER_FROM
from core.stats.sql import as_date, days_between, epoch_microseconds, local_day

AGGREGATES: tuple[type[SQLModel], ...] = (
    BuyerCohort,
    CampaignCounter,
    FunnelDaily,
    StageCohort,
    StatsDaily,
)
Row = dict[str, Any]


def table(model: type[SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def rebuild_aggregates(session: Session, *, programme: Programme | None = None) -> dict[str, int]:
    """Replace every aggregate table's rows by a recomputation; returns rows per table.

    Writes in the caller's transaction; the caller commits. On PostgreSQL the aggregate
    tables are locked first, so a use case committing meanwhile is counted exactly once:
    it waits to apply its increments until the rebuilt rows are committed."""
    zone_ = (programme or Programme()).zone
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        names = ", ".join(table(model).name for model in AGGREGATES)
        session.execute(sa.text(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE"))
    builder = _Builder(session, zone_, dialect)
    rows: dict[type[SQLModel], list[Row]] = {
        BuyerCohort: builder.buyer_cohorts(),
        CampaignCounter: builder.campaign_counters(),
        FunnelDaily: builder.funnel_daily(),
        StageCohort: builder.stage_cohorts(),
        StatsDaily: builder.stats_daily(),
    }
    for model, values in rows.items():
        session.execute(sa.delete(table(model)))
        if values:
            session.execute(sa.insert(table(model)), values)
    return {table(model).name: len(values) for model, values in rows.items()}


class _Builder:
    def __init__(self, session: Session, tz: Any, dialect: str) -> None:
        self.session, self.tz, self.dialect = session, tz, dialect

    def day(self, column: Any) -> Any:
        return local_day(column, self.tz, self.dialect)

    def grouped(
        self, keys: dict[str, Any], sums: dict[str, Any], source: Any, *where: Any
    ) -> Iterable[Row]:
        """Sum `sums` (a column, or None to count rows) grouped by `keys`, over `source`."""
        inner = (
            sa.select(
                *(value.label(name) for name, value in keys.items()),
                *((sa.literal(1) if v is None else v).label(name) for name, v in sums.items()),
            )
            .select_from(source)
            .where(*where)
            .subquery()
        )
        query = sa.select(
            *(inner.c[name] for name in keys),
            *(sa.func.coalesce(sa.func.sum(inner.c[name]), 0) for name in sums),
        ).group_by(*(inner.c[name] for name in keys))
        for found in self.session.execute(query):
            yield dict(zip([*keys, *sums], found, strict=True))

    def funnel_daily(self) -> list[Row]:
        entry = table(StageEntry)
        keys = {"day": self.day(entry.c.entered_at), "stage": entry.c.stage}
        keys["channel"] = entry.c.channel
        rows = self.grouped(keys, {"entered": None}, entry)
        return [row | {"day": as_date(row["day"])} for row in rows]

    def stage_cohorts(self) -> list[Row]:
        entry, following = table(StageEntry).alias("entry"), table(StageEntry).alias("following")
        next_stage = sa.case(dict(zip(STAGES, STAGES[1:], strict=False)), value=entry.c.stage)
        entered_day = self.day(entry.c.entered_at)
        gap = days_between(entered_day, self.day(following.c.entered_at), self.dialect)
        bucket = sa.case((gap > MAX_DAYS_TO_NEXT, MAX_DAYS_TO_NEXT), else_=gap)
        joined = entry.join(
            following,
            sa.and_(following.c.member_id == entry.c.member_id, following.c.stage == next_stage),
        )
        keys = {"stage": entry.c.stage, "entered_day": entered_day, "days_to_next": bucket}
        rows = self.grouped(keys, {"members": None}, joined)
        return [row | {"entered_day": as_date(row["entered_day"])} for row in rows]

    def buyer_cohorts(self) -> list[Row]:
        purchase = table(Purchase)
        rank = sa.func.row_number().over(
            partition_by=purchase.c.member_id, order_by=(purchase.c.occurred_at, purchase.c.id)
        )
        ranked = sa.select(purchase.c.member_id, purchase.c.occurred_at, rank.label("rank"))
        ranked_ = ranked.subquery()
        first_us = epoch_microseconds(ranked_.c.occurred_at, self.dialect)
        pairs = (
            sa.select(
                sa.func.min(ranked_.c.occurred_at).label("first_at"),
                sa.func.min(first_us).label("first_us"),
                sa.func.max(sa.case((ranked_.c.rank == 2, first_us))).label("second_us"),
            )
            .where(ranked_.c.rank <= 2)
            .group_by(ranked_.c.member_id)
            .subquery()
        )
        sums: dict[str, Any] = {
            "buyers": None,
            "repeaters": sa.case((pairs.c.second_us.is_not(None), 1), else_=0),
        }
        for name, window in REPEAT_WINDOWS.items():
            limit = int(window.total_seconds()) * 1_000_000
            within = pairs.c.second_us - pairs.c.first_us <= limit
            sums[name] = sa.case((within, 1), else_=0)
        first_at = sa.type_coerce(pairs.c.first_at, table(Purchase).c.occurred_at.type)
        rows = self.grouped({"first_day": self.day(first_at)}, sums, pairs)
        return [row | {"first_day": as_date(row["first_day"])} for row in rows]

    def campaign_counters(self) -> list[Row]:
        grant, purchase = table(CouponGrant), table(Purchase)
        rows: list[Row] = []
        for source, sums in (
            (grant, {"claimed": None, "redeemed": _when(grant.c.status == "redeemed")}),
            (purchase, {"purchases": None, "revenue_cents": purchase.c.amount_cents}),
        ):
            keys = {
                "campaign_id": source.c.campaign_id,
                "variant": sa.func.coalesce(source.c.variant, ""),
            }
            for row in self.grouped(keys, sums, source, source.c.campaign_id.is_not(None)):
                for metric in sums:
                    rows.append(
                        {
                            "campaign_id": row["campaign_id"],
                            "variant": row["variant"],
                            "metric": metric,
                            "value": int(row[metric]),
                        }
                    )
        return [row for row in rows if row["value"]]

    def stats_daily(self) -> list[Row]:
        totals: Counter[tuple[Any, str]] = Counter()
        for time_column, sums, source, where in self._daily_sources():
            for row in self.grouped({"day": self.day(time_column)}, sums, source, *where):
                for metric in sums:
                    totals[(as_date(row["day"]), metric)] += int(row[metric])
        member = table(Member)
        for erased_at, timezone in self.session.execute(
            sa.select(member.c.erased_at, member.c.timezone).where(
                member.c.consent_at.is_not(None), member.c.erased_at.is_not(None)
            )
        ):
            totals[(python_local_day(erased_at, zone(timezone)), "erasures")] += 1
        return [
            {"day": day, "metric": metric, "value": value}
            for (day, metric), value in sorted(totals.items())
            if value
        ]

    def _daily_sources(self) -> list[tuple[Any, dict[str, Any], Any, tuple[Any, ...]]]:
        purchase, refund, grant = table(Purchase), table(Refund), table(CouponGrant)
        answer, question = table(SurveyAnswer), table(SurveyQuestion)
        progress, checkin, member = table(SurveyProgress), table(CheckinRow), table(Member)
        value = answer.c.value_int
        nps = {
            "nps_promoters": _when(value >= PROMOTER_FROM),
            "nps_passives": _when(sa.and_(value > DETRACTOR_UP_TO, value < PROMOTER_FROM)),
            "nps_detractors": _when(value <= DETRACTOR_UP_TO),
        }
        return [
            (
                purchase.c.occurred_at,
                {"purchases": None, "revenue_cents": purchase.c.amount_cents},
                purchase,
                (),
            ),
            (
                purchase.c.occurred_at,
                {"refunds": None, "refunded_cents": refund.c.amount_cents},
                refund.join(purchase, purchase.c.id == refund.c.purchase_id),
                (),
            ),
            (
                grant.c.claimed_at,
                {"coupons_claimed": None, "coupons_redeemed": _when(grant.c.status == "redeemed")},
                grant,
                (),
            ),
            (
                answer.c.created_at,
                nps,
                answer.join(question, question.c.id == answer.c.question_id),
                (question.c.kind == "nps", sa.not_(answer.c.skipped), value.is_not(None)),
            ),
            (
                progress.c.completed_at,
                {"surveys_completed": None},
                progress,
                (progress.c.completed_at.is_not(None),),
            ),
            (checkin.c.created_at, {"checkins": None}, checkin, ()),
            (member.c.consent_at, {"signups": None}, member, (member.c.consent_at.is_not(None),)),
        ]


def _when(condition: Any) -> Any:
    return sa.case((condition, 1), else_=0)
