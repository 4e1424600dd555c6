"""The delivery worker against the fake platforms: LINE multicast per identical message,
a LINE request of unknown fate sent again with its retry key, and button taps that record
a click and claim the coupon for the campaign. Both databases."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.app import Services
from bot.dialogs import Dialogs
from core.campaigns import campaign_report
from core.chat import Incoming
from core.kernel.clock import FixedClock
from core.models import CouponGrant, Delivery, Event
from tests.campaigns.harness import (
    channels_for,
    deliver,
    launch,
    line_counts,
    new_campaign,
    telegram_counts,
)
from tests.campaigns.population import add_people, people
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.members import new_member

AB = [
    {"name": "A", "weight": 50, "text": {"zh-TW": "甲", "en": "Alpha"}},
    {"name": "B", "weight": 50, "text": {"zh-TW": "乙", "en": "Beta"}},
]
TEXTS = {("A", "zh-TW"): "甲", ("A", "en"): "Alpha", ("B", "zh-TW"): "乙", ("B", "en"): "Beta"}


def statuses(services: Services) -> Counter[str]:
    with services.database.reader() as session:
        return Counter(session.exec(select(Delivery.status)).all())


def test_line_sends_each_identical_message_by_multicast_of_at_most_500(
    services: Services, clock: FixedClock, fake_line: FakeLineAPI
) -> None:
    everyone = people(1_300, channel=lambda n: "line")
    for index, person in enumerate(everyone):
        if index % 3 == 0:
            everyone[index] = type(person)(n=person.n, channel="line", locale="en")
    add_people(services.database, everyone, now=clock.now())
    campaign = new_campaign(services, variants=AB)
    launch(services, campaign.id)

    deliver(services, lambda: channels_for(line=fake_line))

    with services.database.reader() as session:
        rows = session.exec(select(Delivery)).all()
    groups = Counter((row.variant, row.locale) for row in rows)
    calls = fake_line.calls("/v2/bot/message/multicast")
    assert len(calls) == sum(math.ceil(size / 500) for size in groups.values())
    assert all(len(call.body["to"]) <= 500 for call in calls)
    assert len({call.retry_key for call in calls}) == len(calls)
    assert line_counts(fake_line) == dict.fromkeys((p.user_id for p in everyone), 1)
    expected = {row.user_id: TEXTS[(row.variant, row.locale)] for row in rows}
    for delivery in fake_line.deliveries():
        assert [m["text"] for m in delivery.messages] == [expected[delivery.to]]
    assert statuses(services) == {"sent": 1_300}


def test_a_line_request_of_unknown_fate_is_sent_again_with_its_retry_key(
    services: Services, clock: FixedClock, fake_line: FakeLineAPI
) -> None:
    add_people(services.database, people(20, channel=lambda n: "line"), now=clock.now())
    campaign = new_campaign(services)
    launch(services, campaign.id)
    # LINE takes the request, then answers 500 to it and to every retry of this pass.
    fake_line.fail_next("/multicast", 500, after_delivery=True)
    fake_line.fail_next("/multicast", 500, count=4)

    deliver(services, lambda: channels_for(line=fake_line))
    assert statuses(services) == {"queued": 20}  # back in the queue, batch key kept
    clock.advance(seconds=31)
    deliver(services, lambda: channels_for(line=fake_line))

    calls = fake_line.calls("/v2/bot/message/multicast")
    assert [call.status for call in calls] == [500] * 5 + [409]
    assert len({call.retry_key for call in calls}) == 1
    assert set(line_counts(fake_line).values()) == {1} and len(line_counts(fake_line)) == 20
    assert statuses(services) == {"sent": 20}


def test_a_telegram_member_who_blocked_the_bot_is_reported_blocked(
    services: Services, clock: FixedClock, fake_telegram: FakeTelegramBotAPI
) -> None:
    everyone = people(3, channel=lambda n: "telegram")
    add_people(services.database, everyone, now=clock.now())
    fake_telegram.block(everyone[1].user_id)
    campaign = new_campaign(services)
    launch(services, campaign.id)

    deliver(services, lambda: channels_for(telegram=fake_telegram))

    with services.database.reader() as session:
        report = campaign_report(session, campaign_id=campaign.id)
    assert (report.variants[0].sent, report.variants[0].blocked) == (2, 1)
    assert telegram_counts(fake_telegram) == {everyone[0].user_id: 1, everyone[2].user_id: 1}


def test_tapping_a_campaign_button_records_the_click_and_claims_for_the_campaign(
    services: Services, clock: FixedClock, fake_telegram: FakeTelegramBotAPI
) -> None:
    alice = new_member(services.database, clock, services.programme, "5551234", channel="telegram")
    campaign = new_campaign(
        services,
        variants=[
            {
                "text": {"zh-TW": "回來看看吧", "en": "Come back"},
                "coupon": "COMEBACK100",
                "buttons": [
                    {
                        "label": {"zh-TW": "我的點數", "en": "Points"},
                        "action": "command",
                        "value": "points",
                    }
                ],  # fmt: skip
            }
        ],
    )
    launch(services, campaign.id, channels=("telegram",))
    deliver(services, lambda: channels_for(telegram=fake_telegram))
    [message] = fake_telegram.messages_to("5551234")
    keyboard = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in keyboard] == ["領取：好久不見 NT$100 折價券", "我的點數"]
    claim_payload, points_payload = (b["callback_data"] for b in keyboard)
    assert claim_payload == f"cc:c{campaign.id}-1:0"

    dialogs = Dialogs(services)
    tap = lambda payload, event: dialogs.handle(  # noqa: E731
        Incoming(
            channel="telegram", user_id="5551234", kind="button", payload=payload, event_id=event
        )  # fmt: skip
    )
    claimed = tap(claim_payload, "tap-1")
    again = tap(claim_payload, "tap-1")  # the platform redelivers the same tap
    clock.advance(minutes=1)
    points = tap(points_payload, "tap-2")

    assert "好久不見" in claimed.reply.as_text()
    assert again.reply.as_text() == claimed.reply.as_text()
    assert "點" in points.reply.as_text()
    with services.database.reader() as session:
        grants = session.exec(select(CouponGrant).where(CouponGrant.member_id == alice)).all()
        clicks = session.exec(select(Event).where(Event.type == "campaign_click")).all()
        report = campaign_report(session, campaign_id=campaign.id)
    assert [(g.campaign_id, g.variant) for g in grants] == [(campaign.id, "A")]
    assert [(c.campaign_id, c.variant, c.payload["button"]) for c in clicks] == [
        (campaign.id, "A", 0)
    ]
    assert (report.variants[0].clicked, report.variants[0].claimed) == (1, 1)


def test_a_tap_on_someone_else_s_or_an_unknown_message_changes_nothing(
    services: Services, clock: FixedClock
) -> None:
    new_member(services.database, clock, services.programme, "5550001", channel="telegram")
    dialogs = Dialogs(services)

    replies = [
        dialogs.handle(
            Incoming(
                channel="telegram",
                user_id="5550001",
                kind="button",
                payload=payload,
                event_id=f"e{n}",
            )
        )  # fmt: skip
        for n, payload in enumerate(["cc:c99-1:0", "cc:12345:0", "cc:junk", "cc:c1-1:x"])
    ]

    for outcome in replies:
        assert outcome.reply.as_text()  # an answer, never silence
    with services.database.reader() as session:
        assert session.exec(select(Event).where(Event.type == "campaign_click")).all() == []
        assert session.exec(select(CouponGrant)).all() == []


def test_line_buttons_carry_the_campaign_reference_for_every_recipient(
    services: Services, clock: FixedClock, fake_line: FakeLineAPI
) -> None:
    everyone = people(3, channel=lambda n: "line")
    add_people(services.database, everyone, now=clock.now())
    campaign = new_campaign(services, variants=[{"text": "Hi", "coupon": "COMEBACK100"}])
    launch(services, campaign.id)

    deliver(services, lambda: channels_for(line=fake_line))

    [call] = fake_line.calls("/v2/bot/message/multicast")
    [message] = call.body["messages"]
    items: list[dict[str, Any]] = message["quickReply"]["items"]
    assert [item["action"]["data"] for item in items] == [f"cc:c{campaign.id}-1:0"]
    assert sorted(call.body["to"]) == sorted(p.user_id for p in everyone)


def test_nothing_is_sent_before_a_scheduled_time(
    services: Services, clock: FixedClock, fake_telegram: FakeTelegramBotAPI
) -> None:
    add_people(services.database, people(2, channel=lambda n: "telegram"), now=clock.now())
    new_campaign(services, send_at=clock.now() + timedelta(hours=1))

    deliver(services, lambda: channels_for(telegram=fake_telegram))

    assert fake_telegram.calls("sendMessage") == [] and statuses(services) == {}
