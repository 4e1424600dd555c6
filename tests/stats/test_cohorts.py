"""Cohort conversion (entered a stage in a date range, reached the next within N local
days), the biggest drop-off, and the empty programme."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.kernel import local_day
from core.stats import cohort_conversion, cohort_funnel, funnel, kpis
from core.stats.conversion import StageFigure, biggest_drop
from tests.conftest import START
from tests.stats.support import assert_rebuild_agrees, buy, claim
from tests.support.members import new_member

DAY = timedelta(days=1)


@pytest.fixture
def signed_up_week(db, clock, programme, services):
    """Day 0: ann, bob and cat sign up; cat buys at once (passing `decision` the same day).
    Day 2: ann claims a coupon. Day 5: dan signs up. Day 10: bob claims one."""
    ann, bob, cat = (new_member(db, clock, programme, name) for name in ("ann", "bob", "cat"))
    buy(db, clock, programme, cat, "cat-1")
    clock.set(START + 2 * DAY)
    claim(db, clock, programme, ann)
    clock.set(START + 5 * DAY)
    new_member(db, clock, programme, "dan")
    clock.set(START + 10 * DAY)
    claim(db, clock, programme, bob)
    clock.set(START + 40 * DAY)
    return local_day(START, programme.zone)


def converted(db, clock, programme, stage, start, end, within):
    with db.reader() as session:
        result = cohort_conversion(
            session,
            programme=programme,
            now=clock.now(),
            stage=stage,
            start=start,
            end=end,
            within_days=within,
        )
    return result.entered, result.converted


def test_a_cohort_counts_who_moved_on_within_n_local_days(db, clock, programme, signed_up_week):
    day0 = signed_up_week
    assert converted(db, clock, programme, "interest", day0, day0, 0) == (3, 1)
    assert converted(db, clock, programme, "interest", day0, day0, 1) == (3, 1)
    assert converted(db, clock, programme, "interest", day0, day0, 2) == (3, 2)
    assert converted(db, clock, programme, "interest", day0, day0, 10) == (3, 3)
    assert converted(db, clock, programme, "interest", day0, day0 + 5 * DAY, 30) == (4, 3)
    assert converted(db, clock, programme, "interest", day0 + DAY, day0 + 9 * DAY, 30) == (1, 0)
    assert converted(db, clock, programme, "decision", day0, day0 + 10 * DAY, 0) == (3, 1)
    assert_rebuild_agrees(db, programme)


def test_a_cohort_is_complete_once_everyone_had_the_whole_window(
    db, clock, programme, signed_up_week
):
    day0 = signed_up_week
    with db.reader() as session:
        cohorts = cohort_funnel(
            session, programme=programme, now=clock.now(), start=day0, end=day0, within_days=39
        )
        later = cohort_funnel(
            session, programme=programme, now=clock.now(), start=day0, end=day0, within_days=40
        )
    assert [c.stage for c in cohorts] == ["awareness", "interest", "decision", "action"]
    assert [c.next_stage for c in cohorts] == ["interest", "decision", "action", "loyalty"]
    assert (cohorts[0].complete, later[0].complete) == (True, False)
    assert cohorts[1].rate == 1.0


def test_cohorts_refuse_the_last_stage_and_impossible_windows(db, clock, programme):
    with db.reader() as session:
        for stage, within in (("loyalty", 7), ("nowhere", 7), ("interest", -1), ("interest", 400)):
            with pytest.raises(ValueError):
                cohort_conversion(
                    session,
                    programme=programme,
                    now=clock.now(),
                    stage=stage,
                    start=START.date(),
                    end=START.date(),
                    within_days=within,
                )


def figure(stage, conversion):
    return StageFigure(stage=stage, entered=0, current=0, conversion_from_previous=conversion)


def test_the_biggest_drop_is_the_pair_losing_the_largest_share_and_the_earlier_on_a_tie():
    stages = ["awareness", "interest", "decision", "action", "loyalty"]

    def drop(*conversions):
        return biggest_drop([figure(s, c) for s, c in zip(stages, conversions, strict=True)])

    assert drop(None, 0.5, 0.9, 0.2, 0.6) == "decision→action"
    assert drop(None, 0.5, 0.5, 1, 1) == "awareness→interest"
    assert biggest_drop([figure(s, None) for s in stages]) is None


def test_an_empty_programme_is_flagged_until_someone_signs_up(db, clock, programme):
    def flags():
        with db.reader() as session:
            return (
                funnel(session, programme=programme, now=clock.now()).empty,
                kpis(session, now=clock.now(), programme=programme).empty,
            )

    assert flags() == (True, True)
    new_member(db, clock, programme, "visitor", signed_up=False)
    assert flags() == (True, True)
    new_member(db, clock, programme, "joiner")
    assert flags() == (False, False)
