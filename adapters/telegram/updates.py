"""Telegram webhook bodies → `Incoming`: decoding, shape checks and translation.

Only private chats are served. Text and commands (`/start CODE` deep links,
`/sale@MyBot …`) become messages; stickers, photos and the like become a text-less message
(the dialogs answer those with help); a button tap becomes a "button" with the callback
data as payload and the callback query id as the reply token, so the sender answers the
query; `my_chat_member` says the member blocked or unblocked the bot. Everything else
(edits, channel posts, groups, polls) is ignored.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

import telegram
from telegram.constants import ChatMemberStatus, ChatType

from core.chat import BadUpdate, Incoming, parse_command

CHANNEL = "telegram"
MAX_DEPTH = 32
MAX_ID = 2**63 - 1
SERVED_KINDS = ("message", "callback_query", "my_chat_member")  # as in setWebhook
# Messages with content but no text: the member gets the dialogs' help ("send text").
CONTENT_WITHOUT_TEXT = (
    "sticker", "photo", "video", "animation", "voice", "audio", "video_note", "document",
    "location", "venue", "contact", "poll", "dice", "story", "paid_media",
)  # fmt: skip


def decode(body: bytes) -> dict[str, Any]:
    """The update object of a webhook body, or BadUpdate. Refuses what Telegram never sends
    and our JSON columns cannot store: NaN/Infinity, NUL characters, lone surrogates."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadUpdate(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise BadUpdate(f"expected a JSON object, got {type(data).__name__}")
    update_id = data.get("update_id")
    if not _is_id(update_id) or update_id < 0:
        raise BadUpdate("update_id must be a non-negative integer")
    _check_strings(data)
    return data


def parse(data: dict[str, Any]) -> telegram.Update | None:
    """The Update, built by PTB from the one kind we serve; None for other kinds, which
    are not parsed at all (a kind PTB does not know yet must not turn into a 400)."""
    kind = next((kind for kind in SERVED_KINDS if kind in data), None)
    if kind is None:
        return None
    try:
        return telegram.Update.de_json({"update_id": data["update_id"], kind: data[kind]}, None)
    except Exception as exc:  # de_json raises whatever the odd shape provokes
        raise BadUpdate(f"not an Update: {type(exc).__name__}") from None


def incoming_from(update: telegram.Update | None) -> Incoming | None:
    """The channel-neutral message for an update; None for one we ignore. Raises
    BadUpdate when a field we read has the wrong type."""
    if update is None:
        return None
    try:
        if update.message is not None:
            return _from_message(update, update.message)
        if update.callback_query is not None:
            return _from_callback(update, update.callback_query)
        if update.my_chat_member is not None:
            return _from_chat_member(update, update.my_chat_member)
    except (AttributeError, TypeError, ValueError) as exc:
        # PTB builds objects with required fields missing or mistyped; reading them fails.
        raise BadUpdate(f"a malformed update: {type(exc).__name__}") from None
    return None


def _from_message(update: telegram.Update, message: telegram.Message) -> Incoming | None:
    if not _private(message.chat) or message.from_user is None:
        return None
    text = message.text
    if text is None:
        if not any(getattr(message, kind, None) for kind in CONTENT_WITHOUT_TEXT):
            return None  # a service message: pinned, chat background, payment, …
        text = ""
    if not isinstance(text, str):
        raise BadUpdate("message.text must be a string")
    command, args = parse_command(text)
    return _incoming(
        update,
        message.from_user,
        message.chat,
        kind="message",
        text=text,
        command=command,
        args=args,
        received_at=message.date,
    )


def _from_callback(update: telegram.Update, query: telegram.CallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or not _private(message.chat) or query.data is None:
        return None  # a button under an inline-mode message, a group, or a game
    if not isinstance(query.data, str) or not isinstance(query.id, str) or not query.id:
        raise BadUpdate("callback_query.id and .data must be strings")
    return _incoming(
        update,
        query.from_user,
        message.chat,
        kind="button",
        payload=query.data,
        reply_token=query.id,
    )


def _from_chat_member(
    update: telegram.Update, change: telegram.ChatMemberUpdated
) -> Incoming | None:
    if not _private(change.chat):
        return None
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:  # "kicked": the member blocked the bot
        return _incoming(update, change.from_user, change.chat, kind="blocked")
    if status == ChatMemberStatus.MEMBER:
        return _incoming(update, change.from_user, change.chat, kind="unblocked")
    return None


def _incoming(
    update: telegram.Update, user: telegram.User, chat: telegram.Chat, **fields: Any
) -> Incoming:
    if not isinstance(user, telegram.User) or not isinstance(chat, telegram.Chat):
        raise BadUpdate("an update without its user or chat")
    if not _is_id(user.id) or not _is_id(chat.id):
        raise BadUpdate("user and chat ids must be integers")
    names = [user.first_name, user.last_name]
    if not all(name is None or isinstance(name, str) for name in names):
        raise BadUpdate("names must be strings")
    language = user.language_code if isinstance(user.language_code, str) else None
    return Incoming(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat.id),
        display_name=" ".join(name for name in names if name)[:200] or None,
        language=language[:16] if language else None,
        event_id=str(update.update_id),
        **fields,
    )


def _private(chat: telegram.Chat | None) -> bool:
    return chat is not None and chat.type == ChatType.PRIVATE


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _check_strings(data: object) -> None:
    """Walk the body (iteratively: depth is bounded, not the stack) checking every string."""
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadUpdate("nested too deeply")
        if isinstance(value, dict):
            stack.extend((key, depth + 1) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not _storable(value):
            raise BadUpdate("text with NUL characters or lone surrogates")


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
