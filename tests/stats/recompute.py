"""Every stat recomputed from scratch over the base tables, in plain Python, written apart
from core.stats (no aggregate table, no shared helper) so the two can be compared."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from core.kernel import Database

STAGES = ["awareness", "interest", "decision", "action", "loyalty"]


@dataclass
class Base:
    """The rows stats are made of, as plain tuples."""

    members: list[Any]
    entries: list[Any]
    purchases: list[Any]
    refunds: list[Any]
    grants: list[Any]
    answers: list[Any]
    completions: list[datetime]
    checkins: list[datetime]


def load(db: Database) -> Base:
    def rows(sql: str) -> list[Any]:
        with db.engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]

    def utc(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=ZoneInfo("UTC"))

    def times(found: list[Any], *at: int) -> list[Any]:
        return [tuple(utc(v) if i in at else v for i, v in enumerate(row)) for row in found]

    return Base(
        members=times(
            rows(
                "SELECT id, stage, consent_at, erased_at, last_activity_at, timezone,"
                " purchase_count FROM member"
            ),
            2,
            3,
            4,
        ),
        entries=times(rows("SELECT member_id, stage, channel, entered_at FROM stage_entry"), 3),
        purchases=times(
            rows(
                "SELECT id, member_id, amount_cents, refunded_cents, occurred_at, campaign_id,"
                " variant FROM purchase"
            ),
            4,
        ),
        refunds=rows("SELECT purchase_id, amount_cents FROM refund"),
        grants=times(rows("SELECT claimed_at, status, campaign_id, variant FROM coupon_grant"), 0),
        answers=times(
            rows(
                "SELECT a.created_at, a.value_int, a.skipped, q.kind FROM survey_answer a"
                " JOIN survey_question q ON q.id = a.question_id"
            ),
            0,
        ),
        completions=[
            utc(row[0])
            for row in rows(
                "SELECT completed_at FROM survey_progress WHERE completed_at IS NOT NULL"
            )
        ],
        checkins=[utc(row[0]) for row in rows("SELECT created_at FROM checkin")],
    )


def day_of(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def expected_funnel(base: Base, *, tz: ZoneInfo, now: datetime, days: int | None) -> dict:
    since = day_of(now, tz) - timedelta(days=days - 1) if days else None
    entered = Counter()
    channels = Counter()
    for _member, stage, channel, at in base.entries:
        if since is None or day_of(at, tz) >= since:
            entered[stage] += 1
            if stage == "interest":
                channels[channel] += 1
    at_stage = Counter(member[1] for member in base.members)
    stages = []
    for index, stage in enumerate(STAGES):
        before = entered[STAGES[index - 1]] if index else 0
        stages.append(
            {
                "stage": stage,
                "entered": entered[stage],
                "current": at_stage[stage],
                "conversion_from_previous": entered[stage] / before if before else None,
            }
        )
    drops = [
        (1 - s["conversion_from_previous"], -i, f"{STAGES[i - 1]}→{s['stage']}")
        for i, s in enumerate(stages)
        if s["conversion_from_previous"] is not None
    ]
    return {
        "since": since,
        "stages": stages,
        "biggest_drop": max(drops)[2] if drops else None,
        "new_members_by_channel": dict(sorted(channels.items())),
        "empty": not any(stage == "interest" for _m, stage, _c, _a in base.entries),
    }


def expected_cohort(
    base: Base, *, tz: ZoneInfo, stage: str, start: date, end: date, within: int
) -> tuple[int, int]:
    """(entered `stage` from start to end, of whom entered the next stage within `within`
    local days)."""
    following = STAGES[STAGES.index(stage) + 1]
    by_member: dict[int, dict[str, datetime]] = defaultdict(dict)
    for member, entry_stage, _channel, at in base.entries:
        by_member[member][entry_stage] = at
    entered = converted = 0
    for stages in by_member.values():
        if stage not in stages or not start <= day_of(stages[stage], tz) <= end:
            continue
        entered += 1
        if following in stages:
            gap = (day_of(stages[following], tz) - day_of(stages[stage], tz)).days
            converted += gap <= within
    return entered, converted


def first_two(base: Base) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = defaultdict(list)
    for _id, member, _amount, _refunded, at, _campaign, _variant in base.purchases:
        times[member].append(at)
    return {member: sorted(found)[:2] for member, found in times.items()}


def expected_kpis(base: Base, *, tz: ZoneInfo, now: datetime, days: int) -> dict:
    today = day_of(now, tz)
    since = today - timedelta(days=days - 1)

    def recent(at: datetime) -> bool:
        return day_of(at, tz) >= since

    window = [p for p in base.purchases if recent(p[4])]
    revenue = Decimal(sum(p[2] - p[3] for p in window)) / 100
    purchase_days = {p[0]: p[4] for p in base.purchases}
    refunds = [r for r in base.refunds if recent(purchase_days[r[0]])]
    claimed = [g for g in base.grants if recent(g[0])]
    buyers = first_two(base)
    figures: dict[str, Any] = {
        "members": sum(1 for m in base.members if m[2] is not None and m[3] is None),
        "active_7d": sum(1 for m in base.members if m[4] and m[4] >= now - timedelta(days=7)),
        "active_30d": sum(1 for m in base.members if m[4] and m[4] >= now - timedelta(days=30)),
        "purchases": len(window),
        "revenue": revenue,
        "average_order_value": (revenue / len(window)).quantize(Decimal("0.01"))
        if window
        else None,
        "coupons_claimed": len(claimed),
        "coupons_redeemed": sum(1 for g in claimed if g[1] == "redeemed"),
        "since": since,
        "new_buyers": sum(1 for times in buyers.values() if recent(times[0])),
        "refunds": len(refunds),
        "refunded": Decimal(sum(r[1] for r in refunds)) / 100,
        "buyers": len(buyers),
        "repeat_buyers": sum(1 for times in buyers.values() if len(times) == 2),
        "surveys_completed": sum(1 for at in base.completions if recent(at)),
        "checkins": sum(1 for at in base.checkins if recent(at)),
        "empty": not buyers and not any(m[2] for m in base.members),
    }
    figures["redemption_rate"] = figures["coupons_redeemed"] / len(claimed) if claimed else None
    figures["repeat_rate"] = figures["repeat_buyers"] / len(buyers) if buyers else None
    for span in (30, 90):
        matured = [t for t in buyers.values() if day_of(t[0], tz) <= today - timedelta(span + 1)]
        back = [t for t in matured if len(t) == 2 and t[1] - t[0] <= timedelta(days=span)]
        figures[f"retention_{span}d_buyers"] = len(matured)
        figures[f"retention_{span}d"] = len(back) / len(matured) if matured else None
    scores = [
        value
        for at, value, skipped, kind in base.answers
        if kind == "nps" and not skipped and value is not None and recent(at)
    ]
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    figures |= {
        "nps_promoters": promoters,
        "nps_passives": len(scores) - promoters - detractors,
        "nps_detractors": detractors,
        "nps": 100 * (promoters - detractors) / len(scores) if scores else None,
    }
    return figures


def expected_buyer_cohorts(base: Base, *, tz: ZoneInfo) -> set[tuple]:
    """buyer_cohort rows as aggregate_rows reads them."""
    cohorts: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for times in first_two(base).values():
        row = cohorts[day_of(times[0], tz)]
        gap = times[1] - times[0] if len(times) == 2 else None
        row[0] += 1
        row[1] += gap is not None
        row[2] += gap is not None and gap <= timedelta(days=30)
        row[3] += gap is not None and gap <= timedelta(days=90)
    return {(str(day), *(str(v) for v in row)) for day, row in cohorts.items()}


def expected_campaign_counts(base: Base) -> dict[tuple[int, str, str], int]:
    counts: Counter[tuple[int, str, str]] = Counter()
    for _at, status, campaign, variant in base.grants:
        if campaign is not None:
            counts[(campaign, variant or "", "claimed")] += 1
            counts[(campaign, variant or "", "redeemed")] += status == "redeemed"
    for _id, _member, amount, _refunded, _at, campaign, variant in base.purchases:
        if campaign is not None:
            counts[(campaign, variant or "", "purchases")] += 1
            counts[(campaign, variant or "", "revenue_cents")] += amount
    return {key: value for key, value in counts.items() if value}


def aggregate_rows(db: Database) -> dict[str, set[tuple]]:
    """Every aggregate table's rows, zero counters left out (an increment and its undo in
    one table leave a zero row that a recomputation never writes)."""
    found: dict[str, set[tuple]] = {}
    tables = {
        "funnel_daily": ("day, stage, channel", "entered"),
        "stats_daily": ("day, metric", "value"),
        "stage_cohort": ("stage, entered_day, days_to_next", "members"),
        "campaign_counter": ("campaign_id, variant, metric", "value"),
        "buyer_cohort": ("first_day", "buyers, repeaters, repeat_30d, repeat_90d"),
    }
    with db.engine.connect() as connection:
        for name, (keys, values) in tables.items():
            rows = connection.execute(sa.text(f"SELECT {keys}, {values} FROM {name}"))
            width = len(keys.split(","))
            found[name] = {
                tuple(str(v) for v in row)
                for row in rows
                if any(value != 0 for value in row[width:])
            }
    return found
