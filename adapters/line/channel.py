"""The LINE channel (line-bot-sdk 3, `linebot.v3`): webhook signature and events in, replies
out through the Messaging API — reply token first (free), push otherwise, multicast for
campaigns — plus the message quota and rich menus.

LINE's SDK models are pydantic v1; they stay inside the adapter (webhook events are parsed
in adapters.line.events). What leaves it is plain JSON and the core's own types.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
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

from adapters.line.calls import OK, LineCalls, RetryPolicy
from adapters.line.events import event_to_incoming, split_events, verify_signature
from adapters.line.render import JSON, batches, postback_action, render_reply
from adapters.line.rich_menu import menu_layout
from core.chat import BeforeRequest, Button, InboundItem, Incoming, Reply, SendResult

log = logging.getLogger(__name__)


LINE_API = "https://api.line.me"
MULTICAST_LIMIT = 500
RETRY_KEYS = uuid.UUID("6c1f3a52-8e0b-4c1e-9f55-2b7d4f0f6a10")  # namespace for uuid5


class LineChannel:
    """LINE as a chat channel (see core.chat.channel.Channel), plus campaign sending, the
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
        return verify_signature(self._validator, headers, body)

    def split(self, body: bytes) -> list[InboundItem]:
        return split_events(body)

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        return event_to_incoming(payload)

    # ---- sending ------------------------------------------------------------------------

    async def send(
        self,
        address: str,
        reply: Reply,
        *,
        reply_token: str | None = None,
        retry_key: str | None = None,
        before_request: BeforeRequest | None = None,  # the retry key already dedupes
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
        first, answer = 0, OK
        if reply_token:
            answer = await calls.reply(
                ReplyMessageRequest(reply_token=reply_token, messages=groups[0])
            )
            if answer.accepted:
                first = 1
            elif not answer.reply_token_unusable:
                return answer.result()
            # The token was used up or expired, or the reply failed in a way that leaves
            # its fate unknown (5xx, timeout: reply calls take no retry key). Pushing can
            # then show a message twice, which beats not answering at all.
        for index in range(first, len(groups)):
            key = push_retry_key(retry_key, address, index)
            request = PushMessageRequest(to=address, messages=groups[index])
            answer = await calls.push(request, key)
            if not answer.accepted:
                return answer.result()
        pushes = len(groups) - first
        detail = " + ".join(["reply"] * first + [f"push × {pushes}"] * bool(pushes))
        return answer.result(detail=detail)

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
            answer = OK
            for index, group in enumerate(groups):
                key = multicast_retry_key(retry_key, chunk, index)
                answer = await self.calls.multicast(MulticastRequest(to=chunk, messages=group), key)
                if not answer.accepted:
                    break
            results.update(dict.fromkeys(chunk, answer.result(single_recipient=False)))
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
