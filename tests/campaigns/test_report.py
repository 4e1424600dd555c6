"""The campaign report and its A/B test (issue 5, acceptance 4): the z statistic and p-value
equal statsmodels' two-proportion z-test on generated outcomes; the verdict says it plainly;
the report counts what was sent and what followed within the attribution window."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlmodel import select
from statsmodels.stats.proportion import proportions_ztest

from bot.app import Services
from core.campaigns import VariantReport, campaign_report
from core.campaigns.report import two_proportion_z_test, verdict
from core.coupons import claim_coupon, redeem_coupon
from core.kernel.clock import FixedClock
from core.models import Delivery
from core.outbox import claim_due, mark_failed, mark_sent
from core.purchases import record_purchase
from tests.campaigns.harness import launch, new_campaign
from tests.campaigns.population import add_people, people


@given(
    trials_a=st.integers(1, 100_000),
    trials_b=st.integers(1, 100_000),
    share_a=st.floats(0, 1),
    share_b=st.floats(0, 1),
)
def test_the_z_test_equals_statsmodels(
    trials_a: int, trials_b: int, share_a: float, share_b: float
) -> None:
    successes_a, successes_b = round(trials_a * share_a), round(trials_b * share_b)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    assume(0 < pooled < 1)

    ours = two_proportion_z_test(successes_a, trials_a, successes_b, trials_b)
    z, p_value = proportions_ztest([successes_a, successes_b], [trials_a, trials_b])

    assert ours is not None
    assert ours.z == pytest.approx(z, rel=1e-9, abs=1e-12)
    assert ours.p_value == pytest.approx(p_value, rel=1e-7, abs=1e-300)


@pytest.mark.parametrize("seed", range(5))
def test_the_verdict_carries_statsmodels_figures_on_simulated_campaigns(seed: int) -> None:
    import random

    rng = random.Random(seed)
    sent_a, sent_b = rng.randint(500, 5_000), rng.randint(500, 5_000)
    rate_a, rate_b = rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2)
    a = VariantReport(name="A", weight=50, sent=sent_a,
                      redeemed=sum(rng.random() < rate_a for _ in range(sent_a)))  # fmt: skip
    b = VariantReport(name="B", weight=50, sent=sent_b,
                      redeemed=sum(rng.random() < rate_b for _ in range(sent_b)))  # fmt: skip

    result = verdict([a, b], "redeemed")
    z, p_value = proportions_ztest([a.redeemed, b.redeemed], [a.sent, b.sent])

    assert result.z == pytest.approx(z) and result.p_value == pytest.approx(p_value)
    assert result.kind == ("winner" if p_value < 0.05 else "no_difference")


def test_the_verdict_in_plain_words() -> None:
    a = VariantReport(name="A", weight=50, sent=1_000, redeemed=81)
    b = VariantReport(name="B", weight=50, sent=1_000, redeemed=120)
    close = VariantReport(name="B", weight=50, sent=1_000, redeemed=90)

    won = verdict([a, b], "redeemed")
    even = verdict([a, close], "redeemed")

    p_won = proportions_ztest([81, 120], [1_000, 1_000])[1]
    assert won.text == f"B beats A on redemption (12.0% vs 8.1%), p = {p_won:.2f}"
    assert (won.kind, won.winner, won.loser) == ("winner", "B", "A")
    assert (won.rate_a, won.rate_b) == (0.081, 0.12)
    p_even = proportions_ztest([81, 90], [1_000, 1_000])[1]
    assert even.text == f"no significant difference yet (p = {p_even:.2f})"
    assert even.kind == "no_difference" and even.winner is None
    assert verdict([a], "redeemed").kind == "not_ab"
    nothing_sent = VariantReport(name="B", weight=50)
    assert verdict([a, nothing_sent], "redeemed").kind == "too_early"


def test_degenerate_rates_give_no_difference() -> None:
    none = two_proportion_z_test(0, 10, 0, 20)
    everyone = two_proportion_z_test(10, 10, 20, 20)
    assert none is not None and (none.z, none.p_value) == (0.0, 1.0)
    assert everyone is not None and (everyone.z, everyone.p_value) == (0.0, 1.0)
    assert two_proportion_z_test(1, 0, 1, 10) is None
    silent = [
        VariantReport(name="A", weight=50, sent=5),
        VariantReport(name="B", weight=50, sent=5),
    ]
    assert verdict(silent, "clicked").model_dump(include={"kind", "p_value"}) == {
        "kind": "no_difference",
        "p_value": 1.0,
    }


def test_the_report_counts_sends_and_what_followed_within_the_window(
    services: Services, clock: FixedClock
) -> None:
    ids = add_people(services.database, people(60, channel=lambda n: "telegram"), now=clock.now())
    campaign = new_campaign(
        services,
        variants=[
            {"name": "A", "weight": 50, "text": "A", "coupon": "COMEBACK100"},
            {"name": "B", "weight": 50, "text": "B", "coupon": "COMEBACK100"},
        ],
        metric="claimed",
        attribution_days=7,
    )
    launch(services, campaign.id, channels=("telegram",))
    with services.database.session() as session:
        claim = claim_due(session, channel="telegram", now=clock.now(), limit=100, worker="t",
                          programme=services.programme)  # fmt: skip
    failed, sent = claim.rows[:2], claim.rows[2:]
    with services.database.session() as session:
        mark_sent(session, delivery_ids=[r.id for r in sent], now=clock.now())
    with services.database.session() as session:
        mark_failed(session, delivery_ids=[r.id for r in failed], reason="Bad Request")
    variant_of = {r.member_id: r.variant for r in claim.rows}
    members = sorted(r.member_id for r in sent)

    clock.advance(days=2)
    claimers = members[:20]
    codes = {}
    for member_id in claimers:
        codes[member_id] = _claim(services, member_id)
    clock.advance(days=2)
    for member_id in claimers[:8]:
        _redeem(services, codes[member_id])
    _buy(services, claimers[0], "o-1")
    clock.advance(days=4)  # 8 days after the send: outside the 7-day window
    for member_id in claimers[8:12]:
        _redeem(services, codes[member_id])
    _buy(services, claimers[1], "o-late")

    with services.database.reader() as session:
        report = campaign_report(session, campaign_id=campaign.id)

    expected = {name: Counter() for name in "AB"}
    for row in claim.rows:
        expected[row.variant]["targeted"] += 1
        expected[row.variant]["failed" if row in failed else "sent"] += 1
    for member_id in claimers:
        expected[variant_of[member_id]]["claimed"] += 1
    for member_id in claimers[:8]:
        expected[variant_of[member_id]]["redeemed"] += 1
    expected[variant_of[claimers[0]]]["purchased"] += 1
    for variant in report.variants:
        figures = expected[variant.name]
        assert (variant.targeted, variant.sent, variant.failed) == (
            figures["targeted"], figures["sent"], figures["failed"],
        )  # fmt: skip
        assert (variant.claimed, variant.redeemed, variant.purchased) == (
            figures["claimed"], figures["redeemed"], figures["purchased"],
        )  # fmt: skip
    assert sum(v.targeted for v in report.variants) == len(ids)
    a, b = report.variants
    z, p_value = proportions_ztest([a.claimed, b.claimed], [a.sent, b.sent])
    assert report.verdict.z == pytest.approx(z) and report.verdict.p_value == pytest.approx(p_value)
    with services.database.reader() as session:
        assert len(session.exec(select(Delivery)).all()) == 60


def _claim(services: Services, member_id: int) -> str:
    with services.database.session() as session:
        result = claim_coupon(
            session, clock=services.clock, programme=services.programme, member_id=member_id,
            coupon_code="COMEBACK100", channel="telegram",
        )  # fmt: skip
    return result.code


def _redeem(services: Services, code: str) -> None:
    with services.database.session() as session:
        redeem_coupon(session, clock=services.clock, programme=services.programme, code=code,
                      actor="staff", channel="console")  # fmt: skip


def _buy(services: Services, member_id: int, order: str) -> None:
    with services.database.session() as session:
        record_purchase(session, clock=services.clock, programme=services.programme,
                        member_id=member_id, amount="300", order_id=order)  # fmt: skip
