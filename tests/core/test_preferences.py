from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core.kernel import InvalidInput, MemberNotFound
from core.members import (
    mark_reachable,
    mark_unreachable,
    opt_in,
    opt_out,
    set_locale,
    update_profile,
)
from core.models import Event, Member
from tests.support.members import add_chat_account, new_member


def _events(db, *types: str) -> list[tuple[str, str, dict]]:
    with db.session() as session:
        rows = session.exec(select(Event).where(Event.type.in_(types)).order_by(Event.id)).all()
        return [(row.type, row.channel, row.payload) for row in rows]


def _member(db, member_id: int) -> Member:
    with db.session() as session:
        return session.get(Member, member_id)


def test_opting_out_stops_promotions_until_opting_in(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        result = opt_out(session, clock=clock, member_id=member_id, channel="telegram")
    assert (result.opted_out, result.changed) == (True, True)
    member = _member(db, member_id)
    opted_out_at = clock.now()
    assert (member.opted_out, member.opted_out_at) == (True, opted_out_at)
    clock.advance(hours=1)
    with db.session() as session:
        again = opt_out(session, clock=clock, member_id=member_id, channel="telegram")
    assert again.changed is False
    assert _member(db, member_id).opted_out_at == opted_out_at
    with db.session() as session:
        back = opt_in(session, clock=clock, member_id=member_id, channel="telegram")
    assert (back.opted_out, back.changed) == (False, True)
    member = _member(db, member_id)
    assert (member.opted_out, member.opted_out_at) == (False, None)
    assert _events(db, "opted_out", "opted_in") == [
        ("opted_out", "telegram", {}),
        ("opted_in", "telegram", {}),
    ]


@pytest.mark.parametrize(("given", "stored"), [("en", "en"), ("EN", "en"), ("zh-tw", "zh-TW")])
def test_a_member_can_choose_their_language(db, clock, programme, given, stored):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        set_locale(session, clock=clock, member_id=member_id, locale="en", channel="console")
        result = set_locale(
            session, clock=clock, member_id=member_id, locale=given, channel="console"
        )
    assert result.locale == stored
    assert _member(db, member_id).locale == stored


@pytest.mark.parametrize("locale", ["fr", "", "zh-CN", "english"])
def test_an_unsupported_language_is_refused(db, clock, programme, locale):
    member_id = new_member(db, clock, programme)
    with db.session() as session, pytest.raises(InvalidInput):
        set_locale(session, clock=clock, member_id=member_id, locale=locale, channel="console")
    assert _member(db, member_id).locale == "zh-TW"
    assert _events(db, "locale_changed") == []


def test_a_profile_update_normalises_and_logs_only_field_names(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        result = update_profile(
            session,
            clock=clock,
            member_id=member_id,
            channel="line",
            phone="0912-345-678",
            email=" Alice@Example.COM ",
            birthday="1990-05-17",
        )
    assert result.changed == ["birthday", "email", "phone"]
    member = _member(db, member_id)
    assert (member.phone, member.email, member.birthday) == (
        "+886912345678",
        "Alice@example.com",
        date(1990, 5, 17),
    )
    assert _events(db, "profile_updated") == [
        ("profile_updated", "line", {"fields": ["birthday", "email", "phone"]})
    ]


def test_an_empty_value_clears_a_field_and_none_leaves_it(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        update_profile(
            session, clock=clock, member_id=member_id, channel="line", email="a@example.com"
        )
        update_profile(session, clock=clock, member_id=member_id, channel="line", email="")
    member = _member(db, member_id)
    assert (member.email, member.display_name) == (None, "Alice")


def test_a_birthday_today_in_the_members_time_zone_is_accepted(db, clock, programme):
    member_id = new_member(db, clock, programme)
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # already 3 March in Taipei
    with db.session() as session:
        update_profile(
            session, clock=clock, member_id=member_id, channel="line", birthday="2026-03-03"
        )
    assert _member(db, member_id).birthday == date(2026, 3, 3)


@pytest.mark.parametrize(
    "bad",
    [
        {"phone": "call me"},
        {"phone": "12"},
        {"email": "not-an-email"},
        {"email": "a@b"},
        {"email": "a b@example.com"},
        {"birthday": "2026-03-03"},  # tomorrow in Taipei
        {"birthday": "1899-12-31"},
        {"birthday": "17/05/1990"},
        {"display_name": "x" * 201},
    ],
)
def test_a_bad_profile_value_is_refused_and_nothing_is_written(db, clock, programme, bad):
    member_id = new_member(db, clock, programme)
    good = {"email": "alice@example.com"} if "email" not in bad else {"phone": "0912345678"}
    with db.session() as session, pytest.raises(InvalidInput):
        update_profile(session, clock=clock, member_id=member_id, channel="line", **good, **bad)
    member = _member(db, member_id)
    assert (member.phone, member.email, member.birthday, member.display_name) == (
        None,
        None,
        None,
        "Alice",
    )
    assert _events(db, "profile_updated") == []


def test_a_phone_number_of_another_member_is_refused(db, clock, programme):
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    with db.session() as session:
        update_profile(session, clock=clock, member_id=alice, channel="line", phone="0912345678")
    with db.session() as session, pytest.raises(InvalidInput):
        update_profile(session, clock=clock, member_id=bob, channel="line", phone="+886912345678")
    with db.session() as session:
        update_profile(session, clock=clock, member_id=alice, channel="line", phone="0912345678")
    assert _member(db, bob).phone is None


def test_a_member_is_unreachable_only_when_every_channel_is(db, clock, programme):
    member_id = new_member(db, clock, programme, "tg-1", channel="telegram")
    add_chat_account(db, member_id, "line", "U1", seen=clock.now())

    def mark(action, channel, user_id):
        with db.session() as session:
            return action(session, clock=clock, channel=channel, platform_user_id=user_id)

    first = mark(mark_unreachable, "telegram", "tg-1")
    assert (first.identity_unreachable, first.member_unreachable) == (True, False)
    assert _member(db, member_id).unreachable is False
    assert mark(mark_unreachable, "line", "U1").member_unreachable is True
    assert _member(db, member_id).unreachable is True
    assert mark(mark_unreachable, "line", "U1").changed is False
    back = mark(mark_reachable, "telegram", "tg-1")
    assert (back.identity_unreachable, back.member_unreachable) == (False, False)
    assert _member(db, member_id).unreachable is False
    assert [(t, c) for t, c, _ in _events(db, "blocked", "unblocked")] == [
        ("blocked", "telegram"),
        ("blocked", "line"),
        ("unblocked", "telegram"),
    ]


def test_marking_an_unknown_chat_user_is_not_found(db, clock):
    with db.session() as session, pytest.raises(MemberNotFound):
        mark_unreachable(session, clock=clock, channel="telegram", platform_user_id="nobody")
