"""LINE webhooks: the signature check, the events of a body, and each event as the core's
`Incoming` — parsed with line-bot-sdk's models, which stay inside this module.

Stored events are plain JSON dicts (the body's own), so LINE's pydantic-v1 models never
meet our pydantic-v2/SQLModel models.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from linebot.v3 import SignatureValidator
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from core.chat import BadUpdate, InboundItem, Incoming, parse_command, user_key

log = logging.getLogger(__name__)

CHANNEL = "line"
SIGNATURE_HEADER = "x-line-signature"
MAX_NESTING = 32


def verify_signature(
    validator: SignatureValidator, headers: Mapping[str, str], body: bytes
) -> bool:
    """X-Line-Signature is the base64 HMAC-SHA256 of the body; the SDK compares it in
    constant time. The SDK wants the body as text, so a body that is not UTF-8 fails."""
    signature = headers.get(SIGNATURE_HEADER) or headers.get("X-Line-Signature")
    if not signature:
        return False
    try:
        return bool(validator.validate(body.decode("utf-8"), signature))
    except (UnicodeError, ValueError):
        return False


def split_events(body: bytes) -> list[InboundItem]:
    """One item per event, keyed by webhookEventId (the same on every redelivery).

    An empty `events` list is LINE's "verify" request. Events without an id cannot be
    deduplicated; LINE always sends one, so they are skipped rather than stored."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise BadUpdate("the body is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise BadUpdate('expected {"destination": ..., "events": [...]}')
    items: dict[str, InboundItem] = {}
    for event in data["events"]:
        if not isinstance(event, dict):
            raise BadUpdate("an event is not an object")
        if not _storable(event):
            raise BadUpdate("an event holds values that cannot be stored")
        event_id = event.get("webhookEventId")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
            log.warning("LINE event without a usable webhookEventId skipped")
            continue
        items.setdefault(event_id, InboundItem(event_id, event, _user_key(event)))
    return list(items.values())


def event_to_incoming(payload: dict[str, Any]) -> Incoming | None:
    """The neutral message for one stored event, parsed with the SDK; None to ignore."""
    event = _parse(payload)
    if event is None:
        log.info("LINE event of type %r ignored", payload.get("type"))
        return None
    source = getattr(event, "source", None)
    # Group and room chats are ignored: points, coupons and personal data belong in the
    # member's one-to-one chat with the account, not in front of a group.
    if not isinstance(source, UserSource) or not _plausible_user_id(source.user_id):
        return None
    user_id = source.user_id
    # In "standby" mode another channel owns the chat (e.g. an operator's module): the
    # bot must not answer, but a block still makes the member unreachable.
    standby = getattr(event.mode, "value", event.mode) == "standby"
    if isinstance(event, UnfollowEvent):
        return _incoming(event, user_id, "unfollow")
    if standby:
        return None
    if isinstance(event, FollowEvent):
        unblocked = bool(event.follow and event.follow.is_unblocked)
        return _incoming(event, user_id, "unblocked" if unblocked else "follow")
    if isinstance(event, PostbackEvent):
        return _incoming(event, user_id, "button", payload=event.postback.data)
    if isinstance(event, MessageEvent):
        if not isinstance(event.message, TextMessageContent):
            # Stickers, photos, locations: an empty message, so the dialogs answer with
            # help instead of silence.
            return _incoming(event, user_id, "message")
        text = event.message.text
        command, args = parse_command(text)
        return _incoming(event, user_id, "message", text=text, command=command, args=args)
    return None


def _incoming(event: Any, user_id: str, kind: str, **fields: Any) -> Incoming:
    try:
        received: datetime | None = datetime.fromtimestamp(event.timestamp / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        received = None
    return Incoming(
        channel=CHANNEL,
        user_id=user_id,
        kind=kind,  # type: ignore[arg-type]
        event_id=event.webhook_event_id,
        reply_token=getattr(event, "reply_token", None),
        received_at=received,
        **fields,
    )


def _parse(payload: dict[str, Any]) -> Any:
    """The SDK's event, or None for unknown event types and malformed events."""
    try:
        return Event.from_dict(payload)
    except Exception:
        pass
    message = payload.get("message")
    if payload.get("type") != "message" or not isinstance(message, dict):
        return None
    # A kind of message this SDK version does not know yet: read it as an empty text, so
    # the member still gets an answer.
    stub = {"id": str(message.get("id") or "0"), "type": "text", "text": "", "quoteToken": ""}
    try:
        return Event.from_dict({**payload, "message": stub})
    except Exception:
        return None


def _plausible_user_id(user_id: str | None) -> bool:
    # LINE user ids are "U" and 32 hex digits; anything far longer is not LINE's.
    return bool(user_id) and len(user_id or "") <= 100


def _user_key(event: dict[str, Any]) -> str | None:
    source = event.get("source")
    if isinstance(source, dict):
        user_id = source.get("userId")
        if isinstance(user_id, str) and 0 < len(user_id) <= 150:
            return user_key("line", user_id)
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(value: Any, depth: int = 0) -> bool:
    """Whether both databases can store the event as JSON: PostgreSQL's jsonb refuses NUL
    characters, lone surrogates and infinite numbers, and deep nesting is never LINE's."""
    if depth > MAX_NESTING:
        return False
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_storable(k, depth + 1) and _storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(item, depth + 1) for item in value)
    return True
