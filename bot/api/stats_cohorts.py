"""Cohort conversion over the admin API: of the members who entered a stage in a date
range, how many reached the next stage within N days (from the `stage_cohort` counts)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from bot.api.deps import ClockDep, ProgrammeDep, ReaderDep
from bot.api.errors import ApiRoute, errors
from core.kernel import InvalidInput, local_day
from core.stats import MAX_WITHIN_DAYS, CohortConversion, cohort_conversion, cohort_funnel

router = APIRouter(route_class=ApiRoute)

MAX_RANGE_DAYS = 3650
DEFAULT_RANGE_DAYS = 30
DEFAULT_WITHIN_DAYS = 30
CohortStage = Literal["awareness", "interest", "decision", "action"]


class CohortsReport(BaseModel):
    as_of: datetime
    start: date
    end: date
    within_days: int
    cohorts: list[CohortConversion]
    """One per stage asked for (every stage that has a next one by default)."""


COHORTS_EXAMPLE = {
    "as_of": "2026-03-09T02:00:00Z",
    "start": "2026-01-01",
    "end": "2026-01-31",
    "within_days": 30,
    "cohorts": [
        {
            "stage": "interest",
            "next_stage": "decision",
            "start": "2026-01-01",
            "end": "2026-01-31",
            "within_days": 30,
            "entered": 640,
            "converted": 352,
            "rate": 0.55,
            "complete": True,
        }
    ],
}


@router.get(
    "/cohorts",
    response_model=CohortsReport,
    summary="Conversion of stage cohorts",
    responses={
        200: {"content": {"application/json": {"example": COHORTS_EXAMPLE}}},
        **errors(422),
    },
)
def get_cohorts(
    reader: ReaderDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    stage: Annotated[
        CohortStage | None,
        Query(description="The stage the cohort entered; default: every stage but the last."),
    ] = None,
    start: Annotated[
        date | None,
        Query(
            alias="from", description="First local day of the range; default: 29 days before `to`."
        ),
    ] = None,
    end: Annotated[
        date | None,
        Query(alias="to", description="Last local day of the range (included); default: today."),
    ] = None,
    within_days: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_WITHIN_DAYS,
            description="Converted at most this many local days after entering (0: same day).",
        ),
    ] = DEFAULT_WITHIN_DAYS,
) -> CohortsReport:
    """Of the members who entered `stage` on a local day from `from` to `to`, those who
    entered the next stage within `within_days` local days; `complete` says whether every
    member of the cohort has had the full `within_days` yet."""
    now = clock.now()
    end = end or local_day(now, programme.zone)
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise InvalidInput("`from` is after `to`", start=start.isoformat(), end=end.isoformat())
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"the range is longer than {MAX_RANGE_DAYS} days")
    if stage is None:
        cohorts = cohort_funnel(
            reader, programme=programme, now=now, start=start, end=end, within_days=within_days
        )
    else:
        one = cohort_conversion(
            reader,
            programme=programme,
            now=now,
            stage=stage,
            start=start,
            end=end,
            within_days=within_days,
        )
        cohorts = [one]
    return CohortsReport(as_of=now, start=start, end=end, within_days=within_days, cohorts=cohorts)
