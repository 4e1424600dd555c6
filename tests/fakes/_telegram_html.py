"""Telegram's `parse_mode=HTML` rules, strictly enough to catch text that was not escaped.

Telegram rejects a message whose HTML it cannot parse ("Bad Request: can't parse
entities: ..."), e.g. a member name such as "<3" sent unescaped. The fake does the same,
so an adapter that forgets `html.escape` fails in tests, not in production.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)\s*>")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str() is Telegram's description."""


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("#"):
        return html.unescape(match.group(0))
    # Telegram supports only these named entities; others stay as typed.
    return _NAMED_ENTITIES.get(name, match.group(0))


def html_to_text(text: str) -> str:
    """The visible text of a Telegram-HTML message; raises EntityParseError when invalid."""
    visible: list[str] = []
    open_tags: list[str] = []
    index = 0
    while index < len(text):
        if text[index] != "<":
            # A bare ">" or "&" passes in practice; a bare "<" never does.
            end = text.find("<", index)
            end = len(text) if end == -1 else end
            visible.append(_ENTITY.sub(_entity, text[index:end]))
            index = end
            continue
        match = _TAG.match(text, index)
        if match is None:
            raise EntityParseError(
                f'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset '
                f"{_offset(text, index)}"
            )
        closing, name = match.group(1) == "/", match.group(2).lower()
        if not closing and name not in ALLOWED_TAGS:
            raise EntityParseError(
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte '
                f"offset {_offset(text, index)}"
            )
        if closing:
            if not open_tags:
                raise EntityParseError(
                    "Bad Request: can't parse entities: Unexpected end tag at byte offset "
                    f"{_offset(text, index)}"
                )
            expected = open_tags.pop()
            if expected != name:
                raise EntityParseError(
                    "Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{_offset(text, index)}, expected "</{expected}>", found "</{name}>"'
                )
        else:
            open_tags.append(name)
        index = match.end()
    if open_tags:
        raise EntityParseError(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"'
        )
    return "".join(visible)
