"""The funnel: members per stage, conversion between adjacent stages (as a flow, and for
cohorts of members who entered a stage in a date range), and the biggest drop-off.

Read from `funnel_daily` and `stage_cohort` only; never from the event log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import local_day
from core.models import FunnelDaily, StageCohort
from core.programme import STAGES, Programme
from core.stats.counters import MAX_DAYS_TO_NEXT

MAX_WITHIN_DAYS = MAX_DAYS_TO_NEXT - 1


class StageFigure(BaseModel):
    stage: str
    entered: int
    current: int
    conversion_from_previous: float | None


class Funnel(BaseModel):
    since: date | None
    stages: list[StageFigure]
    biggest_drop: str | None  # "interest→decision"
    new_members_by_channel: dict[str, int]
    empty: bool = False
    """Nobody ever got past first contact: there is nothing to show yet."""


class CohortConversion(BaseModel):
    """Of the members who entered `stage` on a local day from `start` to `end`, how many
    entered `next_stage` at most `within_days` local days after the day they entered
    `stage` (0: the same day)."""

    stage: str
    next_stage: str
    start: date
    end: date
    within_days: int
    entered: int
    converted: int
    rate: float | None
    complete: bool
    """Every member of the cohort has had the full `within_days` to convert."""


def funnel(
    session: Session, *, programme: Programme, now: datetime, days: int | None = None
) -> Funnel:
    """Members who entered each stage (all time, or in the last `days` local days), members
    now at each stage, and conversion between adjacent stages."""
    since = local_day(now, programme.zone) - timedelta(days=days - 1) if days else None
    query = select(
        FunnelDaily.stage, FunnelDaily.channel, sa.func.sum(FunnelDaily.entered)
    ).group_by(FunnelDaily.stage, FunnelDaily.channel)
    if since is not None:
        query = query.where(FunnelDaily.day >= since)
    entered = {stage: 0 for stage in STAGES}
    by_channel: dict[str, int] = {}
    for stage, channel, count in session.exec(query).all():
        entered[stage] += int(count or 0)
        if stage == "interest" and count:
            by_channel[channel] = by_channel.get(channel, 0) + int(count)
    totals = _all_time_entries(session) if since is not None else entered
    figures = []
    for index, stage in enumerate(STAGES):
        following = STAGES[index + 1] if index + 1 < len(STAGES) else None
        previous = entered[STAGES[index - 1]] if index else None
        figures.append(
            StageFigure(
                stage=stage,
                entered=entered[stage],
                # Every member who entered k+1 also entered k, so the difference is who is at k.
                current=totals[stage] - (totals[following] if following else 0),
                conversion_from_previous=(entered[stage] / previous) if previous else None,
            )
        )
    return Funnel(
        since=since,
        stages=figures,
        biggest_drop=biggest_drop(figures),
        new_members_by_channel=dict(sorted(by_channel.items())),
        empty=totals[STAGES[1]] == 0,
    )


def _all_time_entries(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(FunnelDaily.stage, sa.func.sum(FunnelDaily.entered)).group_by(FunnelDaily.stage)
    ).all()
    totals = {stage: 0 for stage in STAGES}
    totals.update({stage: int(count or 0) for stage, count in rows})
    return totals


def biggest_drop(figures: list[StageFigure]) -> str | None:
    """The adjacent pair of stages that loses the largest share of members, "before→after";
    on a tie, the earlier pair."""
    drops = [
        (1 - f.conversion_from_previous, -i, f"{STAGES[i - 1]}→{f.stage}")
        for i, f in enumerate(figures)
        if f.conversion_from_previous is not None
    ]
    return max(drops)[2] if drops else None


def cohort_conversion(
    session: Session,
    *,
    programme: Programme,
    now: datetime,
    stage: str,
    start: date,
    end: date,
    within_days: int,
) -> CohortConversion:
    """Conversion to the next stage of the members who entered `stage` from `start` to `end`
    (local days, both included) within `within_days` local days of entering it."""
    if stage not in STAGES[:-1]:
        raise ValueError(f"no stage follows {stage!r}")
    if not 0 <= within_days <= MAX_WITHIN_DAYS:
        raise ValueError(f"within_days must be 0–{MAX_WITHIN_DAYS}")
    entered = session.exec(
        select(sa.func.coalesce(sa.func.sum(FunnelDaily.entered), 0)).where(
            FunnelDaily.stage == stage, FunnelDaily.day >= start, FunnelDaily.day <= end
        )
    ).one()
    converted = session.exec(
        select(sa.func.coalesce(sa.func.sum(StageCohort.members), 0)).where(
            StageCohort.stage == stage,
            StageCohort.entered_day >= start,
            StageCohort.entered_day <= end,
            col(StageCohort.days_to_next) <= within_days,
        )
    ).one()
    entered, converted = int(entered), int(converted)
    return CohortConversion(
        stage=stage,
        next_stage=STAGES[STAGES.index(stage) + 1],
        start=start,
        end=end,
        within_days=within_days,
        entered=entered,
        converted=converted,
        rate=converted / entered if entered else None,
        complete=end + timedelta(days=within_days) < local_day(now, programme.zone),
    )


def cohort_funnel(
    session: Session,
    *,
    programme: Programme,
    now: datetime,
    start: date,
    end: date,
    within_days: int,
) -> list[CohortConversion]:
    """`cohort_conversion` for every stage that has a next one."""
    return [
        cohort_conversion(
            session,
            programme=programme,
            now=now,
            stage=stage,
            start=start,
            end=end,
            within_days=within_days,
        )
        for stage in STAGES[:-1]
    ]
