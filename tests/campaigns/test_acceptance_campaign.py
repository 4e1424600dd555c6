"""Issue 5, acceptance 1: a campaign to a 10,000-member segment over both fake channels.

Every eligible member receives exactly one message; opted-out, unreachable and capped
members none; members for whom it is 22:00 are held until 09:00 their time (frozen
clock); the report's counts equal what the fake servers recorded."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from bot.app import Services
from core.campaigns import campaign_report
from core.kernel.clock import FixedClock
from core.models import ChannelIdentity, Delivery, Member
from tests.campaigns.harness import (
    channels_for,
    deliver,
    launch,
    line_counts,
    new_campaign,
    telegram_counts,
)
from tests.campaigns.population import Person, add_people
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI

SEGMENT = 10_000
HALIFAX = "America/Halifax"  # UTC-4 in early March: 22:00 when Taipei has 10:00


def population() -> tuple[list[Person], dict[str, range]]:
    """10,000 members in the segment's stages plus 500 outside it, in groups by fate."""
    groups = {
        "opted_out_before": range(1, 201),
        "unreachable_before": range(201, 401),
        "capped": range(401, 601),
        "opted_out_after": range(601, 701),
        "unreachable_after": range(701, 801),
        "blocked_on_telegram": range(801, 851),
        "quiet": range(851, 1351),
        "plain": range(1351, SEGMENT + 1),
        "outside_segment": range(SEGMENT + 1, SEGMENT + 501),
    }
    people = []
    for n in range(1, SEGMENT + 501):
        overrides: dict[str, object] = {"stage": "decision" if n % 3 else "interest"}
        if n in groups["opted_out_before"]:
            overrides["opted_out"] = True
        if n in groups["unreachable_before"]:
            overrides["unreachable"] = True
        if n in groups["outside_segment"]:
            overrides["stage"] = "action"
        channel = "telegram" if n in groups["blocked_on_telegram"] or n % 4 == 0 else "line"
        timezone = HALIFAX if n in groups["quiet"] else "Asia/Taipei"
        locale = "en" if n % 5 == 0 else "zh-TW"
        people.append(Person(n=n, channel=channel, locale=locale, timezone=timezone,
                             overrides=overrides))  # fmt: skip
    return people, groups


def test_a_campaign_reaches_every_eligible_member_exactly_once_over_both_channels(
    services: Services,
    clock: FixedClock,
    fake_telegram: FakeTelegramBotAPI,
    fake_line: FakeLineAPI,
) -> None:
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Taipei, 22:00 in Halifax
    people, groups = population()
    ids = add_people(services.database, people, now=clock.now())
    by_n = {person.n: person for person in people}
    member = lambda group: [ids[n] for n in groups[group]]  # noqa: E731
    _already_had_two_promotions(services, member("capped"), clock.now())
    for n in groups["blocked_on_telegram"]:
        fake_telegram.block(by_n[n].user_id)

    campaign = new_campaign(
        services,
        audience={"stages": ["interest", "decision"]},
        variants=[
            {
                "text": {"zh-TW": "春季特賣開始了", "en": "The spring sale is on"},
                "buttons": [
                    {
                        "label": {"zh-TW": "我的點數", "en": "My points"},
                        "action": "command",
                        "value": "points",
                    },  # fmt: skip
                ],
            }
        ],
    )
    launched = launch(services, campaign.id)
    excluded = len(groups["opted_out_before"]) + len(groups["unreachable_before"])
    assert launched.targeted == SEGMENT - excluded

    # After the launch, before the send: some opt out, some chat accounts stop working.
    _set(services, Member, member("opted_out_after"), opted_out=True)
    _set_identities_unreachable(services, member("unreachable_after"))

    channels = lambda: channels_for(fake_telegram, fake_line)  # noqa: E731
    deliver(services, channels, telegram_lanes=4)

    quiet_users = {by_n[n].user_id for n in groups["quiet"]}
    received = telegram_counts(fake_telegram) + line_counts(fake_line)
    assert not quiet_users & set(received), "a member got a message at 22:00 local time"
    held = _rows(services, campaign.id, status="queued")
    assert len(held) == len(groups["quiet"])
    assert {row.not_before for row in held} == {datetime(2026, 3, 2, 13, 0, tzinfo=UTC)}

    clock.set(datetime(2026, 3, 2, 13, 0, 1, tzinfo=UTC))  # 09:00:01 in Halifax
    deliver(services, channels, telegram_lanes=4)

    received = telegram_counts(fake_telegram) + line_counts(fake_line)
    eligible = {by_n[n].user_id for n in [*groups["plain"], *groups["quiet"]]}
    refused = {by_n[n].user_id for n in groups["blocked_on_telegram"]}
    assert set(received) == eligible
    assert set(received.values()) == {1}, "somebody received the campaign twice"
    assert not refused & set(received)

    with services.database.reader() as session:
        report = campaign_report(session, campaign_id=campaign.id)
    [variant] = report.variants
    telegram_refusals = sum(1 for call in fake_telegram.calls("sendMessage") if call.status == 403)
    assert variant.sent == sum(received.values()) == len(eligible)
    assert variant.blocked == telegram_refusals == len(groups["blocked_on_telegram"])
    assert variant.skipped == {
        "capped": len(groups["capped"]),
        "opted_out": len(groups["opted_out_after"]),
        "unreachable": len(groups["unreachable_after"]),
    }
    assert variant.queued == variant.sending == variant.failed == 0
    assert variant.targeted == launched.targeted
    assert report.campaign.status == "done"
    _assert_texts_in_each_language(fake_telegram, fake_line, people, eligible)
    _assert_blocked_members_are_unreachable(services, member("blocked_on_telegram"))


def _already_had_two_promotions(services: Services, member_ids: list[int], now: datetime) -> None:
    table = Delivery.__table__  # type: ignore[attr-defined]
    rows = [
        {
            "dedupe_key": f"earlier:{member_id}:{n}",
            "automation": "earlier",
            "run": 0,
            "variant": "A",
            "member_id": member_id,
            "channel": "line",
            "user_id": "earlier",
            "locale": "zh-TW",
            "promotional": True,
            "content": {"text": "earlier"},
            "status": "sent",
            "not_before": now - timedelta(days=n + 1),
            "attempts": 1,
            "sent_at": now - timedelta(days=n + 1),
            "created_at": now - timedelta(days=n + 1),
        }
        for member_id in member_ids
        for n in (1, 5)
    ]
    with services.database.engine.begin() as connection:
        connection.execute(sa.insert(table), rows)


def _set(services: Services, model: type, member_ids: list[int], **values: object) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    with services.database.engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id.in_(member_ids)).values(**values))


def _set_identities_unreachable(services: Services, member_ids: list[int]) -> None:
    table = ChannelIdentity.__table__  # type: ignore[attr-defined]
    with services.database.engine.begin() as connection:
        connection.execute(
            sa.update(table).where(table.c.member_id.in_(member_ids)).values(unreachable=True)
        )


def _rows(services: Services, campaign_id: int, *, status: str) -> list[Delivery]:
    with services.database.reader() as session:
        return list(
            session.exec(
                select(Delivery).where(
                    Delivery.campaign_id == campaign_id, Delivery.status == status
                )
            )
        )


def _assert_texts_in_each_language(
    telegram: FakeTelegramBotAPI, line: FakeLineAPI, people: list[Person], eligible: set[str]
) -> None:
    expected = {"zh-TW": "春季特賣開始了", "en": "The spring sale is on"}
    texts: dict[str, list[str]] = {}
    for delivery in line.deliveries():
        texts.setdefault(delivery.to, []).extend(str(m.get("text")) for m in delivery.messages)
    for call in telegram.calls("sendMessage"):
        if call.ok:
            texts.setdefault(str(call.params["chat_id"]), []).append(str(call.params["text"]))
    seen: Counter[str] = Counter()
    for person in people:
        if person.user_id in eligible:
            assert texts[person.user_id] == [expected[person.locale]], person
            seen[person.locale] += 1
    assert seen["en"] and seen["zh-TW"]


def _assert_blocked_members_are_unreachable(services: Services, member_ids: list[int]) -> None:
    with services.database.reader() as session:
        states = session.exec(select(Member.unreachable).where(col(Member.id).in_(member_ids)))
        assert all(list(states)) and member_ids
