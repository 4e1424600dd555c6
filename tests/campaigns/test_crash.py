"""Issue 5, acceptance 2: the sender killed with SIGKILL mid-campaign, then restarted.

LINE: every member gets the campaign exactly once, whenever the kill lands — also in the
instant after LINE accepted a multicast and before our commit (the retry key makes LINE
answer 409 to the resend).

Telegram has no idempotency key, so a message is sent at most once: its row records that
the request is leaving, and a row a killed sender left with its request out is recorded
`sent`, in doubt, not sent again. It arrived unless the kill fell in the instant between
that record and the request reaching Telegram. The tests show both: the held-answer test
kills after Telegram accepted (everyone gets it exactly once), and the random kill asserts
0 repeats and nobody missing beyond the one message that was in flight.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import Services
from core.campaigns import campaign_report
from core.models import Campaign
from tests.campaigns.crash import (
    Fakes,
    HoldingLineAPI,
    HoldingTelegramAPI,
    finish,
    in_doubt_users,
    kill,
    line_received,
    sending_users,
    start_worker,
    stop_leftovers,
    telegram_received,
    wait_until,
)
from tests.campaigns.harness import launch, new_campaign
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, TELEGRAM_TOKEN

pytestmark = pytest.mark.slow
RESTART = ("--until-empty", "--lease-seconds", "1", "--poll-seconds", "0.2")


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    yield
    stop_leftovers()


@pytest.fixture
def fakes(request: pytest.FixtureRequest) -> Iterator[Fakes]:
    hold = getattr(request, "param", {})
    telegram = HoldingTelegramAPI(token=TELEGRAM_TOKEN, hold_at=hold.get("telegram"))
    line = HoldingLineAPI(access_token=LINE_ACCESS_TOKEN, hold_at=hold.get("line"))
    with telegram, line:
        try:
            yield Fakes(telegram=telegram, line=line)
        finally:
            telegram.hold.release.set()
            line.hold.release.set()


def campaign_to(services: Services, line: int, telegram: int) -> tuple[set[str], set[str]]:
    """A launched campaign to `line` LINE and `telegram` Telegram members."""
    everyone = people(line + telegram, channel=lambda n: "line" if n <= line else "telegram")
    add_people(services.database, everyone, now=services.clock.now())
    launch(services, new_campaign(services).id)
    return (
        {p.user_id for p in everyone if p.channel == "line"},
        {p.user_id for p in everyone if p.channel == "telegram"},
    )


@pytest.mark.parametrize("fakes", [{"line": 2}], indirect=True)
def test_a_kill_after_line_accepted_a_multicast_delivers_it_once(
    services: Services, database_url: str, fakes: Fakes, tmp_path: Path
) -> None:
    line_users, _ = campaign_to(services, line=1_400, telegram=0)

    worker = start_worker(database_url, fakes, tmp_path)
    assert fakes.line.hold.accepted.wait(60), "the worker never sent a second multicast"
    kill(worker)  # LINE has delivered the second batch; our commit of it never happened
    fakes.line.hold.release.set()
    accepted_not_committed = sending_users(services.database, "line") & set(
        line_received(fakes.line)
    )
    assert len(accepted_not_committed) == 500

    finish(start_worker(database_url, fakes, tmp_path, *RESTART), tmp_path)

    assert line_received(fakes.line) == dict.fromkeys(line_users, 1)
    statuses = [call.status for call in fakes.line.calls("/multicast")]
    assert statuses.count(409) == 1  # the resent batch: LINE knew its retry key
    assert sending_users(services.database, "line") == set()


@pytest.mark.parametrize("fakes", [{"telegram": 10}], indirect=True)
def test_a_kill_after_telegram_accepted_a_message_delivers_it_once_in_doubt(
    services: Services, database_url: str, fakes: Fakes, tmp_path: Path
) -> None:
    _, telegram_users = campaign_to(services, line=0, telegram=40)

    worker = start_worker(database_url, fakes, tmp_path, "--telegram-rate", "1000")
    assert fakes.telegram.hold.accepted.wait(60)
    kill(worker)
    fakes.telegram.hold.release.set()
    in_flight = sending_users(services.database, "telegram") & set(
        telegram_received(fakes.telegram)
    )
    assert len(in_flight) == 1

    finish(start_worker(database_url, fakes, tmp_path, *RESTART, "--telegram-rate", "1000"),
           tmp_path)  # fmt: skip

    assert telegram_received(fakes.telegram) == dict.fromkeys(telegram_users, 1)
    assert in_doubt_users(services.database, "telegram") == in_flight
    assert sending_users(services.database, "telegram") == set()
    with services.database.session() as session:
        campaign = session.exec(select(Campaign)).one()
        [variant] = campaign_report(session, campaign_id=campaign.id or 0).variants
    assert (variant.sent, variant.in_doubt) == (40, 1)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_kill_at_a_random_moment_repeats_nothing_and_loses_at_most_the_message_in_flight(
    services: Services, database_url: str, fakes: Fakes, tmp_path: Path, seed: int
) -> None:
    line_users, telegram_users = campaign_to(services, line=2_500, telegram=150)
    # Paced like real platforms, so the kill lands anywhere: in a request, in a pause of
    # the rate limiters, between a response and its commit.
    pacing = ("--line-rate", "2500", "--telegram-rate", "50")

    worker = start_worker(database_url, fakes, tmp_path, *pacing)
    wait_until(lambda: fakes.telegram.calls("sendMessage") and fakes.line.deliveries(),
               what="the first sends")  # fmt: skip
    time.sleep(random.Random(seed).uniform(0.05, 0.9))
    kill(worker)
    sent_before = sum(telegram_received(fakes.telegram).values())
    assert sent_before < len(telegram_users), "the kill came after the end"

    finish(start_worker(database_url, fakes, tmp_path, *RESTART, *pacing), tmp_path)

    assert line_received(fakes.line) == dict.fromkeys(line_users, 1)
    received = telegram_received(fakes.telegram)
    assert set(received.values()) == {1}  # nobody got it twice
    in_doubt = in_doubt_users(services.database, "telegram")
    assert len(in_doubt) <= 1  # the one request in flight at the kill, if there was one
    assert telegram_users - set(received) <= in_doubt  # nobody missing but that one, if any
    print(f"\nkilled after {sent_before} Telegram messages; in doubt: {len(in_doubt)}; "
          f"missing: {len(telegram_users - set(received))}")  # fmt: skip
