"""The dialog router: one incoming message in, one reply (and notices to others) out.

Nothing here knows a platform. A domain error becomes a helpful reply in the member's
language; an unexpected error is logged and answered politely — never a stack trace.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from bot.app import Services
from bot.dialogs.common import error_text
from bot.dialogs.menus import menu_buttons as help_buttons
from bot.dialogs.registry import COMMAND_PREFIX
from bot.dialogs.state import get_state
from bot.dialogs.table import TABLE
from bot.dialogs.turn import Turn
from bot.i18n import Translator
from core.chat import MAX_TEXT_CHARS, Incoming, Outcome, Reply
from core.funnel import log_member_event
from core.kernel import DomainError
from core.members import mark_reachable, mark_unreachable, register_contact
from core.models import Member
from core.staff import chat_user, record_audit

log = logging.getLogger(__name__)


class Dialogs:
    """The bot's conversations, for every channel alike."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def handle(self, incoming: Incoming) -> Outcome:
        """Answer one incoming message. Never raises, except when the database connection
        was lost mid-turn (nothing of the turn is committed then): the inbox retries."""
        translator = Translator(
            self.services.programme.locale,
            timezone=self.services.programme.timezone,
            currency=self.services.programme.currency,
        )
        turn: Turn | None = None
        try:
            if incoming.kind in ("unfollow", "blocked"):
                self._unreachable(incoming)
                return Outcome(Reply())
            turn = self._turn(incoming)
            translator = turn.t
            if incoming.kind == "unblocked":
                self._reachable(incoming)
            reply = self._dispatch(turn)
            self._record_interaction(turn)
            return Outcome(reply, turn.notices)
        except DomainError as error:
            reply = Reply.text(error_text(translator, error))  # in the member's words
            return Outcome(reply, turn.notices if turn else [])
        except Exception as error:
            if isinstance(error, DBAPIError) and error.connection_invalidated:
                raise  # the database went away mid-turn: the inbox retries the update
            log.exception("dialog failed for %s:%s", incoming.channel, incoming.user_id)
            return Outcome(Reply.text(translator("error.unexpected")))

    def _turn(self, incoming: Incoming) -> Turn:
        services = self.services
        with services.database.reader() as session:
            member, admin = chat_user(
                session,
                channel=incoming.channel,
                platform_user_id=incoming.user_id,
                configured=set(services.settings.admins),
            )
        member = member or self._first_contact(incoming)
        translator = Translator(
            member.locale, timezone=member.timezone, currency=services.programme.currency
        )
        return Turn(
            services=services,
            incoming=incoming,
            member=member,
            t=translator,
            now=services.clock.now(),
            is_admin=admin,
            commands=TABLE,
        )

    def _first_contact(self, incoming: Incoming) -> Member:
        """A first contact creates the sender's member record (awareness stage)."""
        services = self.services
        with services.database.session() as session:
            contact = register_contact(
                session,
                clock=services.clock,
                programme=services.programme,
                channel=incoming.channel,
                platform_user_id=incoming.user_id,
                display_name=incoming.display_name,
                language=incoming.language,
            )
        with services.database.reader() as session:
            member = session.get(Member, contact.member_id)
        assert member is not None
        return member

    def _dispatch(self, turn: Turn) -> Reply:
        incoming = turn.incoming
        if incoming.kind == "follow":
            return _start(turn)
        if incoming.kind == "button" and incoming.payload:
            prefix, *args = incoming.payload.split(":")
            if prefix == COMMAND_PREFIX and args:
                return self._command(turn, args[0])
            button = TABLE.buttons.get(prefix)
            if button is None:
                return _help(turn)
            if button.needs_signup and not turn.member.signed_up:
                return _start(turn)  # someone who has not joined (or was erased) joins first
            return button.handler(turn, args)
        if incoming.command:
            return self._command(turn, incoming.command)
        return self._text(turn, incoming.text)

    def _command(self, turn: Turn, name: str) -> Reply:
        command = TABLE.commands.get(name)
        if command is None:
            return Reply.text(
                turn.t("help.unknown_command", command=name[:32]), buttons=help_buttons(turn)
            )
        if command.admin and not turn.is_admin:
            with turn.session() as session:
                record_audit(
                    session,
                    actor=turn.actor,
                    action=f"command:{name}",
                    target=" ".join(turn.incoming.args)[:160] or None,
                    allowed=False,
                    details={"reason": "not an admin"},
                    clock=turn.services.clock,
                )
            return Reply.text(turn.t("admin.refused"))
        if command.needs_signup and not turn.member.signed_up:
            return _start(turn)
        return command.handler(turn)

    def _text(self, turn: Turn, text: str) -> Reply:
        text = text.strip()
        if not text:
            return _help(turn)
        if len(text) > MAX_TEXT_CHARS:
            return Reply.text(turn.t("help.too_long"), buttons=help_buttons(turn))
        with turn.services.database.reader() as session:
            state = get_state(
                session, channel=turn.channel, user_id=turn.incoming.user_id, now=turn.now
            )
        if state is not None and state.state in TABLE.states:
            reply = TABLE.states[state.state].handler(turn, text)
            if reply is not None:
                return reply
        for handler in TABLE.texts:
            reply = handler(turn, text)
            if reply is not None:
                return reply
        alias = TABLE.command_for_word(turn.t, text)
        if alias is not None:
            return self._command(turn, alias)
        return Reply.text(turn.t("help.not_understood"), buttons=help_buttons(turn))

    def _record_interaction(self, turn: Turn) -> None:
        incoming = turn.incoming
        with turn.session() as session:
            log_member_event(
                session,
                member_id=turn.member_id,
                channel=incoming.channel,
                type=incoming.kind,
                now=turn.now,
                payload={"command": incoming.command} if incoming.command else {},
            )
            session.commit()

    def _unreachable(self, incoming: Incoming) -> None:
        with self.services.database.session() as session:
            mark_unreachable(
                session,
                clock=self.services.clock,
                channel=incoming.channel,
                platform_user_id=incoming.user_id,
            )

    def _reachable(self, incoming: Incoming) -> None:
        with self.services.database.session() as session:
            mark_reachable(
                session,
                clock=self.services.clock,
                channel=incoming.channel,
                platform_user_id=incoming.user_id,
            )


def _start(turn: Turn) -> Reply:
    return TABLE.commands["start"].handler(turn)


def _help(turn: Turn) -> Reply:
    return TABLE.commands["help"].handler(turn)
