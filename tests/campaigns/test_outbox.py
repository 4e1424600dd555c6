"""The outbox: enqueue once per dedupe key, and the send-time rules applied when a sender
claims rows — opt-out, reachability, quiet hours in the member's time zone, frequency cap —
plus stale claims, requeued batches, results and clicks. Frozen clock, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.app import Services
from core.kernel import InvalidInput
from core.kernel.clock import FixedClock
from core.models import ChannelIdentity, Delivery, Event, Member
from core.outbox import (
    Claim,
    claim_due,
    enqueue,
    find_delivery,
    mark_blocked,
    mark_failed,
    mark_sent,
    record_click,
)
from core.outbox.claims import MAX_ATTEMPTS
from core.outbox.rules import quiet_until
from core.privacy import erase_member
from core.programme import FrequencyCap, Programme, QuietHours
from tests.campaigns.population import Person, add_people
from tests.support.members import add_chat_account

TAIPEI_10AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TEXT = {"text": {"zh-TW": "哈囉", "en": "Hello"}}


def member(services: Services, n: int, **fields: Any) -> int:
    channel = fields.pop("channel", "telegram")
    timezone = fields.pop("timezone", "Asia/Taipei")
    person = Person(n=n, channel=channel, timezone=timezone, overrides=fields)
    return add_people(services.database, [person], now=services.clock.now())[n]


def put(services: Services, member_id: int, key: str, **options: Any) -> int | None:
    options.setdefault("content", TEXT)
    with services.database.session() as session:
        result = enqueue(
            session,
            member_id=member_id,
            dedupe_key=key,
            now=services.clock.now(),
            channels=options.pop("channels", ("telegram", "line")),
            **options,
        )
        session.commit()
    return result.delivery_id


def claim(services: Services, channel: str = "telegram", **options: Any) -> Claim:
    options.setdefault("limit", 100)
    options.setdefault("programme", services.programme)
    with services.database.session() as session:
        return claim_due(
            session, channel=channel, now=services.clock.now(), worker="test", **options
        )


def row(services: Services, delivery_id: int | None) -> Delivery:
    with services.database.reader() as session:
        found = session.get(Delivery, delivery_id)
    assert found is not None
    return found


def sent(services: Services, ids: list[int]) -> None:
    with services.database.session() as session:
        mark_sent(session, delivery_ids=ids, now=services.clock.now())


# ---- enqueue ------------------------------------------------------------------------------


def test_enqueue_writes_one_row_per_dedupe_key(services: Services) -> None:
    alice = member(services, 1)

    first = put(services, alice, "a:welcome:1")
    second = put(services, alice, "a:welcome:1", content={"text": "other"})

    assert first is not None and first == second
    stored = row(services, first)
    assert (stored.channel, stored.user_id, stored.status) == ("telegram", "7000000001", "queued")
    assert stored.content == TEXT
    with services.database.reader() as session:
        assert len(session.exec(select(Delivery)).all()) == 1


def test_enqueue_goes_to_the_most_recently_seen_reachable_account(services: Services) -> None:
    alice = member(services, 1, channel="telegram")
    add_chat_account(services.database, alice, "line", "U" + "1" * 32, seen=TAIPEI_10AM)

    assert row(services, put(services, alice, "k1")).channel == "line"
    assert row(services, put(services, alice, "k2", channels=("telegram",))).channel == "telegram"
    assert put(services, alice, "k3", channels=("console",)) is None


def test_enqueue_refuses_bad_content_and_keys(services: Services) -> None:
    alice = member(services, 1)
    with pytest.raises(InvalidInput):
        put(services, alice, "k", content={"text": "   "})
    with pytest.raises(InvalidInput):
        put(services, alice, "x" * 161)
    with pytest.raises(InvalidInput):
        put(services, alice, "k", content={"text": "hi", "buttons": [
            {"label": "Go", "action": "command", "value": "p" * 61}]})  # fmt: skip


# ---- opt-out, reachability, erasure ------------------------------------------------------------


def test_claim_skips_opted_out_members_for_promotions_only(services: Services) -> None:
    quiet = member(services, 1, opted_out=True)
    offer = put(services, quiet, "offer")
    notice = put(services, quiet, "points-expiry", promotional=False)

    claimed = claim(services)

    assert [r.id for r in claimed.rows] == [notice]
    assert (row(services, offer).status, row(services, offer).reason) == ("skipped", "opted_out")
    assert row(services, notice).status == "sending"


@pytest.mark.parametrize("how", ["member", "account", "erased", "account_gone"])
def test_claim_skips_members_who_cannot_be_reached(services: Services, how: str) -> None:
    alice = member(services, 1)
    delivery = put(services, alice, "offer", promotional=False)
    members = Member.__table__  # type: ignore[attr-defined]
    identities = ChannelIdentity.__table__  # type: ignore[attr-defined]
    change = {
        "member": sa.update(members).values(unreachable=True),
        "account": sa.update(identities).values(unreachable=True),
        "erased": sa.update(members).values(erased_at=TAIPEI_10AM),
        "account_gone": sa.update(identities).values(platform_user_id="erased:abc"),
    }[how]
    with services.database.engine.begin() as connection:
        connection.execute(change)

    assert claim(services).rows == []
    reason = "erased" if how == "erased" else "unreachable"
    assert (row(services, delivery).status, row(services, delivery).reason) == ("skipped", reason)


# ---- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "zone", "held_until"),
    [
        (datetime(2026, 3, 2, 2, 0), "America/Halifax", datetime(2026, 3, 2, 13, 0)),  # 22:00
        (datetime(2026, 3, 2, 0, 59), "Asia/Taipei", datetime(2026, 3, 2, 1, 0)),  # 08:59
        (datetime(2026, 3, 2, 13, 0), "Asia/Taipei", datetime(2026, 3, 3, 1, 0)),  # 21:00
        (datetime(2026, 3, 2, 1, 0), "Asia/Taipei", None),  # 09:00 sharp
        (datetime(2026, 3, 2, 12, 59), "Asia/Taipei", None),  # 20:59
    ],
)
def test_quiet_hours_hold_a_delivery_until_nine_in_the_members_time_zone(
    services: Services,
    clock: FixedClock,
    utc: datetime,
    zone: str,
    held_until: datetime | None,
) -> None:
    clock.set(utc)
    alice = member(services, 1, timezone=zone)
    delivery = put(services, alice, "offer")

    claimed = claim(services)

    stored = row(services, delivery)
    if held_until is None:
        assert [r.id for r in claimed.rows] == [delivery]
        assert stored.status == "sending"
    else:
        assert claimed.rows == [] and claimed.held == 1
        assert (stored.status, stored.not_before) == ("queued", held_until.replace(tzinfo=UTC))
        clock.set(held_until - timedelta(seconds=1))
        assert claim(services).touched == 0  # not due yet
        clock.set(held_until)
        assert [r.id for r in claim(services).rows] == [delivery]


def test_quiet_hours_follow_daylight_saving_time() -> None:
    quiet = QuietHours()
    # New York switches to summer time on 8 March 2026: 09:00 is then 13:00 UTC, not 14:00.
    assert quiet_until(datetime(2026, 3, 8, 3, 0, tzinfo=UTC), "America/New_York", quiet) == (
        datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    )


def test_a_quiet_window_that_does_not_wrap_midnight() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 0))
    noon_in_taipei = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    assert quiet_until(noon_in_taipei, "Asia/Taipei", lunch) == datetime(
        2026, 3, 2, 5, 0, tzinfo=UTC
    )
    assert quiet_until(noon_in_taipei + timedelta(hours=1), "Asia/Taipei", lunch) is None
    assert (
        quiet_until(noon_in_taipei, "Asia/Taipei", QuietHours(start=time(0), end=time(0))) is None
    )


# ---- frequency cap ----------------------------------------------------------------------------


def test_the_frequency_cap_counts_promotions_sent_in_its_period(
    services: Services, clock: FixedClock
) -> None:
    alice, bob = member(services, 1), member(services, 2)
    clock.set(TAIPEI_10AM - timedelta(days=8))
    old = put(services, alice, "old")  # sent 8 days ago: outside the 7-day period
    sent(services, [r.id for r in claim(services).rows])
    clock.set(TAIPEI_10AM - timedelta(days=2))
    recent = [put(services, alice, "r1"), put(services, bob, "r2")]
    sent(services, [r.id for r in claim(services).rows])
    clock.set(TAIPEI_10AM)
    second = put(services, alice, "second")
    offers = [put(services, bob, "b1"), put(services, bob, "b2")]  # bob: two in one claim
    notice = put(services, bob, "notice", promotional=False)

    claimed = claim(services)

    assert row(services, old).status == "sent" and row(services, recent[0]).status == "sent"
    assert {r.id for r in claimed.rows} == {second, offers[0], notice}
    assert (row(services, offers[1]).status, row(services, offers[1]).reason) == (
        "skipped",
        "capped",
    )
    sent(services, [second])
    assert row(services, put(services, alice, "third")).status == "queued"
    claim(services)
    with services.database.reader() as session:
        third = session.exec(select(Delivery).where(Delivery.dedupe_key == "third")).one()
    assert (third.status, third.reason) == ("skipped", "capped")


def test_a_tighter_cap_from_the_programme(services: Services) -> None:
    programme = Programme(frequency_cap=FrequencyCap(max_messages=1, per_days=1))
    alice = member(services, 1)
    first, second = put(services, alice, "one"), put(services, alice, "two")

    claimed = claim(services, programme=programme)

    assert [r.id for r in claimed.rows] == [first]
    assert row(services, second).reason == "capped"


# ---- claims, batches, stale rows ----------------------------------------------------------------


def test_line_rows_with_the_same_message_share_batches_of_at_most_the_group_size(
    services: Services,
) -> None:
    ids = {}
    for n in range(1, 8):
        ids[n] = member(services, n, channel="line")
    rows = [put(services, ids[n], f"same-{n}") for n in range(1, 6)]
    other = put(services, ids[6], "other", content={"text": "different"})
    own = put(services, ids[7], "own", content={**TEXT, "buttons": [
        {"label": "Points", "action": "command", "value": "points"}]})  # fmt: skip

    claimed = claim(services, "line", group_size=2)

    batches = [[r.id for r in batch] for batch in claimed.batches()]
    assert sorted(map(len, batches)) == [1, 1, 1, 2, 2]
    assert [rows[0], rows[1]] in batches and [rows[2], rows[3]] in batches
    assert [other] in batches and [own] in batches and [rows[4]] in batches
    assert len({r.batch_key for r in claimed.rows}) == 5


def test_rows_left_sending_by_a_dead_sender_are_taken_again_after_the_lease(
    services: Services, clock: FixedClock
) -> None:
    alice, bob = member(services, 1), member(services, 2)
    first = [put(services, alice, "a"), put(services, bob, "b", promotional=False)]
    taken = claim(services)
    assert {r.id for r in taken.rows} == set(first)

    clock.advance(minutes=9)
    assert claim(services).touched == 0  # the sender may still be at work
    clock.advance(minutes=2)
    again = claim(services)

    assert {r.id for r in again.rows} == set(first) and again.resumed == 2
    assert {r.batch_key for r in again.rows} == {taken.rows[0].batch_key}
    assert {r.attempts for r in again.rows} == {2}


def test_a_requeued_batch_comes_back_whole_with_its_key(
    services: Services, clock: FixedClock
) -> None:
    ids = [member(services, n, channel="line") for n in range(1, 5)]
    for n, member_id in enumerate(ids):
        put(services, member_id, f"k{n}")
    taken = claim(services, "line", group_size=500)
    [batch] = taken.batches()
    with services.database.session() as session:
        mark_failed(session, delivery_ids=[r.id for r in batch], reason="LINE 500: oops",
                    retry_at=clock.now() + timedelta(seconds=30))  # fmt: skip

    assert claim(services, "line", group_size=500).touched == 0
    clock.advance(seconds=30)
    again = claim(services, "line", group_size=500)

    assert [r.id for r in again.rows] == [r.id for r in batch]
    assert {r.batch_key for r in again.rows} == {batch[0].batch_key}


def test_a_batch_is_given_up_after_the_last_attempt(services: Services, clock: FixedClock) -> None:
    alice = member(services, 1, channel="line")
    delivery = put(services, alice, "k")
    for _ in range(MAX_ATTEMPTS):
        assert [r.id for r in claim(services, "line", group_size=500).rows] == [delivery]
        clock.advance(minutes=11)

    assert claim(services, "line", group_size=500).gave_up == 1
    assert (row(services, delivery).status, row(services, delivery).reason) == (
        "failed",
        "gave_up",
    )


# ---- results and clicks -----------------------------------------------------------------------


def test_a_blocked_member_becomes_unreachable(services: Services) -> None:
    alice = member(services, 1)
    delivery = put(services, alice, "k")
    claim(services)

    with services.database.session() as session:
        mark_blocked(session, delivery_id=delivery or 0, clock=services.clock, reason="Forbidden")

    with services.database.reader() as session:
        stored = session.get(Member, alice)
        identity = session.exec(select(ChannelIdentity)).one()
    assert row(services, delivery).status == "blocked"
    assert stored is not None and stored.unreachable and identity.unreachable


def test_only_the_first_tap_counts_as_a_click(services: Services, clock: FixedClock) -> None:
    alice, bob = member(services, 1), member(services, 2)
    delivery = put(services, alice, "k", automation="welcome")
    first_tap = clock.now()

    with services.database.session() as session:
        found = find_delivery(session, ref=str(delivery), member_id=alice)
        assert found is not None
        assert find_delivery(session, ref=str(delivery), member_id=bob) is None
        assert find_delivery(session, ref="c1-1", member_id=alice) is None
        clicks = [record_click(session, delivery=found, now=first_tap, channel="telegram",
                               button=0)]  # fmt: skip
        clock.advance(minutes=5)
        clicks.append(
            record_click(session, delivery=found, now=clock.now(), channel="telegram", button=0)
        )

    assert [click.first for click in clicks] == [True, False]
    assert row(services, delivery).clicked_at == first_tap
    with services.database.reader() as session:
        events = session.exec(select(Event).where(Event.type == "campaign_click")).all()
    assert [(e.member_id, e.payload["delivery_id"]) for e in events] == [(alice, delivery)]


def test_erasing_a_member_leaves_no_chat_id_in_the_outbox(services: Services) -> None:
    alice = member(services, 1)
    done, waiting = put(services, alice, "done"), put(services, alice, "waiting")
    claimed = claim(services)
    sent(services, [done])  # `waiting` stays claimed: a send in flight keeps its address
    later = put(services, alice, "later", promotional=False)

    with services.database.session() as session:
        erase_member(session, clock=services.clock, member_id=alice, actor="test")

    assert {r.id for r in claimed.rows} == {done, waiting}
    assert (row(services, done).status, row(services, done).user_id) == ("sent", "erased")
    assert (row(services, later).status, row(services, later).reason) == ("skipped", "erased")
    assert row(services, later).user_id == "erased"
    assert row(services, waiting).user_id == "7000000001"
