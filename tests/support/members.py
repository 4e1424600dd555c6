"""Building members for tests through the real use cases (and a second chat account,
which no use case adds yet)."""

from __future__ import annotations

from datetime import datetime

from core.kernel import Clock, Database
from core.members import register_contact, sign_up
from core.models import ChannelIdentity
from core.programme import Programme


def new_member(
    db: Database,
    clock: Clock,
    programme: Programme,
    name: str = "alice",
    *,
    channel: str = "console",
    signed_up: bool = True,
    invite_code: str | None = None,
) -> int:
    """A member who contacted the bot as `name` and, unless told otherwise, signed up."""
    with db.session() as session:
        contact = register_contact(
            session,
            clock=clock,
            programme=programme,
            channel=channel,
            platform_user_id=name,
            display_name=name.title(),
        )
    if signed_up:
        with db.session() as session:
            sign_up(
                session,
                clock=clock,
                programme=programme,
                member_id=contact.member_id,
                consent_version=programme.consent.version,
                channel=channel,
                invite_code=invite_code,
            )
    return contact.member_id


def add_chat_account(
    db: Database, member_id: int, channel: str, platform_user_id: str, *, seen: datetime
) -> None:
    """Give the member one more chat account, created and last seen at `seen`."""
    times = {"created_at": seen, "last_seen_at": seen}
    with db.session() as session:
        session.add(
            ChannelIdentity(
                member_id=member_id, channel=channel, platform_user_id=platform_user_id, **times
            )
        )
        session.commit()
