"""The dialog router: one incoming message in, one reply (and notices to others) out.

Nothing here knows a platform. A domain error becomes a helpful reply in the member's
language; an unexpected error is logged and answered politely — never a stack trace.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from bot.app import Services
from bot.dialogs import registry

# Importing a dialog module registers its commands, buttons and text handlers.
from bot.dialogs import member as member_dialogs  # noqa: F401  isort: skip
from bot.dialogs import account, coupons, mydata, rewards, surveys, tiers  # noqa: F401  isort: skip
from bot.dialogs.admin import commands as admin_dialogs  # noqa: F401  isort: skip
from bot.dialogs.campaigns import buttons as campaign_buttons  # noqa: F401  isort: skip
from bot.dialogs.campaigns import commands as campaign_dialogs  # noqa: F401  isort: skip
from bot.dialogs.menus import menu_buttons as help_buttons
from bot.dialogs.state import get_state
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
            return Outcome(error_reply(translator, error), turn.notices if turn else [])
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
            return registry.COMMANDS["start"].handler(turn)
        if incoming.kind == "button" and incoming.payload:
            prefix, *args = incoming.payload.split(":")
            if prefix == "cmd" and args:
                return self._command(turn, args[0])
            handler = registry.BUTTONS.get(prefix)
            if handler is None:
                return registry.COMMANDS["help"].handler(turn)
            return handler(turn, args)
        if incoming.command:
            return self._command(turn, incoming.command)
        return self._text(turn, incoming.text)

    def _command(self, turn: Turn, name: str) -> Reply:
        command = registry.COMMANDS.get(name)
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
            return registry.COMMANDS["start"].handler(turn)
        return command.handler(turn)

    def _text(self, turn: Turn, text: str) -> Reply:
        text = text.strip()
        if not text:
            return registry.COMMANDS["help"].handler(turn)
        if len(text) > MAX_TEXT_CHARS:
            return Reply.text(turn.t("help.too_long"), buttons=help_buttons(turn))
        with turn.services.database.reader() as session:
            state = get_state(
                session, channel=turn.channel, user_id=turn.incoming.user_id, now=turn.now
            )
        if state is not None and state.state in registry.STATE_HANDLERS:
            reply = registry.STATE_HANDLERS[state.state](turn, text)
            if reply is not None:
                return reply
        for handler in registry.TEXT_HANDLERS:
            reply = handler(turn, text)
            if reply is not None:
                return reply
        alias = command_for_word(turn, text)
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


def error_reply(t: Translator, error: DomainError) -> Reply:
    """A domain error in the member's words: `error.<code>` from the catalog."""
    key = f"error.{error.code}"
    if t.has(key):
        try:
            return Reply.text(t(key, **{k: v for k, v in error.params.items()}))
        except (KeyError, IndexError, ValueError):
            pass
    return Reply.text(t("error.generic"))


def command_for_word(turn: Turn, text: str) -> str | None:
    """LINE members type commands as words ("points", "點數"); map a lone word to a command."""
    word = text.strip().lstrip("/").lower()
    if word in registry.COMMANDS and not registry.COMMANDS[word].admin:
        return word
    for name in registry.COMMANDS:
        key = f"aliases.{name}"
        if turn.t.has(key) and word in {a.strip().lower() for a in turn.t(key).split(",")}:
            return name
    return None
