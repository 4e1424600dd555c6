"""Scoring members from the purchase table: scores stored, segments set, reasons on /member."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.dialogs.score_view import score_fields
from bot.i18n import Translator
from core.campaigns import Segment, audience_count
from core.models import ChannelIdentity, Member, MemberScore, Purchase
from core.prediction import SEGMENTS, NotEnoughPurchases, score_members, score_members_job
from core.prediction.member_scores import MIN_MEMBERS
from core.privacy import erase_member
from tests.conftest import START
from tests.support.chat import ChatUser
from tests.support.history import TRUE_BGNBD, insert_history

N = 600


def run(services, **options):
    with services.database.session() as session:
        return score_members(session, clock=services.clock, programme=services.programme, **options)


def scores(db) -> dict[int, MemberScore]:
    with db.reader() as session:
        return {score.member_id: score for score in session.exec(select(MemberScore)).all()}


def segments(db) -> dict[int, str | None]:
    with db.reader() as session:
        return dict(session.exec(select(Member.id, Member.segment)).all())


@pytest.fixture
def history(services):
    return insert_history(services.database.engine, n=N, as_of=START)


def test_every_buyer_gets_a_score_and_their_segment(services, history):
    result = run(services)
    stored = scores(services.database)
    assert result.scored == len(stored) == N
    assert segments(services.database) == {i: stored[i].segment for i in range(1, N + 1)}
    assert {score.segment for score in stored.values()} <= set(SEGMENTS)
    assert len({score.segment for score in stored.values()}) >= 4
    for score in stored.values():
        assert 0 <= score.churn_risk <= 1 and score.p_alive == pytest.approx(1 - score.churn_risk)
        assert score.expected_value > 0 and score.lifetime_value >= 0
        assert score.time_unit == "week" and score.as_of == START
        assert score.reason == score.facts["reason"]
        assert score.facts["segment"] == score.segment


def test_the_report_has_the_fitted_parameters_near_the_truth(services, history):
    report = run(services).report
    assert report["time_unit"] == "week" and report["members"] == N
    fitted, errors = report["bgnbd"], report["standard_errors"]["bgnbd"]
    for name, true in TRUE_BGNBD.as_dict().items():
        assert abs(fitted[name] - true) < 4 * errors[name] + 0.1 * true, name
    assert report["gamma_gamma"] is not None


def test_one_time_buyers_and_members_who_stopped_get_the_matching_reason(services, history):
    run(services)
    stored = scores(services.database).values()
    one_timers = [score for score in stored if score.facts["repeat_purchases"] == 0]
    assert one_timers and all(score.reason == "no_repeat_yet" for score in one_timers)
    assert all(score.churn_risk == 0 for score in one_timers)
    silent = [score for score in stored if score.reason == "long_silence"]
    assert silent and all(score.churn_risk >= 0.5 for score in silent)
    assert all(score.facts["overdue_ratio"] > 1 for score in silent)


def test_a_new_run_replaces_the_scores_and_later_buyers_are_left_out(services, history):
    run(services)
    with services.database.reader() as session:
        firsts = dict(
            session.exec(
                select(Purchase.member_id, sa.func.min(Purchase.occurred_at)).group_by(
                    Purchase.member_id
                )
            ).all()
        )
    earlier = START - timedelta(weeks=30)
    result = run(services, as_of=earlier)
    bought_by_then = {member for member, first in firsts.items() if first <= earlier}
    stored = scores(services.database)
    assert set(stored) == bought_by_then and result.scored == len(bought_by_then) < N
    assert all(score.as_of == earlier for score in stored.values())
    later = {member for member in firsts if member not in bought_by_then}
    assert all(segments(services.database)[member] is None for member in later)


def test_refunded_purchases_do_not_count_and_erased_members_keep_no_score(services, history):
    with services.database.session() as session:
        session.exec(
            sa.update(Purchase)
            .where(Purchase.member_id == 1)
            .values(refunded_cents=Purchase.amount_cents)
        )
        session.commit()
        erase_member(session, clock=services.clock, member_id=2, actor="test")
    run(services)
    stored = scores(services.database)
    assert 1 not in stored and 2 not in stored and len(stored) == N - 2
    assert segments(services.database)[1] is None and segments(services.database)[2] is None


def test_too_little_history_stores_nothing_and_says_what_is_missing(services):
    insert_history(services.database.engine, n=MIN_MEMBERS - 1, as_of=START)
    with pytest.raises(NotEnoughPurchases) as raised:
        run(services)
    assert raised.value.params["members"] == MIN_MEMBERS - 1
    assert scores(services.database) == {}
    with services.database.session() as session:
        counts = score_members_job(session, clock=services.clock, programme=services.programme)
    assert counts == {"scored": 0}


def test_the_scheduled_job_scores_as_of_now(services, history):
    with services.database.session() as session:
        counts = score_members_job(session, clock=services.clock, programme=services.programme)
    assert counts == {"scored": N}


def test_member_card_shows_churn_risk_value_segment_and_the_reason(services, dialogs, history):
    run(services)
    stored = scores(services.database)
    silent = next(score for score in stored.values() if score.reason == "long_silence")
    staff = ChatUser(dialogs, "staff", language="en")
    text = staff.say(f"/member M{silent.member_id:06d}").reply.as_text()
    facts = silent.facts
    assert f"Churn risk: {round(silent.churn_risk * 100)}%" in text, text
    assert (
        f"Why: no purchase for {facts['days_since_last']} days; usually buys every "
        f"{round(facts['typical_gap_days'])} days"
    ) in text, text
    assert f"Expected value: NT${round(silent.expected_value):,} a purchase" in text, text
    assert "in 12 months" in text
    segment = silent.segment.replace("_", " ")
    assert f"Segment: {segment} (RFM {silent.recency_score}{silent.frequency_score}" in text


def test_reasons_read_in_the_staff_members_language(services, history):
    run(services)
    newcomer = next(s for s in scores(services.database).values() if s.reason == "no_repeat_yet")
    days = newcomer.facts["days_since_last"]
    english = dict(score_fields(Translator("en"), newcomer))
    chinese = dict(score_fields(Translator("zh-TW"), newcomer))
    assert english["Why"].startswith(f"one purchase so far, {days} days ago; ")
    assert chinese["原因"].startswith(f"目前只消費過一次（{days} 天前）")
    assert chinese["流失風險"] == "0%" and chinese["分群"].startswith(
        ("已流失", "沉睡", "潛力", "新")
    )


def test_member_card_without_scores_has_no_prediction_lines(services, dialogs):
    ChatUser(dialogs, "alice", language="en").say("/start")
    text = ChatUser(dialogs, "staff", language="en").say("/member M000001").reply.as_text()
    assert "Tier:" in text and "Churn risk" not in text and "Why:" not in text


def test_erasing_a_member_deletes_their_score_and_segment_at_once(services, history):
    run(services)
    assert 7 in scores(services.database) and segments(services.database)[7] is not None
    with services.database.session() as session:
        erase_member(session, clock=services.clock, member_id=7, actor="test")
    assert 7 not in scores(services.database) and segments(services.database)[7] is None
    assert len(scores(services.database)) == N - 1


def test_rfm_segments_are_campaign_audiences(services, history):
    """A campaign's `rfm` filter reaches exactly the signed-up, reachable members scored so."""
    now = services.clock.now()
    reachable = range(1, 201)
    with services.database.session() as session:
        session.execute(
            sa.update(Member)
            .where(Member.id.in_(reachable))
            .values(consent_version="v1", consent_at=now)
        )
        session.add_all(
            ChannelIdentity(
                member_id=i,
                channel="telegram",
                platform_user_id=str(10_000 + i),
                created_at=now,
                last_seen_at=now,
            )
            for i in reachable
        )
        session.commit()
    run(services)
    stored = scores(services.database)
    for segment in SEGMENTS:
        expected = sum(1 for i in reachable if stored[i].segment == segment)
        with services.database.reader() as session:
            found = audience_count(session, Segment(rfm=[segment]), now, ["telegram"])
        assert found == expected, segment
    assert any(stored[i].segment == "champions" for i in reachable)
