import threading
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core.kernel import AlreadyCheckedIn, ConsentRequired
from core.models import Checkin, Event, LedgerEntry, Member, QualifyingEntry
from core.programme import Caps, Programme, defaults
from core.rewards import CheckinResult, check_in
from tests.support.members import new_member


def _check_in(db, clock, programme, member_id) -> CheckinResult:
    with db.session() as session:
        return check_in(
            session, clock=clock, programme=programme, member_id=member_id, channel="console"
        )


def _counts(db, member_id) -> tuple[int, int, int, int]:
    with db.session() as session:
        member = session.get(Member, member_id)
        return (
            len(session.exec(select(Checkin).where(Checkin.member_id == member_id)).all()),
            len(session.exec(select(LedgerEntry).where(LedgerEntry.source == "checkin")).all()),
            len(session.exec(select(Event).where(Event.type == "checkin")).all()),
            member.points_balance,
        )


def test_a_check_in_earns_the_daily_points_and_starts_a_streak(db, clock, programme):
    member_id = new_member(db, clock, programme)
    result = _check_in(db, clock, programme, member_id)
    assert (result.points, result.streak, result.bonus) == (5, 1, 0)
    assert result.local_date == date(2026, 3, 2)
    assert result.next_bonus_in_days == 6
    assert result.next_checkin_at == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Taipei midnight
    assert _counts(db, member_id) == (1, 1, 1, 5)
    with db.session() as session:
        member = session.get(Member, member_id)
        assert (member.checkin_streak, member.last_checkin_on) == (1, date(2026, 3, 2))


def test_a_second_check_in_the_same_local_day_is_refused_and_writes_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    _check_in(db, clock, programme, member_id)
    clock.advance(hours=5)
    with pytest.raises(AlreadyCheckedIn) as refused:
        _check_in(db, clock, programme, member_id)
    assert refused.value.params["streak"] == 1
    assert refused.value.params["next_bonus_in_days"] == 6
    assert refused.value.params["next_checkin_at"] == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert _counts(db, member_id) == (1, 1, 1, 5)


def test_concurrent_check_ins_reward_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    outcomes: list[str] = []
    start = threading.Barrier(10)

    def attempt() -> None:
        start.wait()
        try:
            _check_in(db, clock, programme, member_id)
            outcomes.append("ok")
        except AlreadyCheckedIn:
            outcomes.append("already")

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already"] * 9 + ["ok"]
    assert _counts(db, member_id) == (1, 1, 1, 5)


def test_the_day_changes_at_midnight_in_taipei(db, clock, programme):
    member_id = new_member(db, clock, programme)
    clock.set(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))  # 23:30 in Taipei
    first = _check_in(db, clock, programme, member_id)
    clock.set(datetime(2026, 3, 2, 16, 30, tzinfo=UTC))  # 00:30 the next day in Taipei
    second = _check_in(db, clock, programme, member_id)
    assert (first.local_date, second.local_date) == (date(2026, 3, 2), date(2026, 3, 3))
    assert second.streak == 2


def test_the_day_follows_the_members_own_time_zone(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        session.get(Member, member_id).timezone = "Europe/London"
        session.commit()
    clock.set(datetime(2026, 3, 2, 15, 30, tzinfo=UTC))  # 15:30 in London, 23:30 in Taipei
    assert _check_in(db, clock, programme, member_id).local_date == date(2026, 3, 2)
    clock.set(datetime(2026, 3, 2, 16, 30, tzinfo=UTC))  # still 2 March in London
    with pytest.raises(AlreadyCheckedIn) as refused:
        _check_in(db, clock, programme, member_id)
    assert refused.value.params["next_checkin_at"] == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def test_the_streak_continues_day_after_day_and_restarts_after_a_gap(db, clock, programme):
    member_id = new_member(db, clock, programme)
    streaks = []
    for days in (0, 1, 1, 2, 1):  # check in on days 1, 2, 3, skip day 4, then days 5 and 6
        clock.advance(days=days)
        streaks.append(_check_in(db, clock, programme, member_id).streak)
    assert streaks == [1, 2, 3, 1, 2]
    with db.session() as session:
        assert session.get(Member, member_id).checkin_streak == 2


def test_the_seventh_day_in_a_row_earns_the_streak_bonus(db, clock, programme):
    member_id = new_member(db, clock, programme)
    results = []
    for _ in range(8):
        results.append(_check_in(db, clock, programme, member_id))
        clock.advance(days=1)
    assert [r.points for r in results] == [5, 5, 5, 5, 5, 5, 35, 5]
    assert [r.next_bonus_in_days for r in results] == [6, 5, 4, 3, 2, 1, 7, 6]
    assert results[6].bonus == 30
    assert _counts(db, member_id) == (8, 8, 8, 6 * 5 + 35 + 5)


def test_check_in_points_respect_the_daily_activity_cap(db, clock):
    programme = Programme(caps=Caps(activity_points_per_day=20))
    member_id = new_member(db, clock, programme)
    results = []
    for _ in range(7):
        results.append(_check_in(db, clock, programme, member_id))
        clock.advance(days=1)
    assert (results[6].points, results[6].capped) == (20, True)
    assert results[5].capped is False
    assert _counts(db, member_id)[3] == 6 * 5 + 20


def test_a_check_in_with_the_cap_used_up_keeps_the_streak_but_earns_nothing(db, clock):
    programme = Programme(caps=Caps(activity_points_per_day=0))
    member_id = new_member(db, clock, programme)
    result = _check_in(db, clock, programme, member_id)
    assert (result.points, result.capped, result.streak) == (0, True, 1)
    assert _counts(db, member_id) == (1, 0, 1, 0)


def test_a_check_in_adds_growth_value_when_tiers_count_growth(db, clock):
    programme = Programme(tiers=defaults.tiers().model_copy(update={"basis": "growth"}))
    member_id = new_member(db, clock, programme)
    _check_in(db, clock, programme, member_id)
    with db.session() as session:
        entries = session.exec(select(QualifyingEntry)).all()
        assert [(e.member_id, e.source, e.amount) for e in entries] == [
            (member_id, "checkin", programme.tiers.growth_per_checkin)
        ]


def test_someone_who_has_not_signed_up_cannot_check_in(db, clock, programme):
    member_id = new_member(db, clock, programme, signed_up=False)
    with pytest.raises(ConsentRequired):
        _check_in(db, clock, programme, member_id)
    assert _counts(db, member_id) == (0, 0, 0, 0)
