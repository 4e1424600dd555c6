"""The LINE channel (line-bot-sdk 3, `linebot.v3`): webhook signature and events in, replies
out through the Messaging API — reply token first (free), push otherwise, multicast for
campaigns — plus the message quota and rich menus.

LINE's SDK models are pydantic v1; they stay inside this module. What leaves it is plain
JSON (stored webhook events) and the core's own types.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    Message,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
)
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from adapters.line_calls import Failure, LineApiError, LineCalls, RetryPolicy
from adapters.line_menu_image import menu_layout
from adapters.line_render import JSON, batches, postback_action, render_reply
from core.channels import BadUpdate, InboundItem, SendResult
from core.messages import Button, Incoming, Reply, parse_command

log = logging.getLogger(__name__)

__all__ = ["Failure", "LineApiError", "LineChannel"]

LINE_API = "https://api.line.me"
SIGNATURE_HEADER = "x-line-signature"
MULTICAST_LIMIT = 500
MAX_NESTING = 32
RETRY_KEYS = uuid.UUID("6c1f3a52-8e0b-4c1e-9f55-2b7d4f0f6a10")  # namespace for uuid5


class LineChannel:
    """LINE as a chat channel (see core.channels.Channel), plus campaign sending, the
    message quota and rich menus. The SDK client is created in `start()`, never before."""

    name = "line"

    def __init__(
        self,
        *,
        channel_secret: str,
        access_token: str,
        api_url: str = LINE_API,
        request_timeout: float = 20.0,
        attempts: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
    ) -> None:
        self._validator = SignatureValidator(channel_secret)
        self._access_token = access_token
        # With `host` set, the SDK sends every call there, api-data.line.me calls (rich menu
        # images) included; so LINE's own address is left to the SDK's per-call defaults.
        url = api_url.rstrip("/")
        self._host = None if url == LINE_API else url
        self._policy = RetryPolicy(
            request_timeout=request_timeout, attempts=attempts, backoff=backoff, max_wait=max_wait
        )
        self._client: AsyncApiClient | None = None
        self._calls: LineCalls | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is not None:
            return
        configuration = Configuration(host=self._host, access_token=self._access_token)
        self._client = AsyncApiClient(configuration)
        self._calls = LineCalls(
            AsyncMessagingApi(self._client), AsyncMessagingApiBlob(self._client), self._policy
        )

    async def close(self) -> None:
        client, self._client, self._calls = self._client, None, None
        if client is not None:
            await client.close()

    @property
    def calls(self) -> LineCalls:
        if self._calls is None:
            raise RuntimeError("LineChannel.start() was not called (the app's lifespan does it)")
        return self._calls

    # ---- webhooks -----------------------------------------------------------------------

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """X-Line-Signature is the base64 HMAC-SHA256 of the body; the SDK compares it in
        constant time. The SDK wants the body as text, so a body that is not UTF-8 fails."""
        signature = headers.get(SIGNATURE_HEADER) or headers.get("X-Line-Signature")
        if not signature:
            return False
        try:
            return bool(self._validator.validate(body.decode("utf-8"), signature))
        except (UnicodeError, ValueError):
            return False

    def split(self, body: bytes) -> list[InboundItem]:
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

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
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
        # In "standby" mode another channel owns the chat (e.g. an operator's module): the
        # bot must not answer, but a block still makes the member unreachable.
        standby = getattr(event.mode, "value", event.mode) == "standby"
        if isinstance(event, UnfollowEvent):
            return self._incoming(event, source.user_id, "unfollow")
        if standby:
            return None
        if isinstance(event, FollowEvent):
            unblocked = bool(event.follow and event.follow.is_unblocked)
            return self._incoming(event, source.user_id, "unblocked" if unblocked else "follow")
        if isinstance(event, PostbackEvent):
            return self._incoming(event, source.user_id, "button", payload=event.postback.data)
        if isinstance(event, MessageEvent):
            return self._message(event, source.user_id)
        return None

    def _message(self, event: MessageEvent, user_id: str) -> Incoming:
        if not isinstance(event.message, TextMessageContent):
            # Stickers, photos, locations: an empty message, so the dialogs answer with help
            # instead of silence.
            return self._incoming(event, user_id, "message")
        text = event.message.text
        command, args = parse_command(text)
        return self._incoming(event, user_id, "message", text=text, command=command, args=args)

    def _incoming(self, event: Any, user_id: str, kind: str, **fields: Any) -> Incoming:
        try:
            received: datetime | None = datetime.fromtimestamp(event.timestamp / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            received = None
        return Incoming(
            channel=self.name,
            user_id=user_id,
            kind=kind,  # type: ignore[arg-type]
            event_id=event.webhook_event_id,
            reply_token=getattr(event, "reply_token", None),
            received_at=received,
            **fields,
        )

    # ---- sending ------------------------------------------------------------------------

    async def send(
        self,
        address: str,
        reply: Reply,
        *,
        reply_token: str | None = None,
        retry_key: str | None = None,
    ) -> SendResult:
        """Reply with the token when there is one (free); push what the reply could not
        carry, or everything when the token is missing, used up or the reply failed.

        Each push carries an X-Line-Retry-Key derived from `retry_key`, so a push retried
        after a 5xx or a timeout — here, or by a later attempt at the same update — is
        accepted once (LINE answers 409 to the repeat)."""
        calls = self.calls
        try:
            groups = [_models(group) for group in batches(render_reply(reply))]
        except Exception as exc:
            log.exception("could not build LINE messages")
            return SendResult("failed", f"could not build LINE messages: {exc}")
        if not groups:
            return SendResult("sent", "nothing to send")
        first = 0
        if reply_token:
            failure = await calls.reply(
                ReplyMessageRequest(reply_token=reply_token, messages=groups[0])
            )
            if failure is None:
                first = 1
            elif not failure.reply_token_unusable:
                return failure.result()
            # The token was used up or expired, or the reply failed in a way that leaves
            # its fate unknown (5xx, timeout: reply calls take no retry key). Pushing can
            # then show a message twice, which beats not answering at all.
        for index in range(first, len(groups)):
            key = push_retry_key(retry_key, address, index)
            request = PushMessageRequest(to=address, messages=groups[index])
            failure = await calls.push(request, key)
            if failure is not None:
                return failure.result()
        pushes = len(groups) - first
        return SendResult(
            "sent", " + ".join(["reply"] * first + [f"push × {pushes}"] * bool(pushes))
        )

    async def multicast(
        self, user_ids: Sequence[str], reply: Reply, *, retry_key: str
    ) -> dict[str, SendResult]:
        """Send one reply to many users, at most 500 per request; the result per user.

        Every request has its own retry key derived from `retry_key`, the chunk's users and
        the message group, so sending the same list again (after a crash) delivers nothing
        twice, while a changed list gets fresh requests. LINE does not say which recipients
        blocked the account: they count as sent (an unfollow event reports the block)."""
        recipients = list(dict.fromkeys(user_ids))
        groups = [_models(group) for group in batches(render_reply(reply))]
        results: dict[str, SendResult] = {}
        for start in range(0, len(recipients), MULTICAST_LIMIT):
            chunk = recipients[start : start + MULTICAST_LIMIT]
            outcome = SendResult("sent")
            for index, group in enumerate(groups):
                key = multicast_retry_key(retry_key, chunk, index)
                failure = await self.calls.multicast(
                    MulticastRequest(to=chunk, messages=group), key
                )
                if failure is not None:
                    outcome = failure.result(single_recipient=False)
                    break
            results.update(dict.fromkeys(chunk, outcome))
        return results

    async def message_quota(self) -> tuple[int | None, int]:
        """(this month's limit, or None when unlimited; messages used so far)."""
        return await self.calls.quota()

    # ---- rich menus ---------------------------------------------------------------------

    async def create_rich_menu(
        self,
        *,
        name: str,
        chat_bar_text: str,
        buttons: Sequence[Button],
        image: bytes,
        image_type: str = "image/png",
        columns: int = 3,
    ) -> str:
        """Create a rich menu whose buttons fill `menu_layout` and upload its image;
        returns its id. A menu whose image fails to upload is deleted again."""
        areas = [
            {
                "bounds": {"x": a.x, "y": a.y, "width": a.width, "height": a.height},
                "action": _menu_action(button),
            }
            for a, button in zip(menu_layout(len(buttons), columns=columns), buttons, strict=True)
        ]
        definition = {
            "size": {"width": 2500, "height": 843},
            "selected": True,
            "name": name[:300],
            "chatBarText": chat_bar_text[:14],
            "areas": areas,
        }
        return await self.calls.create_rich_menu(
            RichMenuRequest.from_dict(definition), image, image_type
        )

    async def set_default_rich_menu(self, menu_id: str) -> None:
        await self.calls.checked(
            "set default rich menu", lambda api: api.set_default_rich_menu(menu_id)
        )

    async def delete_rich_menu(self, menu_id: str) -> None:
        await self.calls.checked("delete rich menu", lambda api: api.delete_rich_menu(menu_id))

    async def link_rich_menu(self, user_id: str, menu_id: str) -> None:
        """Show `menu_id` to this user instead of the default menu."""
        await self.calls.checked(
            "link rich menu", lambda api: api.link_rich_menu_id_to_user(user_id, menu_id)
        )

    async def link_rich_menu_to_users(self, user_ids: Sequence[str], menu_id: str) -> None:
        """Link many users at once (at most 500 per request)."""
        users = list(dict.fromkeys(user_ids))
        for start in range(0, len(users), MULTICAST_LIMIT):
            request = RichMenuBulkLinkRequest(
                rich_menu_id=menu_id, user_ids=users[start : start + MULTICAST_LIMIT]
            )
            await self.calls.checked("link rich menus", _bulk_link(request))


def _bulk_link(request: RichMenuBulkLinkRequest) -> Callable[[AsyncMessagingApi], Awaitable[Any]]:
    return lambda api: api.link_rich_menu_id_to_users(request)


def push_retry_key(retry_key: str | None, address: str, index: int) -> str:
    """The X-Line-Retry-Key (a UUID) of push number `index` of a send. Deterministic for a
    given `retry_key`, so every attempt at the same send reuses it; random without one
    (which still makes the retries inside one call safe)."""
    if retry_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(RETRY_KEYS, f"push|{retry_key}|{address}|{index}"))


def multicast_retry_key(retry_key: str, chunk: Sequence[str], index: int) -> str:
    return str(uuid.uuid5(RETRY_KEYS, f"multicast|{retry_key}|{index}|{'|'.join(chunk)}"))


def _models(group: list[JSON]) -> list[Message]:
    return [Message.from_dict(message) for message in group]


def _menu_action(button: Button) -> JSON:
    if button.url:
        return {"type": "uri", "label": button.label[:20], "uri": button.url}
    return postback_action(button, 20)


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
            return f"line:{user_id}"
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
