"""What the delivery worker does with a failed send, decided by the result's facts: a failure
that may pass under LINE's retry key goes back to the queue, the month's quota used up and
anything on Telegram (no retry key) fail for good. Real SDKs against the fake platforms,
on both databases."""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from bot.app import Services
from core.kernel.clock import FixedClock
from core.models import Delivery
from tests.campaigns.harness import channels_for, deliver, launch, line_counts, new_campaign
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import LINE_ACCESS_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI


def statuses(services: Services) -> Counter[str]:
    with services.database.reader() as session:
        return Counter(session.exec(select(Delivery.status)).all())


def reasons(services: Services) -> set[str | None]:
    with services.database.reader() as session:
        return set(session.exec(select(Delivery.reason)).all())


def test_a_line_rate_limit_that_outlasts_the_waits_is_queued_again_and_sent_once(
    services: Services, clock: FixedClock, fake_line: FakeLineAPI
) -> None:
    add_people(services.database, people(20, channel=lambda n: "line"), now=clock.now())
    launch(services, new_campaign(services).id)
    fake_line.fail_next("/multicast", 429, count=5)  # every attempt of this pass

    deliver(services, lambda: channels_for(line=fake_line))
    assert statuses(services) == {"queued": 20}
    clock.advance(seconds=31)
    deliver(services, lambda: channels_for(line=fake_line))

    assert statuses(services) == {"sent": 20}
    assert set(line_counts(fake_line).values()) == {1} and len(line_counts(fake_line)) == 20


def test_line_s_monthly_quota_used_up_fails_the_rows_for_good(
    services: Services, clock: FixedClock
) -> None:
    add_people(services.database, people(20, channel=lambda n: "line"), now=clock.now())
    launch(services, new_campaign(services).id)

    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, monthly_quota=5, enforce_quota=True) as fake:
        deliver(services, lambda: channels_for(line=fake))
        clock.advance(seconds=31)
        deliver(services, lambda: channels_for(line=fake))
        assert len(fake.calls("/v2/bot/message/multicast")) == 1  # not tried again
        assert fake.deliveries() == []

    assert statuses(services) == {"failed": 20}
    assert reasons(services) == {"LINE 429: You have reached your monthly limit."}


def test_telegram_server_errors_fail_the_row_for_good_since_a_resend_could_repeat_it(
    services: Services, clock: FixedClock, fake_telegram: FakeTelegramBotAPI
) -> None:
    add_people(services.database, people(1, channel=lambda n: "telegram"), now=clock.now())
    launch(services, new_campaign(services).id)
    fake_telegram.fail_next("sendMessage", 502, count=10)

    deliver(services, lambda: channels_for(telegram=fake_telegram))
    clock.advance(seconds=31)
    deliver(services, lambda: channels_for(telegram=fake_telegram))

    assert statuses(services) == {"failed": 1}
    assert len(fake_telegram.calls("sendMessage")) == 3  # one pass: a try and two retries
