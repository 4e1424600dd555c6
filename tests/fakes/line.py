"""A fake LINE Messaging API: a real HTTP server that line-bot-sdk 3 talks to in tests.

Point the SDK here with `Configuration(host=fake.url, access_token=...)`; the same server
answers the api.line.me and api-data.line.me endpoints (the SDK sends both to `host`).
Deliveries are recorded one row per recipient, so tests can count exactly-once sends.
Run alone with `python -m tests.fakes.line --port N`.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import time
import uuid
from typing import Any, NamedTuple

from tests.fakes._http import JSON, FakeHttpServer, Request, Response, SlidingWindow, run_cli
from tests.fakes._line_messaging import BOT_USER_ID, Delivery, LineMessaging
from tests.fakes._line_routes import Context, Route, build_routes
from tests.fakes._line_validation import LineBadRequest

__all__ = [
    "BOT_USER_ID",
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_CHANNEL_SECRET",
    "Delivery",
    "FakeLineAPI",
    "LineCall",
]

DEFAULT_ACCESS_TOKEN = "fake-line-channel-access-token"
DEFAULT_CHANNEL_SECRET = "fake-line-channel-secret"
_RETRY_KEY_PATHS = (
    "/v2/bot/message/push",
    "/v2/bot/message/multicast",
    "/v2/bot/message/broadcast",
    "/v2/bot/message/narrowcast",
)
_DEFAULT_MESSAGES = {
    401: "Authentication failed. Confirm that the access token in the authorization header "
    "is valid.",
    404: "Not found",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class LineCall(NamedTuple):
    """One call the fake received. `body` is the JSON body, or {"size", "content_type"}."""

    method: str
    path: str
    body: Any
    retry_key: str | None
    status: int
    time: float
    request_id: str


class _Injection(NamedTuple):
    suffix: str
    status: int
    retry_after: int | None
    after_delivery: bool
    message: str | None


class FakeLineAPI(FakeHttpServer):
    """The LINE Messaging API as line-bot-sdk 3 calls it, recording every call and delivery.

    `access_token=None` accepts any bearer token. On a blocked user (`block`), a push is
    accepted with 200 but not delivered, as LINE does (see `_line_messaging`); pass
    `blocked_push_status=400` (or 403) to make it fail with "Failed to send messages".
    `monthly_quota` is reported by the quota endpoint and, with `enforce_quota`, answered
    with 429 once used up; `messages_per_second` caps push/multicast/broadcast recipients.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        monthly_quota: int | None = 500,
        enforce_quota: bool = False,
        blocked_push_status: int | None = None,
        messages_per_second: int | None = None,
        reply_token_ttl: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.access_token = access_token
        self.messages_per_second = messages_per_second
        self.messaging = LineMessaging(
            monthly_quota=monthly_quota,
            enforce_quota=enforce_quota,
            blocked_push_status=blocked_push_status,
            reply_token_ttl=reply_token_ttl,
        )
        self._routes = build_routes(self.messaging)
        self._calls: list[LineCall] = []
        self._injections: list[_Injection] = []
        self._retry_keys: dict[str, tuple[str, Any]] = {}
        self._window: SlidingWindow | None = None
        self.reset()

    # ---- test helpers -------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        """A reply token for this user, valid once (as from a webhook event)."""
        with self.lock:
            return self.messaging.issue_reply_token(user_id)

    def add_friend(
        self, user_id: str, *, display_name: str | None = None, language: str | None = "zh-TW"
    ) -> None:
        """Make `user_id` a friend of the account (broadcast target, profile)."""
        with self.lock:
            self.messaging.add_friend(user_id, display_name=display_name, language=language)

    def block(self, user_id: str) -> None:
        """The user blocks the account: nothing reaches them, their profile is 404."""
        with self.lock:
            self.messaging.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        with self.lock:
            self.messaging.blocked.discard(user_id)

    def fail_next(
        self,
        path_suffix: str,
        status: int = 500,
        *,
        count: int = 1,
        retry_after: int | None = None,
        after_delivery: bool = False,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` requests whose path ends with `path_suffix` with `status`.

        `after_delivery=True` processes the request first (delivers, accepts its retry key)
        and only then answers the error: the "did it go out or not?" case a retry key
        exists for. `retry_after` adds a Retry-After header.
        """
        injection = _Injection(path_suffix, status, retry_after, after_delivery, message)
        with self.lock:
            self._injections.extend([injection] * count)

    def calls(self, path_suffix: str | None = None) -> list[LineCall]:
        """Every request received (or those whose path ends with the suffix), oldest first."""
        with self.lock:
            return [c for c in self._calls if path_suffix is None or c.path.endswith(path_suffix)]

    def deliveries(self, kind: str | None = None) -> list[Delivery]:
        """One Delivery(kind, to, messages, request_id, time) per recipient reached."""
        with self.lock:
            return [d for d in self.messaging.deliveries if kind is None or d.kind == kind]

    def messages_to(self, user_id: str) -> list[JSON]:
        """Every message object delivered to this user, in order."""
        return [m for d in self.deliveries() if d.to == user_id for m in d.messages]

    def texts_to(self, user_id: str) -> list[str]:
        """The text (or a Flex/template altText) of each message delivered to this user."""
        return [str(m.get("text", m.get("altText", ""))) for m in self.messages_to(user_id)]

    @property
    def total_usage(self) -> int:
        """Messages counted against the monthly quota (one per recipient; replies are free)."""
        with self.lock:
            return self.messaging.total_usage

    def rich_menu_of(self, user_id: str) -> str | None:
        """The rich menu id linked to this user, if any."""
        with self.lock:
            return self.messaging.rich_menus.links.get(user_id)

    @property
    def webhook_endpoint(self) -> str | None:
        with self.lock:
            return self.messaging.webhook_endpoint

    def reset(self) -> None:
        """Forget calls, deliveries, tokens, retry keys, blocks, failures and rich menus."""
        with self.lock:
            self._calls.clear()
            self._injections.clear()
            self._retry_keys.clear()
            self.messaging.reset()
            limit = self.messages_per_second
            self._window = SlidingWindow(limit) if limit else None
            self.notify()

    def snapshot(self) -> JSON:
        return {
            "calls": [c._asdict() for c in self._calls],
            "deliveries": [d._asdict() for d in self.messaging.deliveries],
            "totalUsage": self.messaging.total_usage,
            "richMenuLinks": dict(self.messaging.rich_menus.links),
        }

    # ---- HTTP ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        status, payload, headers = self._process(request, request_id)
        headers["x-line-request-id"] = request_id
        if request.content_type.startswith("image/"):
            recorded: Any = {"size": len(request.body), "content_type": request.content_type}
        else:
            recorded = _json_or_raw(request.body)
        retry_key = request.headers.get("X-Line-Retry-Key")
        with self.lock:
            self._calls.append(
                LineCall(
                    request.method,
                    request.path,
                    recorded,
                    retry_key,
                    status,
                    time.time(),
                    request_id,
                )
            )
            self.notify()
        if isinstance(payload, Response):
            payload.headers.update(headers)
            return payload
        return Response.json(status, payload, headers)

    def _process(self, request: Request, request_id: str) -> tuple[int, Any, dict[str, str]]:
        if not self._authorized(request):
            return 401, {"message": _DEFAULT_MESSAGES[401]}, {}
        found = self._find_route(request)
        if found is None:
            return 404, {"message": "Not found"}, {}
        route, match = found
        try:
            body = request.body if route.binary else _json_body(request)
        except LineBadRequest as exc:
            return exc.status, exc.payload, {}
        context = Context(request, match, body, request_id)
        retry_key = None
        if request.path in _RETRY_KEY_PATHS:
            retry_key = request.headers.get("X-Line-Retry-Key")
        with self.lock:
            injection = self._take_injection(request.path)
            if injection is not None and not injection.after_delivery:
                return _injected(injection)
            if retry_key is not None:
                answer = self._check_retry_key(retry_key)
                if answer is not None:
                    return answer
            try:
                self._check_rate(request.path, body)
                status, payload = route.status, route.handler(context)
            except LineBadRequest as exc:
                status, payload = exc.status, exc.payload
            if retry_key is not None and 200 <= status < 300:
                self._retry_keys[retry_key] = (request_id, payload)
            if injection is not None:
                return _injected(injection)
        return status, payload, {}

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        return self.access_token is None or secrets.compare_digest(token, self.access_token)

    def _find_route(self, request: Request) -> tuple[Route, re.Match[str]] | None:
        for route in self._routes:
            if route.method == request.method:
                match = route.pattern.fullmatch(request.path)
                if match is not None:
                    return route, match
        return None

    def _take_injection(self, path: str) -> _Injection | None:
        for index, injection in enumerate(self._injections):
            if path.endswith(injection.suffix):
                return self._injections.pop(index)
        return None

    def _check_retry_key(self, retry_key: str) -> tuple[int, Any, dict[str, str]] | None:
        try:
            uuid.UUID(retry_key)
        except ValueError:
            return 400, {"message": "The value of the X-Line-Retry-Key header is invalid"}, {}
        if retry_key not in self._retry_keys:
            return None
        accepted_id, accepted_payload = self._retry_keys[retry_key]
        payload: JSON = {"message": "The retry key is already accepted"}
        if isinstance(accepted_payload, dict) and "sentMessages" in accepted_payload:
            payload["sentMessages"] = accepted_payload["sentMessages"]
        return 409, payload, {"x-line-accepted-request-id": accepted_id}

    def _check_rate(self, path: str, body: Any) -> None:
        if self._window is None or not path.startswith("/v2/bot/message/"):
            return
        weight = self.messaging.recipient_count(path, body)
        if weight and self._window.wait_time(weight) is not None:
            raise LineBadRequest("Too many requests", status=429)
        if weight:
            self._window.take(weight)


def _json_or_raw(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError:
        return body.decode("utf-8", errors="replace")


def _json_body(request: Request) -> Any:
    if not request.body:
        return {}
    if request.content_type != "application/json":
        raise LineBadRequest(
            f"The content type, {request.content_type}, is not supported", status=415
        )
    body = _json_or_raw(request.body)
    if not isinstance(body, dict):
        raise LineBadRequest("The request body could not be parsed as JSON")
    return body


def _injected(injection: _Injection) -> tuple[int, Any, dict[str, str]]:
    message = injection.message or _DEFAULT_MESSAGES.get(injection.status, "Error")
    headers = {}
    if injection.retry_after is not None:
        headers["Retry-After"] = str(injection.retry_after)
    return injection.status, {"message": message}, headers


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--access-token", default=None, help="accept only this token")
        parser.add_argument("--monthly-quota", type=int, default=500)
        parser.add_argument("--messages-per-second", type=int, default=None)

    def factory(options: argparse.Namespace) -> FakeLineAPI:
        return FakeLineAPI(
            access_token=options.access_token,
            monthly_quota=options.monthly_quota,
            messages_per_second=options.messages_per_second,
        )

    run_cli("A fake LINE Messaging API on 127.0.0.1.", factory, add_arguments, argv)


if __name__ == "__main__":
    main()
