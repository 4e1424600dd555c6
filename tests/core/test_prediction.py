"""BG/NBD and Gamma-Gamma: hand-computed values, simulated recovery, lifetime value and the
report (the purchase summary and RFM: test_prediction_summary.py).

Pure computation: no database. Every random draw comes from a fixed seed.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.prediction import SEGMENTS
from core.prediction.bgnbd import BgNbd, fit_bgnbd
from core.prediction.gamma_gamma import GammaGamma, fit_gamma_gamma
from core.prediction.report import fit_models, model_report
from core.prediction.scoring import expected_lifetime_value, explain, predict
from core.prediction.simulate import Simulation, simulate
from core.prediction.summary import summarise
from tests.support.moments import TAIPEI, at

# The CDNOW estimates (weeks) published in the two papers.
CDNOW = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
CDNOW_SPEND = GammaGamma(p=6.25, q=3.74, gamma=15.44)
TRUE = BgNbd(r=0.24, alpha=4.41, a=0.79, b=2.43)


# --- likelihoods against hand computation -----------------------------------------------

HAND_MADE = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (7, 29.43, 38.86), (0, 0.0, 2)]


def bgnbd_log_likelihood_by_hand(model: BgNbd, x: int, t_x: float, T: float) -> float:
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
    a3 = (alpha + T) ** -(r + x)
    a4 = a / (b + x - 1) * (alpha + t_x) ** -(r + x) if x > 0 else 0.0
    return a1 + a2 + math.log(a3 + a4)


def test_bgnbd_log_likelihood_equals_the_formula_computed_by_hand() -> None:
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*HAND_MADE, strict=True))
    expected = sum(bgnbd_log_likelihood_by_hand(CDNOW, *row) for row in HAND_MADE)
    assert CDNOW.log_likelihood(x, t_x, T) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(-36.43650, abs=1e-5)  # pins the number itself


def test_gamma_gamma_log_likelihood_equals_the_formula_computed_by_hand() -> None:
    rows = [(1, 11.77), (2, 22.35), (7, 73.74), (10, 24.24)]
    p, q, g = CDNOW_SPEND.p, CDNOW_SPEND.q, CDNOW_SPEND.gamma
    expected = sum(
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(g)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(g + m * x)
        for x, m in rows
    )
    x, m = (np.array(column) for column in zip(*rows, strict=True))
    assert CDNOW_SPEND.log_likelihood(x, m) == pytest.approx(expected, rel=1e-12)


def test_expected_purchases_match_the_worked_example_of_the_bgnbd_paper() -> None:
    # Fader, Hardie & Lee (2005): x = 2, t_x = 30.43, T = 38.86 weeks -> 1.226 in 39 weeks.
    assert CDNOW.conditional_expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=5e-4
    )


def test_expected_value_shrinks_the_member_mean_towards_the_population_mean() -> None:
    population = 6.25 * 15.44 / 2.74
    assert CDNOW_SPEND.population_mean == pytest.approx(population)
    assert CDNOW_SPEND.conditional_expected_value(0, np.nan) == pytest.approx(population)
    one = CDNOW_SPEND.conditional_expected_value(1, 100.0)
    assert one == pytest.approx(6.25 * (15.44 + 100) / (6.25 + 3.74 - 1))
    many = CDNOW_SPEND.conditional_expected_value(20, 100.0)
    assert population < one < many < 100


def test_closed_form_expectation_agrees_with_integrating_over_the_posterior() -> None:
    x, t_x, T = np.array([0.0, 1, 2, 5, 30]), np.array([0.0, 5, 10, 20, 37]), np.full(5, 38.0)
    t = np.array([39.0, 39, 5, 100, 39])
    integrated = CDNOW._expected_while_alive_by_quadrature(t, x, T)
    closed = CDNOW.conditional_expected_purchases(t, x, t_x, T)
    assert closed == pytest.approx(integrated * CDNOW.probability_alive(x, t_x, T), rel=1e-5)


def test_expectation_stays_finite_where_the_hypergeometric_overflows() -> None:
    # A degenerate fit (a, b in the hundreds: everyone drops out with p ≈ 0.5).
    model = BgNbd(r=1.5, alpha=50.0, a=800.0, b=790.0)
    expected = model.conditional_expected_purchases(365, [2, 0, 1], [20, 0, 30], [59, 59, 59])
    assert np.all(np.isfinite(expected)) and np.all(expected > 0)
    assert np.all(expected < 2)  # ~1 more purchase on average before dropping out at p ≈ 0.5


# --- P(alive) ---------------------------------------------------------------------------


def test_a_member_without_repeat_purchases_is_alive_by_the_model() -> None:
    assert CDNOW.probability_alive([0, 0, 0], [0, 0, 0], [1, 40, 400]).tolist() == [1, 1, 1]
    assert CDNOW.churn_risk(0, 0, 400) == 0


def test_probability_alive_falls_as_the_silence_since_the_last_purchase_grows() -> None:
    T = np.arange(10.0, 200.0, 5.0)
    alive = CDNOW.probability_alive(np.full_like(T, 4), np.full_like(T, 10.0), T)
    assert alive[0] == pytest.approx(1 / (1 + 0.793 / (2.426 + 3)))
    assert np.all(np.diff(alive) < 0)
    assert alive[-1] < 0.05
    assert CDNOW.churn_risk(4, 10, T) == pytest.approx(1 - alive)


def test_frequent_buyers_are_judged_more_sharply_by_the_same_silence() -> None:
    rare, frequent = CDNOW.probability_alive([1, 10], [20, 20], [40, 40])
    assert frequent < rare


# --- against members simulated from the models ------------------------------------------


@pytest.fixture(scope="module")
def population() -> Simulation:
    rng = np.random.default_rng(20050101)
    n = 10_000
    return simulate(
        n=n, bgnbd=TRUE, gamma_gamma=CDNOW_SPEND, T=rng.uniform(27, 39, n), horizon=39, rng=rng
    )


def assert_recovered(estimates: dict[str, float], errors: dict[str, float], truth: dict) -> None:
    """Each estimate within 4 asymptotic standard errors of the truth, and each standard
    error under 20 % of the value so the check has teeth. (Over 200 simulated data sets the
    estimates' spread matched these standard errors to within ~15 %.)"""
    for name, true in truth.items():
        assert errors[name] < 0.2 * true, name
        assert abs(estimates[name] - true) < 4 * errors[name], (name, estimates[name], true)


def test_bgnbd_fit_recovers_the_parameters_it_was_simulated_with(population) -> None:
    x, t_x, T, _ = population.calibration()
    fit = fit_bgnbd(x, t_x, T)
    assert fit.converged
    assert_recovered(fit.model.as_dict(), fit.standard_errors, TRUE.as_dict())
    assert fit.log_likelihood >= TRUE.log_likelihood(x, t_x, T)


def test_gamma_gamma_fit_recovers_the_parameters_it_was_simulated_with(population) -> None:
    x, _, _, m = population.calibration()
    fit = fit_gamma_gamma(x, m)
    assert fit.converged
    assert fit.members == int((x >= 1).sum())
    assert_recovered(fit.model.as_dict(), fit.standard_errors, CDNOW_SPEND.as_dict())


def test_predictions_match_what_simulated_members_did_next(population) -> None:
    x, t_x, T, _ = population.calibration()
    # Given the history each member's alive state is Bernoulli(P(alive)), so the count of
    # living members has standard deviation sqrt(Σ p(1−p)); the same for "bought again".
    alive = TRUE.probability_alive(x, t_x, T)
    assert_close(population.alive_at_T().sum(), alive.sum(), np.sqrt(np.sum(alive * (1 - alive))))
    again = TRUE.probability_of_purchase(39, x, t_x, T)
    bought = population.holdout_purchases() > 0
    assert_close(bought.sum(), again.sum(), np.sqrt(np.sum(again * (1 - again))))
    expected = TRUE.conditional_expected_purchases(39, x, t_x, T)
    actual = population.holdout_purchases()
    assert_close(actual.sum(), expected.sum(), np.sqrt(np.sum((actual - expected) ** 2)))


def assert_close(actual: float, expected: float, standard_error: float) -> None:
    assert abs(actual - expected) < 4 * standard_error, (actual, expected, standard_error)


def test_fit_from_purchase_records_recovers_the_parameters() -> None:
    rng = np.random.default_rng(7)
    n, start = 10_000, datetime(2025, 1, 1, tzinfo=TAIPEI)
    firsts = [start + timedelta(days=float(d)) for d in rng.uniform(0, 84, n)]
    as_of = start + timedelta(weeks=39)
    T = np.array([(as_of - first) / timedelta(weeks=1) for first in firsts])
    sim = simulate(n=n, bgnbd=TRUE, gamma_gamma=CDNOW_SPEND, T=T, rng=rng)
    summary = summarise(sim.purchase_records(firsts, 7), as_of=as_of, tz=TAIPEI)
    assert summary.unit == "week"
    x = sim.calibration()[0]
    # Two purchases on one local day merge: ~1.5 % of members here, all frequent buyers.
    assert np.all(summary.x <= x) and np.mean(summary.x == x) > 0.97
    fit = fit_bgnbd(summary.x, summary.t_x, summary.T)
    assert_recovered(fit.model.as_dict(), fit.standard_errors, TRUE.as_dict())
    spend = fit_gamma_gamma(summary.x, summary.m)
    assert_recovered(spend.model.as_dict(), spend.standard_errors, CDNOW_SPEND.as_dict())


# --- lifetime value, explanations, the report -------------------------------------------


def test_lifetime_value_is_purchases_times_value_and_discounting_lowers_it() -> None:
    x, t_x, T = np.array([0.0, 3, 8]), np.array([0.0, 20, 30]), np.array([30.0, 35, 38])
    value = CDNOW_SPEND.conditional_expected_value(x, np.array([np.nan, 40, 25]))
    plain = expected_lifetime_value(CDNOW, value, x=x, t_x=t_x, T=T, unit_days=7)
    year = 12 * 365.25 / 12 / 7
    assert plain == pytest.approx(CDNOW.conditional_expected_purchases(year, x, t_x, T) * value)
    discounted = expected_lifetime_value(
        CDNOW, value, x=x, t_x=t_x, T=T, unit_days=7, monthly_discount_rate=0.01
    )
    assert np.all(discounted < plain) and np.all(discounted > 0.9 * plain)


def test_lifetime_value_does_not_depend_on_the_time_unit() -> None:
    in_days = BgNbd(r=CDNOW.r, alpha=CDNOW.alpha * 7, a=CDNOW.a, b=CDNOW.b)
    weeks = expected_lifetime_value(CDNOW, 30.0, x=3, t_x=20, T=35, unit_days=7)
    days = expected_lifetime_value(in_days, 30.0, x=3, t_x=140, T=245, unit_days=1)
    assert days == pytest.approx(weeks)


def history(days_between: list[int], amount: float = 50) -> list[tuple[datetime, float]]:
    first = at("2025-01-01")
    return [(first + timedelta(days=int(d)), amount) for d in np.cumsum([0, *days_between])]


def test_explanation_gives_the_facts_behind_the_churn_risk_as_data() -> None:
    rng = np.random.default_rng(3)
    n, start = 500, at("2025-01-01")
    firsts = [start + timedelta(days=float(d)) for d in rng.uniform(0, 60, n)]
    sim = simulate(n=n, bgnbd=TRUE, gamma_gamma=CDNOW_SPEND, T=30, rng=rng)
    purchases = sim.purchase_records(firsts, 7)
    purchases["regular"] = history([21, 21, 21, 21])  # last purchase on day 84
    as_of = start + timedelta(days=179)
    summary = summarise(purchases, as_of=as_of, tz=TAIPEI, unit="day")
    models = fit_models(summary)
    assert models.gamma_gamma is not None
    predictions = predict(summary, models.bgnbd.model, models.gamma_gamma.model)
    facts = explain(summary, predictions, summary.ids.index("regular"))
    assert facts["days_since_last"] == 95
    assert facts["typical_gap_days"] == 21.0
    assert facts["overdue_ratio"] == pytest.approx(95 / 21, abs=0.05)
    assert (facts["repeat_purchases"], facts["purchase_days"]) == (4, 5)
    assert facts["churn_risk"] == pytest.approx(1 - facts["p_alive"], abs=1e-3)
    assert facts["reason"] in ("long_silence", "quieter_than_usual", "buying_as_usual")
    assert facts["segment"] in SEGMENTS
    json.dumps(facts)  # plain data only
    newcomer = explain(summary, predictions, [int(v) for v in summary.x].index(0))
    assert newcomer["reason"] == "no_repeat_yet"
    assert newcomer["typical_gap_days"] is None and newcomer["average_repeat_value"] is None


def test_model_report_has_the_documented_shape() -> None:
    rng = np.random.default_rng(11)
    n, start = 2_000, datetime(2025, 1, 1, tzinfo=UTC)
    firsts = [start + timedelta(days=i % 84) for i in range(n)]
    as_of = start + timedelta(weeks=39)
    T = np.array([(as_of - first) / timedelta(weeks=1) for first in firsts])
    sim = simulate(n=n, bgnbd=TRUE, gamma_gamma=CDNOW_SPEND, T=T, rng=rng)
    summary = summarise(sim.purchase_records(firsts, 7), as_of=as_of, tz="UTC")
    models = fit_models(summary)
    assert models.gamma_gamma is not None
    report = model_report(models, predict(summary, models.bgnbd.model, models.gamma_gamma.model))
    assert report["time_unit"] == "week"
    assert set(report["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(report["gamma_gamma"]) == {"p", "q", "gamma"}
    assert report["members"] == n
    assert sum(segment["members"] for segment in report["segments"].values()) == n
    json.dumps(report)


def test_without_enough_repeat_buyers_values_fall_back_to_own_spend() -> None:
    purchases = {"ann": history([10, 10], 40), "bob": history([], 25), "cat": history([30], 90)}
    summary = summarise(purchases, as_of=at("2025-03-01"), tz=TAIPEI, unit="day")
    models = fit_models(summary)
    assert models.gamma_gamma is None
    predictions = predict(summary, models.bgnbd.model, None)
    assert predictions.expected_value.tolist() == [40.0, 25.0, 90.0]


def test_a_fit_needs_at_least_one_repeat_purchase() -> None:
    with pytest.raises(ValueError):
        fit_bgnbd([0, 0], [0, 0], [5, 9])
