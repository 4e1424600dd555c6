"""Small pieces the member dialogs share: the sign-up guard for buttons, domain errors in words."""

from __future__ import annotations

from functools import wraps

from bot.dialogs import registry
from bot.dialogs.registry import ButtonHandler
from bot.dialogs.turn import Turn
from bot.i18n import Translator
from core.chat import Reply
from core.kernel import DomainError


def signup_first(handler: ButtonHandler) -> ButtonHandler:
    """A button tap skips the router's sign-up check for commands: someone who has not
    joined (or whose data was erased) is asked to join instead."""

    @wraps(handler)
    def guarded(turn: Turn, args: list[str]) -> Reply:
        if not turn.member.signed_up:
            return registry.COMMANDS["start"].handler(turn)
        return handler(turn, args)

    return guarded


def error_text(t: Translator, error: DomainError) -> str:
    """`error.<code>` from the catalog with the error's params, as the router words errors,
    for dialogs that answer an error and carry on (re-asking a survey question)."""
    key = f"error.{error.code}"
    if t.has(key):
        try:
            return t(key, **error.params)
        except (KeyError, IndexError, ValueError):
            pass
    return t("error.generic")


def words(t: Translator, key: str) -> set[str]:
    """A catalog list of typed words ("skip,pass"), folded for comparing with what was typed."""
    return {word.strip().casefold() for word in t(key).split(",") if word.strip()}
