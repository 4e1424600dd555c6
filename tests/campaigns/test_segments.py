"""Segments: each filter on its own, the members every segment leaves out, the audience
count (one COUNT statement) and the channel each member would be reached on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from bot.app import Services
from core.campaigns import Segment, audience_by_channel, audience_count
from core.campaigns.segments import segment_query
from core.models import ChannelIdentity, MemberTag
from tests.campaigns.population import Person, add_people
from tests.support.members import add_chat_account

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CONFIGURED = ("telegram", "line")


def population(services: Services, specs: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Named members, each with the given member fields (and `channel`)."""
    people = []
    for n, fields in enumerate(specs.values(), start=1):
        fields = dict(fields)
        channel = fields.pop("channel", "telegram")
        people.append(Person(n=n, channel=channel, overrides=fields))
    ids = add_people(services.database, people, now=NOW)
    return {name: ids[n] for n, name in enumerate(specs, start=1)}


def members_in(services: Services, spec: Segment, ids: dict[str, int]) -> set[str]:
    names = {member_id: name for name, member_id in ids.items()}
    with services.database.reader() as session:
        found = [
            member_id for (member_id,) in session.execute(segment_query(spec, NOW, CONFIGURED))
        ]
        assert audience_count(session, spec, NOW, CONFIGURED) == len(found)
    return {names[member_id] for member_id in found}


FILTERS: list[tuple[dict[str, Any], dict[str, dict[str, Any]], set[str]]] = [
    (
        {"stages": ["decision", "loyalty"]},
        {"d": {"stage": "decision"}, "l": {"stage": "loyalty"}, "i": {"stage": "interest"}},
        {"d", "l"},
    ),
    ({"tiers": ["gold"]}, {"g": {"tier": "gold"}, "b": {"tier": "basic"}}, {"g"}),
    (
        {"risk": ["at_risk", "lapsed"]},
        {"r": {"risk": "at_risk"}, "l": {"risk": "lapsed"}, "a": {"risk": "active"}},
        {"r", "l"},
    ),
    ({"rfm": ["champions"]}, {"c": {"segment": "champions"}, "n": {"segment": None}}, {"c"}),
    (
        {"inactive_days_min": 30},
        {
            "old": {"last_activity_at": NOW - timedelta(days=30)},
            "new": {"last_activity_at": NOW - timedelta(days=29, hours=23)},
            # Never active since joining 30 days ago: counts from sign-up.
            "idle": {"last_activity_at": None, "consent_at": NOW - timedelta(days=45)},
        },
        {"old", "idle"},
    ),
    (
        {"inactive_days_max": 7},
        {
            "seven": {"last_activity_at": NOW - timedelta(days=7, hours=23)},
            "eight": {"last_activity_at": NOW - timedelta(days=8)},
        },
        {"seven"},
    ),
    (
        {"purchase_days_min": 60, "purchase_days_max": 90},
        {
            "sixty": {"last_purchase_at": NOW - timedelta(days=60)},
            "ninety": {"last_purchase_at": NOW - timedelta(days=90, hours=12)},
            "recent": {"last_purchase_at": NOW - timedelta(days=59)},
            "long_ago": {"last_purchase_at": NOW - timedelta(days=91)},
            "never": {"last_purchase_at": None},
        },
        {"sixty", "ninety"},
    ),
    (
        {"birthday_month": 3},
        {
            "march": {"birthday": date(1990, 3, 31)},
            "april": {"birthday": date(1990, 4, 1)},
            "unknown": {"birthday": None},
        },  # fmt: skip
        {"march"},
    ),
    (
        {"channels": ["line"]},
        {"on_line": {"channel": "line"}, "on_telegram": {"channel": "telegram"}},
        {"on_line"},
    ),
]


@pytest.mark.parametrize(
    ("spec", "specs", "expected"), FILTERS, ids=["_".join(spec) for spec, _, _ in FILTERS]
)
def test_each_filter_picks_its_members(
    services: Services, spec: dict[str, Any], specs: dict[str, dict[str, Any]], expected: set[str]
) -> None:
    ids = population(services, specs)
    assert members_in(services, Segment.model_validate(spec), ids) == expected
    assert members_in(services, Segment(), ids) == set(specs)


def test_tags_match_any_of_the_given_tags(services: Services) -> None:
    ids = population(services, {"vip": {}, "coffee": {}, "both": {}, "none": {}})
    tags = [("vip", "vip"), ("coffee", "coffee"), ("both", "vip"), ("both", "coffee"),
            ("none", "tea")]  # fmt: skip
    with services.database.session() as session:
        session.add_all(MemberTag(member_id=ids[name], tag=tag) for name, tag in tags)
        session.commit()

    assert members_in(services, Segment(tags=["vip", "coffee"]), ids) == {"vip", "coffee", "both"}
    assert members_in(services, Segment(tags=["coffee"], stages=["interest"]), ids) == {
        "coffee",
        "both",
    }


def test_every_segment_leaves_out_who_must_not_get_promotions(services: Services) -> None:
    ids = population(
        services,
        {
            "ok": {},
            "not_signed_up": {"consent_at": None, "stage": "awareness"},
            "erased": {"erased_at": NOW},
            "opted_out": {"opted_out": True},
            "unreachable": {"unreachable": True},
            "account_blocked": {},
            "console_only": {"channel": "console"},
        },
    )
    identities = ChannelIdentity.__table__  # type: ignore[attr-defined]
    with services.database.engine.begin() as connection:
        connection.execute(
            sa.update(identities)
            .where(identities.c.member_id == ids["account_blocked"])
            .values(unreachable=True)
        )

    assert members_in(services, Segment(), ids) == {"ok"}


def test_the_audience_count_is_one_statement(services: Services) -> None:
    population(services, {"a": {}, "b": {"tier": "gold"}})
    statements: list[str] = []
    engine = services.database.read_engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        with services.database.reader() as session:
            count = audience_count(session, Segment(tiers=["gold"], tags=["x"]), NOW, CONFIGURED)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert count == 0
    counts = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(counts) == 1 and "count(" in counts[0].lower()


def test_each_member_counts_once_on_the_channel_seen_last(services: Services) -> None:
    ids = population(services, {"both": {"channel": "telegram"}, "line": {"channel": "line"}})
    # Seen after their Telegram account.
    add_chat_account(services.database, ids["both"], "line", "U" + "e" * 32, seen=NOW)

    with services.database.reader() as session:
        assert audience_by_channel(session, Segment(), NOW, CONFIGURED) == {"line": 2}
        assert audience_by_channel(session, Segment(), NOW, ("telegram",)) == {"telegram": 1}
        assert audience_count(session, Segment(), NOW, CONFIGURED) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"stages": ["nowhere"]},
        {"risk": ["angry"]},
        {"birthday_month": 13},
        {"inactive_days_min": 10, "inactive_days_max": 5},
        {"channels": ["fax"]},
        {"colour": "blue"},
    ],
)
def test_a_bad_segment_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Segment.model_validate(bad)
