"""Acceptance: for random histories, every stat read from the incrementally kept
aggregates equals a from-scratch recomputation over the base tables (stage entries,
members, purchases, refunds, coupons, answers, check-ins), on SQLite and PostgreSQL; and
`rebuild_aggregates` reproduces the incrementally kept tables exactly."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.kernel import local_day
from core.kernel.clock import FixedClock
from core.stats import cohort_conversion, funnel, kpis, rebuild_aggregates
from tests.conftest import START
from tests.stats.history import World, histories, stats_programme
from tests.stats.recompute import (
    STAGES,
    aggregate_rows,
    expected_buyer_cohorts,
    expected_campaign_counts,
    expected_cohort,
    expected_funnel,
    expected_kpis,
    load,
)

WINDOWS = (1, 7, 30, 365)
KPI_FIELDS = (
    "members",
    "active_7d",
    "active_30d",
    "purchases",
    "revenue",
    "average_order_value",
    "repeat_rate",
    "coupons_claimed",
    "coupons_redeemed",
    "redemption_rate",
    "since",
    "new_buyers",
    "refunds",
    "refunded",
    "buyers",
    "repeat_buyers",
    "retention_30d",
    "retention_30d_buyers",
    "retention_90d",
    "retention_90d_buyers",
    "nps",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "surveys_completed",
    "checkins",
    "empty",
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories,
    timezone=st.sampled_from(["Asia/Taipei", "America/New_York"]),
    cohort=st.tuples(st.integers(0, 3), st.integers(0, 60), st.integers(0, 60), st.integers(0, 40)),
)
def test_every_stat_equals_a_recomputation_from_the_base_tables(db, history, timezone, cohort):
    clock = FixedClock(START)
    programme = stats_programme(timezone)
    world = World(db=db, clock=clock, programme=programme)
    world.prepare()
    for operation in history:
        operation.apply(world)
    clock.advance(hours=1)
    now, tz = clock.now(), programme.zone
    base = load(db)

    with db.reader() as session:
        for days in (None, *WINDOWS):
            figures = funnel(session, programme=programme, now=now, days=days)
            assert figures.model_dump() == expected_funnel(base, tz=tz, now=now, days=days)
        # Later, every buyer's retention windows are over.
        for when, days in itertools.product((now, now + timedelta(days=95)), WINDOWS):
            found = kpis(session, now=when, days=days, programme=programme).model_dump()
            assert {name: found[name] for name in KPI_FIELDS} == expected_kpis(
                base, tz=tz, now=when, days=days
            )
        stage_index, start_back, length, within = cohort
        end = local_day(now, tz) - timedelta(days=start_back)
        start = end - timedelta(days=length)
        stage = STAGES[stage_index]
        conversion = cohort_conversion(
            session,
            programme=programme,
            now=now,
            stage=stage,
            start=start,
            end=end,
            within_days=within,
        )
        assert (conversion.entered, conversion.converted) == expected_cohort(
            base, tz=tz, stage=stage, start=start, end=end, within=within
        )

    kept = aggregate_rows(db)
    assert kept["buyer_cohort"] == expected_buyer_cohorts(base, tz=tz)
    assert {
        (int(c), v, m): int(n) for c, v, m, n in kept["campaign_counter"]
    } == expected_campaign_counts(base)
    with db.session() as session:
        rebuild_aggregates(session, programme=programme)
        session.commit()
    assert aggregate_rows(db) == kept
    assert all(m[6] == len([p for p in base.purchases if p[1] == m[0]]) for m in base.members)
