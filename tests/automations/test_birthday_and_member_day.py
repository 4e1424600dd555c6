"""The birthday gift (points from the tier, once a year, in the member's own time zone) and
the member-day announcement on the 18th."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import col, select

from bot.app import Services
from core.kernel.clock import FixedClock
from core.models import LedgerEntry
from tests.automations.conftest import Automations, opt_out_member, update_member
from tests.support.members import new_member
from tests.support.points import member


def birthday_entries(services: Services) -> list[tuple[int, int, str]]:
    with services.database.reader() as session:
        rows = session.exec(
            select(LedgerEntry.member_id, LedgerEntry.amount, LedgerEntry.idempotency_key)
            .where(LedgerEntry.source == "birthday")
            .order_by(col(LedgerEntry.id))
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_birthday_brings_the_tiers_gift_once_a_year(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")  # silver: 100 birthday points
    bob = new_member(db, clock, programme, "bob")  # basic: a greeting, no points
    carol = new_member(db, clock, programme, "carol")  # unreachable: points, no message
    update_member(services, alice, birthday=date(1990, 3, 2), tier="silver")
    update_member(services, bob, birthday=date(1985, 3, 3))
    update_member(services, carol, birthday=date(2000, 3, 2), tier="gold", unreachable=True)

    first = automations.run("birthday")
    again = automations.run("birthday")
    clock.advance(days=1)
    tomorrow = automations.run("birthday")

    assert (first.enqueued, first.points) == (1, 400)
    assert (again.enqueued, again.points) == (0, 0)
    assert (tomorrow.enqueued, tomorrow.points) == (1, 0)
    assert birthday_entries(services) == [
        (alice, 100, f"birthday:2026:{alice}"),
        (carol, 300, f"birthday:2026:{carol}"),
    ]
    assert member(db, alice).points_balance == 100
    to_alice, to_bob = automations.queued("birthday")
    assert (to_alice.member_id, to_bob.member_id) == (alice, bob)
    assert to_alice.dedupe_key == f"a:birthday:2026:{alice}"
    assert "you get 100 birthday points" in automations.text(to_alice)
    assert "銀卡" in automations.text(to_alice, "zh-TW")
    assert "points" not in automations.text(to_bob)
    assert not to_alice.promotional

    clock.set(datetime(2027, 3, 2, 1, 0, tzinfo=UTC))  # a year later, 09:00 in Taipei
    assert automations.run("birthday").points == 400
    assert automations.recipients("birthday") == [alice, bob, alice]
    assert automations.queued("birthday")[-1].dedupe_key == f"a:birthday:2027:{alice}"


def test_birthdays_follow_the_members_time_zone_and_29_february(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    # 2 March 02:00 UTC is still 1 March in Los Angeles.
    west = new_member(db, clock, programme, "west")
    leap = new_member(db, clock, programme, "leap")
    update_member(services, west, birthday=date(1991, 3, 1), timezone="America/Los_Angeles")
    update_member(services, leap, birthday=date(1996, 2, 29))

    assert automations.recipients("birthday") == []
    automations.run("birthday")
    assert automations.recipients("birthday") == [west]

    clock.set(datetime(2027, 2, 28, 2, 0, tzinfo=UTC))  # no 29 February in 2027
    automations.run("birthday")
    clock.set(datetime(2028, 2, 28, 2, 0, tzinfo=UTC))  # 2028 has one: wait for it
    automations.run("birthday")
    clock.set(datetime(2028, 2, 29, 2, 0, tzinfo=UTC))
    automations.run("birthday")
    assert automations.recipients("birthday") == [west, leap, leap]


def test_member_day_is_announced_on_the_morning_of_the_18th_once(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    bob = new_member(db, clock, programme, "bob")
    carol = new_member(db, clock, programme, "carol")
    opt_out_member(services, carol)

    clock.set(datetime(2026, 3, 17, 2, 0, tzinfo=UTC))
    assert automations.run("member_day").enqueued == 0
    clock.set(datetime(2026, 3, 18, 2, 0, tzinfo=UTC))  # 10:00 in Taipei
    assert automations.run("member_day").enqueued == 2
    assert automations.run("member_day").enqueued == 0
    clock.set(datetime(2026, 4, 18, 2, 0, tzinfo=UTC))
    assert automations.run("member_day").enqueued == 2

    assert automations.recipients("member_day") == [alice, bob, alice, bob]
    first = automations.queued("member_day")[0]
    assert first.dedupe_key == f"a:member_day:2026-03-18:{alice}"
    assert "Earn 2× points" in automations.text(first)
    assert "會員日點數加倍" in automations.text(first, "zh-TW")
    assert first.promotional


def test_member_day_is_not_announced_once_the_evenings_quiet_hours_began(
    services: Services, clock: FixedClock, automations: Automations
):
    new_member(services.database, clock, services.programme, "alice")
    clock.set(datetime(2026, 3, 18, 13, 30, tzinfo=UTC))  # 21:30 in Taipei

    assert automations.run("member_day").enqueued == 0
