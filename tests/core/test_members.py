"""Members: first contact, sign-up with consent, the funnel stages, finding a member."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from core.funnel.events import stage_entries
from core.kernel import AlreadySignedUp, ConsentRequired, InvalidInput, MemberNotFound
from core.members import find_member, register_contact, sign_up
from core.models import ChannelIdentity, FunnelDaily, Member, StageEntry, TierChange
from tests.conftest import START
from tests.support.ledger import row_counts
from tests.support.members import new_member
from tests.support.points import buy, member

ALL_TABLES = (Member, ChannelIdentity, StageEntry, TierChange, FunnelDaily)


def contact(db, clock, programme, user="u1", channel="telegram", **options):
    with db.session() as session:
        return register_contact(
            session,
            clock=clock,
            programme=programme,
            channel=channel,
            platform_user_id=user,
            **options,
        )


def join(db, clock, programme, member_id, consent_version="current", **options):
    if consent_version == "current":
        consent_version = programme.consent.version
    with db.session() as session:
        return sign_up(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            consent_version=consent_version,
            channel="telegram",
            **options,
        )


def entries_of(db, member_id):
    with db.session() as session:
        return stage_entries(session, member_id)


def funnel_counts(db) -> dict[tuple[date, str, str], int]:
    with db.session() as session:
        return {
            (row.day, row.stage, row.channel): row.entered
            for row in session.exec(select(FunnelDaily)).all()
        }


# First contact


def test_first_contact_creates_a_member_in_awareness(db, clock, programme):
    result = contact(db, clock, programme, display_name="Mei", language="zh-hant")

    assert result.new and not result.signed_up
    assert result.number == "M000001"
    found = member(db, result.member_id)
    assert (found.stage, found.tier, found.locale) == ("awareness", "basic", "zh-TW")
    assert found.display_name == "Mei"
    assert entries_of(db, result.member_id) == {"awareness": START}
    assert funnel_counts(db) == {(date(2026, 3, 2), "awareness", "telegram"): 1}


def test_repeating_first_contact_finds_the_same_member_and_writes_nothing_new(db, clock, programme):
    first = contact(db, clock, programme)
    counts = row_counts(db, ALL_TABLES)
    clock.advance(hours=1)

    again = contact(db, clock, programme)

    assert again.member_id == first.member_id
    assert not again.new
    assert row_counts(db, ALL_TABLES) == counts


def test_the_same_user_id_on_another_channel_is_another_member(db, clock, programme):
    on_telegram = contact(db, clock, programme, user="42", channel="telegram")
    on_line = contact(db, clock, programme, user="42", channel="line")
    assert on_telegram.member_id != on_line.member_id


@pytest.mark.parametrize(
    ("language", "locale"), [("en-US", "en"), ("zh-TW", "zh-TW"), (None, "zh-TW"), ("ja", "zh-TW")]
)
def test_a_member_speaks_the_supported_language_closest_to_the_platforms(
    db, clock, programme, language, locale
):
    result = contact(db, clock, programme, language=language)
    assert member(db, result.member_id).locale == locale


@pytest.mark.parametrize(
    ("channel", "user"), [("whatsapp", "1"), ("telegram", ""), ("telegram", "x" * 129)]
)
def test_first_contact_with_bad_input_is_refused_and_writes_nothing(
    db, clock, programme, channel, user
):
    with pytest.raises(InvalidInput):
        contact(db, clock, programme, user=user, channel=channel)
    assert set(row_counts(db, ALL_TABLES).values()) == {0}


# Sign-up


def test_sign_up_with_the_current_consent_moves_the_member_to_interest(db, clock, programme):
    member_id = contact(db, clock, programme).member_id
    clock.advance(minutes=2)

    result = join(db, clock, programme, member_id, phone="0912-345-678")

    assert result.stage == "interest"
    found = member(db, member_id)
    assert found.consent_version == programme.consent.version
    assert found.consent_at == clock.now()
    assert found.phone == "+886912345678"
    assert found.signed_up


@pytest.mark.parametrize("consent_version", [None, "2025-01"])
def test_sign_up_needs_consent_to_the_current_text(db, clock, programme, consent_version):
    member_id = contact(db, clock, programme).member_id
    counts = row_counts(db, ALL_TABLES)

    with pytest.raises(ConsentRequired):
        join(db, clock, programme, member_id, consent_version=consent_version)

    assert row_counts(db, ALL_TABLES) == counts
    assert member(db, member_id).consent_at is None


def test_signing_up_twice_is_refused(db, clock, programme):
    member_id = new_member(db, clock, programme)
    counts = row_counts(db, ALL_TABLES)

    with pytest.raises(AlreadySignedUp):
        join(db, clock, programme, member_id)

    assert row_counts(db, ALL_TABLES) == counts


def test_sign_up_of_an_unknown_member_is_refused(db, clock, programme):
    with pytest.raises(MemberNotFound):
        join(db, clock, programme, 404)


def test_a_phone_number_of_another_member_is_refused_and_nothing_is_written(db, clock, programme):
    first = contact(db, clock, programme, user="a").member_id
    second = contact(db, clock, programme, user="b").member_id
    join(db, clock, programme, first, phone="0912345678")
    counts = row_counts(db, ALL_TABLES)

    with pytest.raises(InvalidInput):
        join(db, clock, programme, second, phone="+886 912 345 678")

    assert row_counts(db, ALL_TABLES) == counts
    assert member(db, second).consent_at is None


def test_a_malformed_phone_number_is_refused(db, clock, programme):
    member_id = contact(db, clock, programme).member_id
    with pytest.raises(InvalidInput):
        join(db, clock, programme, member_id, phone="call me")
    assert member(db, member_id).consent_at is None


# The funnel


def test_a_first_purchase_right_after_sign_up_enters_every_skipped_stage(db, clock, programme):
    member_id = new_member(db, clock, programme, channel="console")
    clock.advance(days=1)

    buy(db, clock, programme, member_id, 100, "A", channel="line")

    entries = entries_of(db, member_id)
    assert entries == {
        "awareness": START,
        "interest": START,
        "decision": START + timedelta(days=1),
        "action": START + timedelta(days=1),
    }
    assert funnel_counts(db) == {
        (date(2026, 3, 2), "awareness", "console"): 1,
        (date(2026, 3, 2), "interest", "console"): 1,
        (date(2026, 3, 3), "decision", "line"): 1,
        (date(2026, 3, 3), "action", "line"): 1,
    }


def test_a_repeat_purchase_within_the_window_makes_a_loyal_member(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    clock.advance(days=programme.funnel.loyalty_window_days)

    result = buy(db, clock, programme, member_id, 100, "B")

    assert result.stage == "loyalty"
    assert "loyalty" in entries_of(db, member_id)


def test_a_repeat_purchase_after_the_window_stays_in_action(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    clock.advance(days=programme.funnel.loyalty_window_days + 1)

    result = buy(db, clock, programme, member_id, 100, "B")

    assert result.stage == "action"
    assert "loyalty" not in entries_of(db, member_id)


def test_stages_only_move_forward_and_each_is_entered_once(db, clock, programme):
    member_id = new_member(db, clock, programme)
    buy(db, clock, programme, member_id, 100, "A")
    buy(db, clock, programme, member_id, 100, "B")  # loyalty
    clock.advance(days=400)
    buy(db, clock, programme, member_id, 100, "C")  # outside the window: still loyalty

    assert member(db, member_id).stage == "loyalty"
    with db.session() as session:
        rows = session.exec(select(StageEntry).where(StageEntry.member_id == member_id)).all()
    assert sorted(row.stage for row in rows) == sorted(
        ["awareness", "interest", "decision", "action", "loyalty"]
    )
    assert sum(funnel_counts(db).values()) == 5


# Finding a member


def test_a_member_is_found_by_number_phone_external_reference_or_invite_code(db, clock, programme):
    member_id = contact(db, clock, programme).member_id
    join(db, clock, programme, member_id, phone="0912345678")
    with db.session() as session:
        row = session.get(Member, member_id)
        row.external_ref = "POS-CUST-9"
        session.commit()
        invite_code = row.invite_code

    for query in (
        "M000001",
        "m1",
        " M000001 ",
        "0912345678",
        "0912-345-678",
        "+886912345678",
        "POS-CUST-9",
        invite_code.lower(),
    ):
        with db.session() as session:
            assert find_member(session, query).id == member_id, query


@pytest.mark.parametrize("query", ["M000002", "M999999999999", "0987654321", "nobody"])
def test_no_match_is_member_not_found(db, clock, programme, query):
    new_member(db, clock, programme)
    with db.session() as session, pytest.raises(MemberNotFound):
        find_member(session, query)


def test_an_empty_query_asks_which_member(db, clock, programme):
    with db.session() as session, pytest.raises(InvalidInput):
        find_member(session, "   ")


def test_an_erased_member_is_not_found(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        row = session.get(Member, member_id)
        row.erased_at = clock.now()
        session.commit()
    with db.session() as session, pytest.raises(MemberNotFound):
        find_member(session, "M000001")
