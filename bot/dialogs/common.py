"""Small pieces the dialogs share: domain errors in words, typed words from a catalog."""

from __future__ import annotations

from bot.i18n import Translator
from core.kernel import DomainError


def error_text(t: Translator, error: DomainError) -> str:
    """`error.<code>` from the catalog with the error's params: how the router answers a
    domain error, and how dialogs that carry on word one (re-asking a survey question)."""
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
