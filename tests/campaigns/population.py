"""Many signed-up members at once, inserted in bulk (the use cases would take minutes for
100,000), each with one chat account on LINE or Telegram."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core.kernel import Database
from core.models import ChannelIdentity, Member

CHUNK = 5_000


@dataclass(frozen=True)
class Person:
    """One member to insert; `n` makes their platform ids and invite code unique."""

    n: int
    channel: str = "telegram"
    locale: str = "zh-TW"
    timezone: str = "Asia/Taipei"
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return line_user(self.n) if self.channel == "line" else telegram_user(self.n)


def line_user(n: int) -> str:
    return f"U{n:032x}"


def telegram_user(n: int) -> str:
    return str(7_000_000_000 + n)


def add_people(db: Database, people: list[Person], *, now: datetime) -> dict[int, int]:
    """Insert members and their chat accounts; returns {person n: member id}."""
    members = Member.__table__  # type: ignore[attr-defined]
    identities = ChannelIdentity.__table__  # type: ignore[attr-defined]
    ids: dict[int, int] = {}
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        with db.engine.begin() as connection:
            returned = connection.execute(
                sa.insert(members).returning(members.c.id, sort_by_parameter_order=True),
                [_member_row(person, now) for person in chunk],
            ).all()
            for person, (member_id,) in zip(chunk, returned, strict=True):
                ids[person.n] = int(member_id)
            connection.execute(
                sa.insert(identities),
                [_identity_row(person, ids[person.n], now) for person in chunk],
            )
    if db.dialect == "postgresql":
        # As any bulk load should: fresh statistics, or the planner takes these tables for
        # empty and plans nested loops that walk them whole for every row.
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE member, channel_identity")
    return ids


def _member_row(person: Person, now: datetime) -> dict[str, Any]:
    # Every column in every row: an executemany takes its columns from the first row.
    columns = Member.__table__.columns  # type: ignore[attr-defined]
    values: dict[str, Any] = {column.name: None for column in columns if column.name != "id"}
    values |= {
        "display_name": f"Member {person.n}",
        "locale": person.locale,
        "timezone": person.timezone,
        "source_channel": person.channel,
        "consent_version": "2026-01",
        "consent_at": now - timedelta(days=30),
        "opted_out": False,
        "unreachable": False,
        "invite_code": f"T{person.n:09d}",
        "tier": "basic",
        "stage": "interest",
        "stage_at": now - timedelta(days=30),
        "risk": "active",
        "points_balance": 0,
        "points_pending": 0,
        "points_earned_total": 0,
        "purchase_count": 0,
        "spent_cents": 0,
        "checkin_streak": 0,
        "last_activity_at": now - timedelta(days=1),
        "created_at": now - timedelta(days=30),
    }
    values.update(person.overrides)
    return values


def _identity_row(person: Person, member_id: int, now: datetime) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "channel": person.channel,
        "platform_user_id": person.user_id,
        "display_name": f"Member {person.n}",
        "language": person.locale,
        "unreachable": False,
        "created_at": now - timedelta(days=30),
        "last_seen_at": now - timedelta(days=1),
    }


def people(count: int, *, start: int = 1, channel: Callable[[int], str] | None = None,
           **fields: Any) -> list[Person]:  # fmt: skip
    """`count` people numbered from `start`; `channel(n)` picks each one's channel."""
    pick = channel or (lambda n: "line" if n % 2 else "telegram")
    return [Person(n=n, channel=pick(n), **fields) for n in range(start, start + count)]
