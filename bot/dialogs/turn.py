"""One turn of a conversation: the incoming message, who sent it, and how to answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.app import Services
from bot.i18n import Translator
from core.chat import Incoming, Notice, Reply
from core.models import Member
from core.programme import Programme


class Commands(Protocol):
    """The command table as a dialog sees it: a campaign's button runs a member command by
    name, a survey tells a command word from an answer. The turn carries it because the
    table (bot/dialogs/table.py) imports every dialog, so no dialog may import the table."""

    def member_command(self, name: str) -> Callable[[Turn], Reply] | None: ...

    def command_for_word(self, t: Translator, text: str) -> str | None: ...


@dataclass
class Turn:
    services: Services
    incoming: Incoming
    member: Member
    t: Translator
    now: datetime
    is_admin: bool
    commands: Commands
    notices: list[Notice] = field(default_factory=list)

    @property
    def programme(self) -> Programme:
        return self.services.programme

    @property
    def channel(self) -> str:
        return self.incoming.channel

    @property
    def member_id(self) -> int:
        return self.member.id or 0

    @property
    def actor(self) -> str:
        """Who did it, for the ledger and the audit log: `telegram:123`."""
        return f"{self.incoming.channel}:{self.incoming.user_id}"

    def session(self) -> Session:
        return self.services.database.session()

    def key(self, purpose: str) -> str | None:
        """An idempotency key tied to the platform's event id, so a redelivered update has
        no second effect; None when the channel gives no event id (the console)."""
        if not self.incoming.event_id:
            return None
        return f"{self.incoming.channel}:{self.incoming.event_id}:{purpose}"

    def translator_for(self, member: Member) -> Translator:
        return Translator(member.locale, timezone=member.timezone, currency=self.programme.currency)

    def refresh_member(self, session: Session | None = None) -> Member:
        """The member as stored now (after this turn's writes), read in `session` when the
        caller has one open, so a card costs one read transaction."""
        if session is None:
            with self.services.database.reader() as reader:
                member = reader.get(Member, self.member_id)
        else:
            member = session.get(Member, self.member_id)
        assert member is not None
        self.member = member
        self.t = self.translator_for(member)
        return member
