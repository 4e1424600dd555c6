"""Chat menus stored per channel — a default menu and one per tier — and the tier changes
whose members are still to be given the menu of their tier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.kernel import commit
from core.models import ChannelIdentity, ChatMenu, ChatMenuSync, Member, TierChange

DEFAULT_MENU = "default"


def tier_menu_key(tier_code: str) -> str:
    return f"tier:{tier_code}"


def saved_menus(session: Session, *, channel: str) -> dict[str, str]:
    """{key: platform menu id}; keys are DEFAULT_MENU and tier_menu_key(code)."""
    rows = session.exec(select(ChatMenu).where(ChatMenu.channel == channel)).all()
    return {row.key: row.menu_id for row in rows}


def replace_menus(
    session: Session, *, channel: str, menus: Mapping[str, str], now: datetime
) -> list[str]:
    """Store a new set of menus and start following tier changes from the beginning, so
    every member is given a menu of the new set. Returns the replaced menu ids, for the
    caller to delete on the platform. Commits."""
    old = saved_menus(session, channel=channel)
    for row in session.exec(select(ChatMenu).where(ChatMenu.channel == channel)).all():
        session.delete(row)
    session.flush()
    for key, menu_id in menus.items():
        session.add(ChatMenu(channel=channel, key=key, menu_id=menu_id, created_at=now))
    _set_cursor(session, channel=channel, last_id=0, now=now)
    commit(session)
    return sorted(set(old.values()) - set(menus.values()))


def menu_for(menus: Mapping[str, str], tier_code: str) -> str | None:
    return menus.get(tier_menu_key(tier_code)) or menus.get(DEFAULT_MENU)


@dataclass
class TierChanges:
    """Tier changes read after the cursor, and the chat users of their members."""

    change_ids: list[int] = field(default_factory=list)
    # tier change id → [(platform user id, the member's tier now)]
    users: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def tier_changes_after(session: Session, *, channel: str, after_id: int, limit: int) -> TierChanges:
    """The next `limit` tier changes after `after_id`, with the reachable `channel` users
    of their (not erased) members and each member's current tier."""
    rows = session.exec(
        select(TierChange.id, TierChange.member_id)
        .where(col(TierChange.id) > after_id)
        .order_by(col(TierChange.id))
        .limit(limit)
    ).all()
    found = TierChanges(change_ids=[int(change_id or 0) for change_id, _ in rows])
    member_ids = {member_id for _, member_id in rows}
    if not member_ids:
        return found
    identities = session.exec(
        select(ChannelIdentity.member_id, ChannelIdentity.platform_user_id, Member.tier)
        .join(Member, col(Member.id) == ChannelIdentity.member_id)
        .where(
            ChannelIdentity.channel == channel,
            col(ChannelIdentity.unreachable).is_(False),
            col(ChannelIdentity.member_id).in_(member_ids),
            col(Member.erased_at).is_(None),
        )
    ).all()
    users: dict[int, list[tuple[str, str]]] = {}
    for member_id, user_id, tier in identities:
        users.setdefault(member_id, []).append((user_id, tier))
    for change_id, member_id in rows:
        if member_id in users:
            found.users[int(change_id or 0)] = users[member_id]
    return found


def menu_cursor(session: Session, *, channel: str) -> int:
    row = session.get(ChatMenuSync, channel)
    return row.last_tier_change_id if row else 0


def advance_menu_cursor(session: Session, *, channel: str, last_id: int, now: datetime) -> None:
    """Record that members of tier changes up to `last_id` were given their menus. Never
    moves back (another process may be ahead). Commits."""
    row = session.get(ChatMenuSync, channel)
    if row is None or row.last_tier_change_id < last_id:
        _set_cursor(session, channel=channel, last_id=last_id, now=now)
        try:
            commit(session)
        except IntegrityError:  # another process wrote the first cursor row just now
            session.rollback()


def _set_cursor(session: Session, *, channel: str, last_id: int, now: datetime) -> None:
    row = session.get(ChatMenuSync, channel)
    if row is None:
        session.add(ChatMenuSync(channel=channel, last_tier_change_id=last_id, updated_at=now))
    else:
        row.last_tier_change_id, row.updated_at = last_id, now
