"""Calls to the LINE Messaging API, with LINE's failures handled by status.

429 → wait (Retry-After when LINE sends it, else exponential backoff) and try again, unless
the monthly message limit is used up; 5xx and timeouts → try again with the same
X-Line-Retry-Key, where the call takes one (409 on a repeat means LINE already accepted
it); anything else is an `Answer` LINE did not accept, for the caller to sort out (a
blocked user, a bad token).
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
MONTHLY_LIMIT_MESSAGE = "monthly limit"  # in LINE's 429 body when the month's quota is used up


@dataclass(frozen=True)
class Answer:
    """LINE's answer to a call: its HTTP status (0 when none came) and message; `accepted`
    when LINE took the call (a 2xx, or a 409 to a retry key it had accepted before), and
    `keyed` when the call carried an X-Line-Retry-Key."""

    status: int
    message: str = ""
    accepted: bool = False
    keyed: bool = False

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

    @property
    def quota_exhausted(self) -> bool:
        return self.status == 429 and MONTHLY_LIMIT_MESSAGE in self.message.lower()

    @property
    def rate_limited(self) -> bool:
        """Too many requests for now: LINE did not process it (not the month's quota)."""
        return self.status == 429 and not self.quota_exhausted

    @property
    def retryable(self) -> bool:
        """Whether the same call may be made again later, and go through without arriving
        twice: refused for now (a rate limit), or of unknown fate (no answer, a 5xx) under a
        retry key."""
        unknown_fate = self.status == 0 or self.status >= 500
        return self.rate_limited or (unknown_fate and self.keyed)

    def result(self, *, single_recipient: bool = True, detail: str = "") -> SendResult:
        """The send's result with this answer's facts; `detail` of a send that went out."""
        if self.accepted:
            return SendResult("sent", detail, status_code=self.status)
        blocked = single_recipient and self.blocked
        return SendResult(
            "blocked" if blocked else "failed",
            f"LINE {self.status}: {self.message}",
            status_code=self.status or None,
            retryable=self.retryable,
            quota_exhausted=self.quota_exhausted,
        )


OK = Answer(200, accepted=True)


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

    def __init__(self, what: str, answer: Answer) -> None:
        super().__init__(f"{what}: LINE answered {answer.status}: {answer.message}")
        self.status = answer.status
        self.message = answer.message


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

    async def reply(self, request: ReplyMessageRequest) -> Answer:
        # A reply takes no retry key, so only a 429 (not processed) is tried again.
        return await self._call("reply", lambda: self.api.reply_message(request), retry=False)

    async def push(self, request: PushMessageRequest, retry_key: str) -> Answer:
        return await self._call(
            "push",
            lambda: self.api.push_message(request, x_line_retry_key=retry_key),
            retry=True,
            retry_key=retry_key,
        )

    async def multicast(self, request: MulticastRequest, retry_key: str) -> Answer:
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
        answer = await self._call(
            "upload rich menu image",
            lambda: self.blob.set_rich_menu_image(
                menu_id, body=image, _headers={"Content-Type": content_type}
            ),
            retry=True,
        )
        if not answer.accepted:
            await self._call(
                "delete rich menu", lambda: self.api.delete_rich_menu(menu_id), retry=True
            )
            raise LineApiError("upload rich menu image", answer)
        return menu_id

    async def checked(self, what: str, call: Callable[[AsyncMessagingApi], Awaitable[T]]) -> T:
        """Run an idempotent call (retried on 5xx); raise LineApiError when it fails."""
        answer: list[T] = []

        async def run() -> None:
            answer.append(await call(self.api))

        outcome = await self._call(what, run, retry=True)
        if not outcome.accepted:
            raise LineApiError(what, outcome)
        return answer[-1]

    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[Any]],
        *,
        retry: bool,
        retry_key: str | None = None,
    ) -> Answer:
        """LINE's last answer; `retry` when repeating the call is safe."""
        delay = self.backoff
        keyed = retry_key is not None
        answer = Answer(0, "not tried", keyed=keyed)
        for attempt in range(1, self.attempts + 1):
            await self.bucket.acquire()
            wait = delay
            try:
                async with asyncio.timeout(self.request_timeout):
                    await call()
                return OK
            except ApiException as error:
                answer = Answer(int(error.status or 0), _message(error), keyed=keyed)
                if answer.status == 409 and keyed:
                    log.info("LINE %s: retry key already accepted, not sent again", what)
                    return Answer(409, answer.message, accepted=True, keyed=True)
                if answer.rate_limited:
                    wait = _retry_after(error) or delay
                    self.bucket.pause(min(wait, self.max_wait))
                elif not (retry and answer.status >= 500):
                    _log_failure(what, answer)
                    return answer
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                answer = Answer(0, f"no answer ({type(error).__name__})", keyed=keyed)
                if not retry:
                    return answer
            if attempt < self.attempts:
                log.warning(
                    "LINE %s: %s %s; attempt %d of %d in %.2fs",
                    what, answer.status, answer.message, attempt + 1, self.attempts, wait,
                )  # fmt: skip
                await asyncio.sleep(min(wait, self.max_wait))
                delay = min(delay * 2, self.max_wait)
        _log_failure(what, answer)
        return answer


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


def _log_failure(what: str, failure: Answer) -> None:
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
