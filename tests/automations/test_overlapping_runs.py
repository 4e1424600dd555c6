"""Runs that overlap (an old leader finishing a batch while the new one starts) still give
each member one message and one birthday gift: the dedupe key and the ledger key decide."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlmodel import select

from bot.app import Services
from core.kernel.clock import FixedClock
from core.members import enrol_member
from core.models import LedgerEntry
from tests.automations.conftest import Automations, update_member
from tests.support.members import new_member


def test_concurrent_runs_of_an_automation_write_each_delivery_and_gift_once(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    members = [new_member(db, clock, programme, f"m{n}") for n in range(12)]
    for member_id in members:
        update_member(services, member_id, birthday=date(1990, 3, 2), tier="gold")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: automations.run("birthday"), range(4)))

    assert sum(result.enqueued for result in results) == 12
    assert sum(result.points for result in results) == 12 * 300
    assert sorted(automations.recipients("birthday")) == members
    with db.reader() as session:
        gifts = session.exec(select(LedgerEntry.member_id).where(LedgerEntry.source == "birthday"))
        assert sorted(gifts.all()) == members


def test_members_no_chat_reaches_are_counted_not_queued(
    services: Services, clock: FixedClock, automations: Automations
):
    with services.database.session() as session:
        enrol_member(
            session,
            clock=clock,
            programme=services.programme,
            external_ref="POS-1",
            consent_version=services.programme.consent.version,
        )  # a member the brand's till signed up: no chat account

    result = automations.run("welcome")

    assert (result.due, result.enqueued, result.no_channel) == (1, 0, 1)
    assert automations.queued() == []


def test_the_programmes_own_words_replace_the_catalogs(
    services: Services, clock: FixedClock, automations: Automations
):
    welcome = services.programme.automations[0].model_copy(
        update={"message": {"zh-TW": "歡迎！送您{coupon}", "en": "Hello! Here is {coupon}"}}
    )
    services.programme = services.programme.model_copy(
        update={"automations": [welcome, *services.programme.automations[1:]]}
    )
    new_member(services.database, clock, services.programme, "alice")

    automations.run("welcome")

    [delivery] = automations.queued("welcome")
    assert automations.text(delivery) == "Hello! Here is NT$50 off for new members"
    assert automations.text(delivery, "zh-TW") == "歡迎！送您新會員 NT$50 折價券"
