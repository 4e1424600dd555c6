"""The purchase summary the models are fitted on (local days, recency, age, the time unit)
and RFM scores and segments. Pure computation: no database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.prediction import SEGMENTS
from core.prediction.rfm import SEGMENT_RULES, quintile_scores, segment_for
from core.prediction.summary import choose_time_unit, summarise
from tests.support.moments import TAIPEI, at

# --- the purchase summary ---------------------------------------------------------------


def test_purchases_on_one_local_day_are_one_transaction_with_the_amounts_summed() -> None:
    purchases = {
        "ann": [
            (at("2026-01-01", 9), 100),
            (at("2026-01-11", 9), 30),
            (at("2026-01-11", 13), 20),
            (at("2026-01-11", 21), 50),
        ]
    }
    summary = summarise(purchases, as_of=at("2026-01-21"), tz=TAIPEI, unit="day")
    assert summary.x.tolist() == [1]
    assert summary.m.tolist() == [100.0]
    assert summary.total.tolist() == [200.0]


def test_days_are_local_days_in_the_given_time_zone() -> None:
    # 23:30 and 00:30 UTC are two UTC days but one Taipei day (07:30 and 08:30).
    late = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    purchases = {"ann": [(late, 10), (late + timedelta(hours=1), 10)]}
    as_of = datetime(2026, 1, 20, tzinfo=UTC)
    assert summarise(purchases, as_of=as_of, tz="Asia/Taipei", unit="day").x.tolist() == [0]
    assert summarise(purchases, as_of=as_of, tz="UTC", unit="day").x.tolist() == [1]


def test_recency_and_age_run_from_the_first_purchase_day() -> None:
    purchases = {
        "ann": [(at("2026-01-05", 23), 10), (at("2026-01-12", 1), 10), (at("2026-01-26"), 10)]
    }
    as_of = at("2026-02-04", 8)
    days = summarise(purchases, as_of=as_of, tz=TAIPEI, unit="day")
    assert (days.x[0], days.t_x[0], days.T[0]) == (2, 21, 30)
    assert days.recency.tolist() == [9]
    weeks = summarise(purchases, as_of=as_of, tz=TAIPEI, unit="week")
    assert (weeks.t_x[0], weeks.T[0]) == (3.0, pytest.approx(30 / 7))


def test_purchases_after_as_of_are_ignored_and_later_first_buyers_left_out() -> None:
    purchases = {
        "ann": [(at("2026-01-01"), 10), (at("2026-01-08"), 10), (at("2026-01-15", 18), 99)],
        "bob": [(at("2026-01-16"), 10)],
        "cat": [],
    }
    summary = summarise(purchases, as_of=at("2026-01-15", 17), tz=TAIPEI, unit="day")
    assert summary.ids == ("ann",)
    assert (summary.x[0], summary.t_x[0], summary.T[0], summary.m[0]) == (1, 7, 14, 10)


def test_mean_value_covers_the_repeat_days_only_and_is_undefined_without_one() -> None:
    purchases = {
        "ann": [(at("2026-01-01"), 500), (at("2026-01-03"), 20), (at("2026-01-09"), 40)],
        "bob": [(at("2026-01-02"), 70), (at("2026-01-02", 15), 30)],
    }
    summary = summarise(purchases, as_of=at("2026-01-10"), tz=TAIPEI, unit="day")
    assert summary.m[0] == 30.0
    assert math.isnan(summary.m[1])
    assert summary.total.tolist() == [560.0, 100.0]
    assert summary.repeaters.tolist() == [True, False]


def test_time_unit_is_weeks_once_the_median_member_is_older_than_eight_weeks() -> None:
    assert choose_time_unit([10, 20, 56]) == "day"
    assert choose_time_unit([10, 57, 300]) == "week"
    assert choose_time_unit([]) == "day"
    young = {"ann": [(at("2026-01-01"), 1)]}
    assert summarise(young, as_of=at("2026-02-01"), tz=TAIPEI).unit == "day"
    assert summarise(young, as_of=at("2026-06-01"), tz=TAIPEI).unit == "week"


# --- RFM --------------------------------------------------------------------------------

DOCUMENTED_GRID = {  # R = 5 .. 1, F = 1 .. 5, as in the module docstring
    5: ["new", "potential", "potential", "champions", "champions"],
    4: ["potential", "potential", "potential", "champions", "champions"],
    3: ["potential", "potential", "potential", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "at_risk"],
    1: ["lost", "lost", "at_risk", "at_risk", "at_risk"],
}


def test_every_recency_frequency_pair_has_exactly_one_segment() -> None:
    for r in range(1, 6):
        for f in range(1, 6):
            matching = [name for name, rule in SEGMENT_RULES if rule(r, f)]
            assert len(matching) == 1, (r, f, matching)
            assert segment_for(r, f) == DOCUMENTED_GRID[r][f - 1]
    assert {segment_for(r, f) for r in range(1, 6) for f in range(1, 6)} == set(SEGMENTS)
    with pytest.raises(ValueError):
        segment_for(0, 3)


def test_quintile_scores_on_a_known_set() -> None:
    assert quintile_scores(range(10, 110, 10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    recency = quintile_scores([3, 100, 40, 7, 60], higher_is_better=False)
    assert recency.tolist() == [5, 1, 3, 4, 2]


def test_tied_values_share_a_score_whatever_the_order() -> None:
    values = np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert quintile_scores(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    order = np.random.default_rng(0).permutation(10)
    assert quintile_scores(values[order]).tolist() == quintile_scores(values)[order].tolist()
