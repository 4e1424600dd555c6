"""Funnel and KPI figures over the admin API, from the incrementally kept aggregates.

The answers extend the core's figures (`core.stats`) with when they were taken, so a
figure added there appears here without a change to this module.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import field_validator

from bot.api.deps import ClockDep, ProgrammeDep, ReaderDep
from bot.api.errors import ApiRoute, errors
from bot.api.schemas import money
from bot.api.stats_cohorts import router as cohorts_router
from core.stats import Funnel, Kpis, funnel, kpis

router = APIRouter(prefix="/stats", tags=["stats"], route_class=ApiRoute)
router.include_router(cohorts_router)

MAX_DAYS = 3650


class FunnelReport(Funnel):
    as_of: datetime
    days: int | None


class KpisReport(Kpis):
    as_of: datetime
    days: int

    @field_validator("revenue", "average_order_value", "refunded")
    @classmethod
    def _money(cls, value: Decimal | None) -> Decimal | None:
        return money(value) if value is not None else None


FUNNEL_EXAMPLE = {
    "as_of": "2026-03-09T02:00:00Z",
    "days": 30,
    "since": "2026-02-08",
    "stages": [
        {"stage": "awareness", "entered": 1200, "current": 300, "conversion_from_previous": None},
        {"stage": "interest", "entered": 900, "current": 420, "conversion_from_previous": 0.75},
        {"stage": "decision", "entered": 480, "current": 160, "conversion_from_previous": 0.533},
        {"stage": "action", "entered": 320, "current": 200, "conversion_from_previous": 0.667},
        {"stage": "loyalty", "entered": 120, "current": 120, "conversion_from_previous": 0.375},
    ],
    "biggest_drop": "action→loyalty",
    "new_members_by_channel": {"line": 700, "telegram": 200},
    "empty": False,
}
KPIS_EXAMPLE = {
    "as_of": "2026-03-09T02:00:00Z",
    "days": 30,
    "members": 900,
    "active_7d": 310,
    "active_30d": 540,
    "purchases": 410,
    "revenue": "182400.00",
    "average_order_value": "444.88",
    "repeat_rate": 0.375,
    "coupons_claimed": 480,
    "coupons_redeemed": 260,
    "redemption_rate": 0.542,
    "since": "2026-02-08",
    "new_buyers": 95,
    "refunds": 6,
    "refunded": "2310.00",
    "buyers": 1310,
    "repeat_buyers": 491,
    "retention_30d": 0.214,
    "retention_30d_buyers": 1180,
    "retention_90d": 0.352,
    "retention_90d_buyers": 990,
    "nps": 31.5,
    "nps_promoters": 96,
    "nps_passives": 58,
    "nps_detractors": 46,
    "surveys_completed": 188,
    "checkins": 2210,
    "best_campaigns": [
        {
            "campaign_id": 4,
            "name": "Spring latte",
            "launched_at": "2026-02-20T02:00:00Z",
            "targeted": 800,
            "claimed": 210,
            "redeemed": 120,
            "purchases": 95,
            "revenue": "41800.00",
            "redemption_rate": 0.15,
        }
    ],
    "empty": False,
}


@router.get(
    "/funnel",
    response_model=FunnelReport,
    summary="The sales funnel",
    responses={
        200: {"content": {"application/json": {"example": FUNNEL_EXAMPLE}}},
        **errors(422),
    },
)
def get_funnel(
    reader: ReaderDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    days: Annotated[
        int | None,
        Query(ge=1, le=MAX_DAYS, description="The last N programme-local days; default all time."),
    ] = None,
) -> FunnelReport:
    """Members who entered each stage, members now at each stage, conversion between
    adjacent stages, the biggest drop-off, and new members per channel."""
    now = clock.now()
    figures = funnel(reader, programme=programme, now=now, days=days)
    return FunnelReport(**figures.model_dump(), as_of=now, days=days)


@router.get(
    "/kpis",
    response_model=KpisReport,
    summary="Key figures",
    responses={
        200: {"content": {"application/json": {"example": KPIS_EXAMPLE}}},
        **errors(422),
    },
)
def get_kpis(
    reader: ReaderDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="The last N programme-local days.")
    ] = 30,
) -> KpisReport:
    """Members, active members (7 and 30 days), purchases, revenue, average order value,
    first-time buyers, refunds, repeat rate, 30/90-day retention, coupon redemption, NPS,
    survey completions, check-ins and the best campaigns over the window."""
    now = clock.now()
    figures = kpis(reader, now=now, days=days, programme=programme)
    return KpisReport(**figures.model_dump(), as_of=now, days=days)
