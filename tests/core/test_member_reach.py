"""Which chat account reaches a member: the outbox and the messenger ask core the same
question and get the same answer, also when two accounts were seen at the same moment."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from bot.app import Services
from bot.inbound import Messenger
from core.chat import Reply, SendResult
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.members import ChatAccount, reaching_account
from core.models import ChannelIdentity, Delivery
from core.outbox import enqueue
from core.programme import Programme
from tests.support.members import add_chat_account, new_member

CHANNELS = ("telegram", "line")


class RecordingChannel:
    """Enough of a channel for the messenger's pushes: it records where each one went."""

    def __init__(self, name: str, sent: list[tuple[str, str]]) -> None:
        self.name = name
        self.sent = sent

    async def send(self, address: str, reply: Reply, **_: Any) -> SendResult:
        self.sent.append((self.name, address))
        return SendResult("sent")


def member_with_two_accounts_seen_together(
    db: Database, clock: FixedClock, programme: Programme
) -> int:
    """A Telegram account, then a LINE account of the same member, both last seen at the
    same moment: only the tie-break can tell them apart."""
    member_id = new_member(db, clock, programme, "alice", channel="telegram")
    seen = clock.now() - timedelta(hours=1)
    add_chat_account(db, member_id, "line", "U-alice", seen=seen)
    with db.session() as session:
        session.execute(
            sa.update(ChannelIdentity)
            .where(col(ChannelIdentity.member_id) == member_id)
            .values(last_seen_at=seen)
        )
        session.commit()
    return member_id


def outbox_target(db: Database, clock: FixedClock, member_id: int) -> tuple[str, str]:
    with db.session() as session:
        result = enqueue(
            session,
            member_id=member_id,
            dedupe_key=f"t:tie:{member_id}",
            content={"text": "Double points today"},
            now=clock.now(),
            channels=CHANNELS,
            promotional=False,
        )
        session.commit()
        delivery = session.exec(select(Delivery).where(Delivery.id == result.delivery_id)).one()
    return delivery.channel, delivery.user_id


def messenger_target(services: Services, member_id: int) -> tuple[str, str]:
    sent: list[tuple[str, str]] = []
    channels = {name: RecordingChannel(name, sent) for name in CHANNELS}
    messenger = Messenger(services, channels)  # type: ignore[arg-type]
    result = asyncio.run(messenger.send_to_member(member_id, Reply.text("Double points today")))
    assert result.ok
    [target] = sent
    return target


def test_a_tie_between_accounts_seen_together_resolves_the_same_for_outbox_and_messenger(
    services: Services, db: Database, clock: FixedClock, programme: Programme
) -> None:
    member_id = member_with_two_accounts_seen_together(db, clock, programme)

    with db.reader() as session:
        chosen = reaching_account(session, member_id=member_id, channels=CHANNELS)

    # The newest account wins the tie, whatever order the database returns rows in.
    assert chosen == ChatAccount("line", "U-alice")
    assert outbox_target(db, clock, member_id) == ("line", "U-alice")
    assert messenger_target(services, member_id) == ("line", "U-alice")


def test_the_most_recently_seen_account_reaches_the_member_and_unreachable_ones_do_not(
    db: Database, clock: FixedClock, programme: Programme
) -> None:
    member_id = member_with_two_accounts_seen_together(db, clock, programme)
    with db.session() as session:
        session.execute(
            sa.update(ChannelIdentity)
            .where(col(ChannelIdentity.channel) == "telegram")
            .values(last_seen_at=clock.now())
        )
        session.commit()

    with db.reader() as session:
        assert reaching_account(session, member_id=member_id, channels=CHANNELS) == ChatAccount(
            "telegram", "alice"
        )
        assert reaching_account(session, member_id=member_id, channels=("line",)) == ChatAccount(
            "line", "U-alice"
        )

    with db.session() as session:
        session.execute(sa.update(ChannelIdentity).values(unreachable=True))
        session.commit()
    with db.reader() as session:
        assert reaching_account(session, member_id=member_id, channels=CHANNELS) is None
