"""Which chat account reaches a member: the one query the outbox, campaign launches and
direct sends (bot.inbound.Messenger) share, so they never pick different accounts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.models import ChannelIdentity, Member

_CI = ChannelIdentity.__table__  # type: ignore[attr-defined]
_M = Member.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ChatAccount:
    channel: str
    platform_user_id: str


def latest_identity(member_id: Any, channels: Collection[str]) -> Any:
    """A scalar subquery: the id of the member's most recently seen reachable chat account
    on one of `channels` (where a message to them goes). Accounts seen at the same moment
    go to the newest one (highest id), so every caller picks the same account."""
    identity = _CI.alias("latest_identity")
    return (
        sa.select(identity.c.id)
        .where(
            identity.c.member_id == member_id,
            identity.c.unreachable.is_(False),
            identity.c.channel.in_(sorted(channels)),
        )
        .order_by(identity.c.last_seen_at.desc(), identity.c.id.desc())
        .limit(1)
        .correlate_except(identity)
        .scalar_subquery()
    )


def reaching_account(
    session: Session, *, member_id: int, channels: Collection[str]
) -> ChatAccount | None:
    """The chat account a message to the member goes to (see `latest_identity`), or None
    when the member is erased, unknown or has no reachable account on `channels`."""
    row = session.execute(
        sa.select(_CI.c.channel, _CI.c.platform_user_id)
        .join(_M, _M.c.id == _CI.c.member_id)
        .where(_CI.c.id == latest_identity(member_id, channels), _M.c.erased_at.is_(None))
    ).first()
    return ChatAccount(row.channel, row.platform_user_id) if row is not None else None
