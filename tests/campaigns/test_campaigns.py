"""Campaigns: checks at creation, launch (set-based, in batches, idempotent, resumable),
variant split, cancel, completion and recurring runs. Both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.app import Services
from core.campaigns import (
    CampaignView,
    cancel_campaign,
    complete_campaigns,
    get_campaign,
    launch_due_campaigns,
    list_campaigns,
)
from core.campaigns.launch import variant_bucket, variant_for
from core.kernel import CampaignClosed, CouponNotFound, InvalidInput
from core.kernel.clock import FixedClock
from core.models import Campaign, Delivery
from core.outbox.deliveries import campaign_dedupe_key
from tests.campaigns.harness import launch, new_campaign
from tests.campaigns.population import add_people, people
from tests.support.members import add_chat_account

AB = [
    {"name": "A", "weight": 30, "text": "Plain offer"},
    {
        "name": "B",
        "weight": 70,
        "text": {"zh-TW": "限時優惠", "en": "Limited offer"},
        "coupon": "WELCOME50",
    },  # fmt: skip
]


def deliveries(services: Services, campaign_id: int) -> list[Delivery]:
    with services.database.reader() as session:
        return list(
            session.exec(
                select(Delivery).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)
            )
        )


def state_of(services: Services, campaign_id: int) -> CampaignView:
    with services.database.reader() as session:
        return get_campaign(session, campaign_id)


# ---- creation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"variants": [{"text": "hi", "coupon": "NOPE"}]}, CouponNotFound, "NOPE"),
        ({"variants": [{"text": "  "}]}, InvalidInput, "empty"),
        ({"variants": [{"text": {"zh-TW": "嗨", "en": ""}}]}, InvalidInput, "empty"),
        (
            {
                "variants": [
                    {"name": "A", "weight": 50, "text": "a"},
                    {"name": "B", "weight": 40, "text": "b"},
                ]
            },
            InvalidInput,
            "add up to 100",
        ),  # fmt: skip
        ({"variants": [{"name": "B", "text": "b"}]}, InvalidInput, "named A"),
        (
            {
                "variants": [
                    {
                        "text": "hi",
                        "buttons": [{"label": "Go", "action": "command", "value": "x" * 61}],
                    }
                ]
            },
            InvalidInput,
            "64 bytes",
        ),  # fmt: skip
        (
            {
                "variants": [
                    {
                        "text": "hi",
                        "buttons": [
                            {"label": "Go", "action": "url", "value": "javascript:alert(1)"}
                        ],
                    }
                ]
            },
            InvalidInput,
            "URL",
        ),  # fmt: skip
        (
            {
                "variants": [
                    {
                        "text": "hi",
                        "buttons": [
                            {
                                "label": "A label far too long for LINE",
                                "action": "command",
                                "value": "points",
                            }
                        ],
                    }
                ]
            },
            InvalidInput,
            "label",
        ),  # fmt: skip
        ({"audience": {"tiers": ["platinum"]}}, InvalidInput, "platinum"),
        ({"metric": "opened"}, InvalidInput, "metric"),
        ({"name": ""}, InvalidInput, "name"),
        ({"every_days": 0}, InvalidInput, "every_days"),
    ],
)
def test_a_bad_campaign_is_refused_with_a_clear_error(
    services: Services, change: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        new_campaign(services, **change)
    with services.database.reader() as session:
        assert session.exec(select(Campaign)).all() == []


def test_a_campaign_is_a_draft_until_launched_or_scheduled(
    services: Services, clock: FixedClock
) -> None:
    draft = new_campaign(services, variants=AB, metric="claimed")
    later = new_campaign(services, send_at=clock.now() + timedelta(hours=3))
    weekly = new_campaign(services, every_days=7)

    assert (draft.status, draft.next_run_at) == ("draft", None)
    assert draft.variants[1]["content"] == {
        "text": {"zh-TW": "限時優惠", "en": "Limited offer"},
        "coupon": "WELCOME50",
    }
    assert (later.status, later.next_run_at) == ("scheduled", clock.now() + timedelta(hours=3))
    assert (weekly.status, weekly.next_run_at) == ("scheduled", clock.now())
    with services.database.reader() as session:
        assert [c.id for c in list_campaigns(session)] == [weekly.id, later.id, draft.id]


# ---- launch -------------------------------------------------------------------------------


def test_launch_writes_one_row_per_member_and_launching_again_adds_none(
    services: Services, clock: FixedClock
) -> None:
    ids = add_people(services.database, people(50), now=clock.now())
    campaign = new_campaign(services, variants=AB)

    first = launch(services, campaign.id, batch_members=7)  # several batches
    again = launch(services, campaign.id, batch_members=7)

    rows = deliveries(services, campaign.id)
    assert (first.targeted, first.run, first.started) == (50, 1, True)
    assert (again.targeted, again.run, again.started) == (50, 1, False)
    assert sorted(r.member_id for r in rows) == sorted(ids.values())
    assert {r.dedupe_key for r in rows} == {
        campaign_dedupe_key(campaign.id, 1, member_id) for member_id in ids.values()
    }
    assert {(r.status, r.promotional, r.run, r.content == {}) for r in rows} == {
        ("queued", True, 1, True)
    }
    by_member = {r.member_id: r for r in rows}
    for n, member_id in ids.items():
        assert by_member[member_id].channel == ("line" if n % 2 else "telegram")
    assert state_of(services, campaign.id).status == "sending"


def test_variants_follow_the_weights_and_the_same_member_always_gets_the_same_one(
    services: Services, clock: FixedClock
) -> None:
    add_people(services.database, people(2_000), now=clock.now())
    campaign = new_campaign(services, variants=AB)

    launch(services, campaign.id)

    rows = deliveries(services, campaign.id)
    assert {r.variant for r in rows} == {"A", "B"}
    for r in rows:  # the SQL and the Python agree, member by member
        assert r.variant == variant_for(r.member_id, campaign.id, campaign.variants)
    share_a = Counter(r.variant for r in rows)["A"] / len(rows)
    assert 0.26 < share_a < 0.34  # 30 % ± 4 points on 2,000 members
    other = new_campaign(services, variants=AB)
    flips = sum(variant_bucket(r.member_id, campaign.id) != variant_bucket(r.member_id, other.id)
                for r in rows)  # fmt: skip
    assert flips > len(rows) * 0.9  # another campaign splits its members afresh


def test_a_launch_cut_short_by_a_crash_finishes_without_duplicates(
    services: Services, clock: FixedClock
) -> None:
    ids = add_people(services.database, people(30), now=clock.now())
    campaign = new_campaign(services)
    launch(services, campaign.id)
    table = Delivery.__table__  # type: ignore[attr-defined]
    with services.database.engine.begin() as connection:  # as if it died after 12 rows
        kept = sorted(ids.values())[:12]
        connection.execute(sa.delete(table).where(table.c.member_id.not_in(kept)))
        connection.execute(sa.update(Campaign.__table__).values(status="launching"))  # type: ignore[attr-defined]

    with services.database.session() as session:
        resumed = launch_due_campaigns(session, clock=clock, channels=("telegram", "line"))

    assert [(r.campaign_id, r.run, r.targeted, r.started) for r in resumed] == [
        (campaign.id, 1, 30, False)
    ]
    rows = deliveries(services, campaign.id)
    assert sorted(r.member_id for r in rows) == sorted(ids.values())


def test_a_member_is_reached_on_the_chat_account_seen_last(
    services: Services, clock: FixedClock
) -> None:
    ids = add_people(services.database, people(2, channel=lambda n: "telegram"), now=clock.now())
    add_chat_account(services.database, ids[1], "line", "U" + "f" * 32, seen=clock.now())
    campaign = new_campaign(services)

    launch(services, campaign.id)
    only_telegram = new_campaign(services, name="Telegram only")
    launch(services, only_telegram.id, channels=("telegram",))

    assert {(r.member_id, r.channel) for r in deliveries(services, campaign.id)} == {
        (ids[1], "line"),
        (ids[2], "telegram"),
    }
    assert {r.channel for r in deliveries(services, only_telegram.id)} == {"telegram"}


# ---- cancel, completion, recurring runs ---------------------------------------------------------


def test_cancelling_skips_what_is_still_queued(services: Services, clock: FixedClock) -> None:
    add_people(services.database, people(5), now=clock.now())
    campaign = new_campaign(services)
    launch(services, campaign.id)

    with services.database.session() as session:
        cancelled = cancel_campaign(session, clock=clock, campaign_id=campaign.id)

    assert cancelled.status == "cancelled"
    assert {(r.status, r.reason) for r in deliveries(services, campaign.id)} == {
        ("skipped", "cancelled")
    }
    with pytest.raises(CampaignClosed):
        launch(services, campaign.id)


def test_a_recurring_campaign_runs_again_after_its_period(
    services: Services, clock: FixedClock
) -> None:
    ids = add_people(services.database, people(3), now=clock.now())
    weekly = new_campaign(services, every_days=7)
    channels = ("telegram", "line")

    with services.database.session() as session:
        [first] = launch_due_campaigns(session, clock=clock, channels=channels)
    _send_all(services, weekly.id)
    with services.database.session() as session:
        complete_campaigns(session, now=clock.now())
        assert launch_due_campaigns(session, clock=clock, channels=channels) == []
    state = state_of(services, weekly.id)
    assert (state.status, state.next_run_at) == ("scheduled", clock.now() + timedelta(days=7))

    clock.advance(days=7)
    with services.database.session() as session:
        [second] = launch_due_campaigns(session, clock=clock, channels=channels)

    assert (first.run, second.run) == (1, 2)
    rows = deliveries(services, weekly.id)
    assert Counter(r.member_id for r in rows) == dict.fromkeys(ids.values(), 2)


def test_a_campaign_is_done_when_its_outbox_has_drained(
    services: Services, clock: FixedClock
) -> None:
    add_people(services.database, people(2), now=clock.now())
    campaign = new_campaign(services)
    launch(services, campaign.id)
    with services.database.session() as session:
        assert complete_campaigns(session, now=clock.now()) == 0

    _send_all(services, campaign.id)
    with services.database.session() as session:
        assert complete_campaigns(session, now=clock.now()) == 1

    done = state_of(services, campaign.id)
    assert (done.status, done.completed_at) == ("done", clock.now())


def _send_all(services: Services, campaign_id: int) -> None:
    table = Delivery.__table__  # type: ignore[attr-defined]
    with services.database.engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.campaign_id == campaign_id, table.c.status == "queued")
            .values(status="sent", sent_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        )
