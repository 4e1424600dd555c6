"""The port every chat channel implements: check and split webhook bodies, translate
updates to `Incoming`, and send replies. Implementations live in adapters/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from core.chat.messages import Incoming, Reply

# in_doubt: the request may have reached the platform, which did not say (a timeout);
# sending it again could show it twice.
SendStatus = Literal["sent", "blocked", "failed", "in_doubt"]
# Awaited right before a request leaves, by a send that must not repeat (outbox deliveries
# on a platform with no idempotency key): the sender records that the message is going.
BeforeRequest = Callable[[], Awaitable[None]]


class BadUpdate(Exception):
    """A webhook body that is not what the platform sends (not JSON, wrong shape)."""


def user_key(channel: str, user_id: str | int) -> str:
    """The inbox's key for one chat user's updates: `telegram:42`, `line:U…`."""
    return f"{channel}:{user_id}"


@dataclass(frozen=True)
class InboundItem:
    """One update or event from a webhook body, with the platform's id for it."""

    update_id: str
    payload: dict[str, Any]
    user_key: str | None = None  # who it is from, so one user's updates run in order
    # A platform API call to make with the webhook's answer, at once and at no cost, while
    # the update waits in the inbox (Telegram: answerCallbackQuery, so a tapped button
    # stops spinning before its reply, whatever the queue).
    answer: dict[str, Any] | None = None


@dataclass(frozen=True)
class SendResult:
    """What became of a send, as facts a sender acts on. `detail` is for people (logs, a
    delivery's reason) and is never parsed: whatever a caller needs to decide is a field."""

    status: SendStatus
    detail: str = ""
    # The platform's HTTP status for the request that settled the send (LINE: 409 when a
    # retry key was accepted before). None when no answer came, no request was needed,
    # or the SDK does not tell (python-telegram-bot reports a 5xx without its code).
    status_code: int | None = None
    # The same send may be made again later, with the same `retry_key`, and may then go
    # through: the failure may pass (no answer, a 5xx, a rate limit that outlasted our
    # waits) and the platform dedupes on the key, so a request that did arrive is not
    # shown twice (LINE's X-Line-Retry-Key). Never on a channel without such a key
    # (Telegram), where a send cut off is `in_doubt` instead.
    retryable: bool = False
    # The month's message quota is used up (LINE): no retry goes through before it renews.
    quota_exhausted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "sent"

    @property
    def member_unreachable(self) -> bool:
        """The member blocked or unfollowed the bot: nothing reaches them on this account."""
        return self.status == "blocked"


class Channel(Protocol):
    name: str

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the request really comes from the platform (secret or signature)."""
        ...

    def split(self, body: bytes) -> list[InboundItem]:
        """The updates in a verified webhook body; raises BadUpdate when malformed."""
        ...

    def to_incoming(self, payload: dict[str, Any]) -> Incoming | None:
        """The channel-neutral message for one stored update; None for updates we ignore."""
        ...

    async def send(
        self,
        address: str,
        reply: Reply,
        *,
        reply_token: str | None = None,
        retry_key: str | None = None,
        before_request: BeforeRequest | None = None,
    ) -> SendResult:
        """Deliver a reply; waits out rate limits; 'blocked' when the user blocked the bot.
        A channel whose sends carry `retry_key` to the platform (LINE) ignores
        `before_request`; one without (Telegram) awaits it before the first request and
        answers `in_doubt` rather than retry a request that may have arrived."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...
