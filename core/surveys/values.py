"""Survey answers: what each question kind accepts, as typed or tapped, and how it is stored."""

from __future__ import annotations

from typing import Any, NamedTuple

from core.kernel import InvalidAnswer
from core.programme import Text, pick_text

SCALES = {"nps": (0, 10), "rating": (1, 5)}
TEXT_MAX = 2000
ANY_LOCALE = "*"
"""The key of a text given as one plain string: the same words in every locale."""


class StoredAnswer(NamedTuple):
    value_int: int | None
    value_text: str | None


def as_texts(text: Text) -> dict[str, str]:
    """A text per locale; `pick_text` finds the `*` entry for any locale."""
    return {ANY_LOCALE: text} if isinstance(text, str) else dict(text)


def answer_range(kind: str, choices: list[Any]) -> tuple[int, int] | None:
    """The whole numbers a question accepts (choices are numbered from 1), if any."""
    if kind in SCALES:
        return SCALES[kind]
    if kind == "choice":
        return 1, len(choices)
    return None


def parse_answer(
    *, kind: str, value: str | int | None, choices: list[dict[str, str]], locale: str
) -> StoredAnswer:
    """The answer to store, or InvalidAnswer naming what the question accepts.

    A choice is stored as its 1-based number and its text in `locale` at the time, so the
    CSV still reads right if the brand later rewords it."""
    if isinstance(value, str):
        value = value.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if kind == "text":
        return _parse_text(value)
    if kind == "choice":
        chosen = _parse_choice(value, choices)
        return StoredAnswer(chosen, pick_text(choices[chosen - 1], locale))
    if kind in SCALES:
        low, high = SCALES[kind]
        number = _whole_number(value)
        if number is None or not low <= number <= high:
            raise InvalidAnswer(
                f"answer with a number from {low} to {high}", kind=kind, low=low, high=high
            )
        return StoredAnswer(number, None)
    raise InvalidAnswer("this question cannot be answered", kind=kind)


def _parse_text(value: str | int | None) -> StoredAnswer:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if not 1 <= len(text) <= TEXT_MAX:
        raise InvalidAnswer(
            f"answer with 1 to {TEXT_MAX} characters",
            kind="text",
            min_length=1,
            max_length=TEXT_MAX,
        )
    return StoredAnswer(None, text)


def _parse_choice(value: str | int | None, choices: list[dict[str, str]]) -> int:
    # A choice's own words win over its number: a choice may itself read "1".
    if isinstance(value, str):
        wanted = value.casefold()
        for index, choice in enumerate(choices, start=1):
            if any(wanted == text.strip().casefold() for text in choice.values()):
                return index
    number = _whole_number(value)
    if number is None or not 1 <= number <= len(choices):
        raise InvalidAnswer(
            f"answer with a choice's number (1 to {len(choices)}) or its text",
            kind="choice",
            low=1,
            high=len(choices),
        )
    return number


def _whole_number(value: str | int | None) -> int | None:
    """An int, or a string of decimal digits (full-width digits typed on phones too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdecimal() and len(value) <= 6:
        return int(value)
    return None
