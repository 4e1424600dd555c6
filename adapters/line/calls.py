"""Calls to the LINE Messaging API, with LINE's failures handled by status.

429 → wait (Retry-After when LINE sends it, else exponential backoff) and try again, unless
the monthly message limit is used up; 5xx and timeouts → try again with the same
X-Line-Retry-Key, where the call takes one (409 on a repeat means LINE already accepted
it); anything else is a `Failure` for the caller to sort out (a blocked user, a bad token).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
)

from adapters.ratelimit import TokenBucket
from core.chat import SendResult

log = logging.getLogger(__name__)
T = TypeVar("T")

REQUESTS_PER_SECOND = 1000  # below LINE's 2,000/s for push and reply
BLOCKED_MESSAGE = "failed to send messages"  # LINE's 400/403 body for an unreachable user


@dataclass(frozen=True)
class Failure:
    """A call LINE did not accept: its HTTP status (0 when there was no answer at all)."""

    status: int
    message: str

    @property
    def reply_token_unusable(self) -> bool:
        """Whether to push instead: the token is used up or expired, or the reply's fate
        is unknown (a 5xx or no answer)."""
        if self.status == 400:
            return "reply token" in self.message.lower()
        return self.status == 0 or self.status >= 500

    @property
    def blocked(self) -> bool:
        return self.status in (400, 403) and BLOCKED_MESSAGE in self.message.lower()

    def result(self, *, single_recipient: bool = True) -> SendResult:
        if single_recipient and self.blocked:
            return SendResult("blocked", f"LINE {self.status}: {self.message}")
        return SendResult("failed", f"LINE {self.status}: {self.message}")


@dataclass(frozen=True)
class RetryPolicy:
    """How long one call may take, how often it is tried, and how long to wait between
    tries (doubling from `backoff`, never more than `max_wait`, Retry-After included)."""

    request_timeout: float = 20.0
    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0


class LineApiError(Exception):
    """A LINE call that failed for good (rich menus, quota)."""

    def __init__(self, what: str, failure: Failure) -> None:
        super().__init__(f"{what}: LINE answered {failure.status}: {failure.message}")
        self.status = failure.status
        self.message = failure.message


class LineCalls:
    """The SDK's async APIs with retries, waits and a shared request rate."""

    def __init__(
        self, api: AsyncMessagingApi, blob: AsyncMessagingApiBlob, policy: RetryPolicy
    ) -> None:
        self.api, self.blob = api, blob
        self.request_timeout = policy.request_timeout
        self.attempts = max(1, policy.attempts)
        self.backoff = policy.backoff
        self.max_wait = policy.max_wait
        self.bucket = TokenBucket(REQUESTS_PER_SECOND)

    async def reply(self, request: ReplyMessageRequest) -> Failure | None:
        # A reply takes no retry key, so only a 429 (not processed) is tried again.
        return await self._call("reply", lambda: self.api.reply_message(request), retry=False)

    async def push(self, request: PushMessageRequest, retry_key: str) -> Failure | None:
        return await self._call(
            "push",
            lambda: self.api.push_message(request, x_line_retry_key=retry_key),
            retry=True,
            retry_key=retry_key,
        )

    async def multicast(self, request: MulticastRequest, retry_key: str) -> Failure | None:
        return await self._call(
            "multicast",
            lambda: self.api.multicast(request, x_line_retry_key=retry_key),
            retry=True,
            retry_key=retry_key,
        )

    async def quota(self) -> tuple[int | None, int]:
        quota = await self.checked("message quota", lambda api: api.get_message_quota())
        used = await self.checked(
            "message quota consumption", lambda api: api.get_message_quota_consumption()
        )
        limit = quota.value if quota.type == "limited" else None
        return limit, int(used.total_usage)

    async def create_rich_menu(
        self, request: RichMenuRequest, image: bytes, content_type: str
    ) -> str:
        created = await self.checked("create rich menu", lambda api: api.create_rich_menu(request))
        menu_id = str(created.rich_menu_id)
        failure = await self._call(
            "upload rich menu image",
            lambda: self.blob.set_rich_menu_image(
                menu_id, body=image, _headers={"Content-Type": content_type}
            ),
            retry=True,
        )
        if failure is not None:
            await self._call(
                "delete rich menu", lambda: self.api.delete_rich_menu(menu_id), retry=True
            )
            raise LineApiError("upload rich menu image", failure)
        return menu_id

    async def checked(self, what: str, call: Callable[[AsyncMessagingApi], Awaitable[T]]) -> T:
        """Run an idempotent call (retried on 5xx); raise LineApiError when it fails."""
        answer: list[T] = []

        async def run() -> None:
            answer.append(await call(self.api))

        failure = await self._call(what, run, retry=True)
        if failure is not None:
            raise LineApiError(what, failure)
        return answer[-1]

    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[Any]],
        *,
        retry: bool,
        retry_key: str | None = None,
    ) -> Failure | None:
        """None when LINE accepted the call; `retry` when repeating it is safe."""
        delay = self.backoff
        failure = Failure(0, "not tried")
        for attempt in range(1, self.attempts + 1):
            await self.bucket.acquire()
            wait = delay
            try:
                async with asyncio.timeout(self.request_timeout):
                    await call()
                return None
            except ApiException as error:
                failure = Failure(int(error.status or 0), _message(error))
                if failure.status == 409 and retry_key is not None:
                    log.info("LINE %s: retry key already accepted, not sent again", what)
                    return None
                if failure.status == 429 and "monthly limit" not in failure.message.lower():
                    wait = _retry_after(error) or delay
                    self.bucket.pause(min(wait, self.max_wait))
                elif not (retry and failure.status >= 500):
                    _log_failure(what, failure)
                    return failure
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                failure = Failure(0, f"no answer ({type(error).__name__})")
                if not retry:
                    return failure
            if attempt < self.attempts:
                log.warning(
                    "LINE %s: %s %s; attempt %d of %d in %.2fs",
                    what, failure.status, failure.message, attempt + 1, self.attempts, wait,
                )  # fmt: skip
                await asyncio.sleep(min(wait, self.max_wait))
                delay = min(delay * 2, self.max_wait)
        _log_failure(what, failure)
        return failure


def _message(error: ApiException) -> str:
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        details = parsed.get("details")
        return parsed["message"] + (
            f" {json.dumps(details, ensure_ascii=False)}" if details else ""
        )
    return str(body or error.reason or "")[:300]


def _retry_after(error: ApiException) -> float | None:
    value = (error.headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _log_failure(what: str, failure: Failure) -> None:
    if failure.status == 401:
        log.error(
            "LINE %s refused: the channel access token is wrong or expired "
            "(check LINE_CHANNEL_ACCESS_TOKEN): %s",
            what,
            failure.message,
        )
    elif failure.blocked:
        log.info("LINE %s: the user cannot be reached: %s", what, failure.message)
    elif failure.reply_token_unusable:
        log.info("LINE %s: %s (pushing instead)", what, failure.message)
    else:
        log.warning("LINE %s failed: %s %s", what, failure.status, failure.message)
