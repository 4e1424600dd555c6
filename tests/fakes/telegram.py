"""A fake Telegram Bot API: a real HTTP server that python-telegram-bot talks to in tests.

PTB posts to `{base_url}{token}/{method}`; point it here with
`telegram.Bot(token, base_url=f"{fake.url}/bot")`. Every call is recorded; failures
(429 with retry_after, 403 blocked, 5xx) are injected on demand.
Run alone with `python -m tests.fakes.telegram --port N`.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from tests.fakes._http import JSON, FakeHttpServer, Request, Response, SlidingWindow, run_cli
from tests.fakes._telegram_methods import BadRequest, TelegramMethods
from tests.fakes._telegram_params import ParamsError, read_params

_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?")
DEFAULT_TOKEN = "123456789:AAFakeTokenForTheFakeBotApi_0123456789"


class TelegramCall(NamedTuple):
    """One call the fake received: method, decoded params, time.time(), HTTP status."""

    method: str
    params: JSON
    time: float
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 200


class _Injection(NamedTuple):
    method: str | None
    status: int
    retry_after: int | None
    chat_id: str | None
    description: str | None


_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _error(status: int, description: str, retry_after: int | None = None) -> tuple[int, JSON]:
    payload: JSON = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": retry_after}
    return status, payload


def _chat_key(value: object) -> str | None:
    return None if value is None else str(value)


class FakeTelegramBotAPI(FakeHttpServer):
    """The Bot API as python-telegram-bot 22 calls it, recording every call.

    `token=None` accepts any token; otherwise another token gets 401 "Unauthorized".
    `rate_limit_per_second` / `per_chat_rate_limit_per_second` cap accepted sends
    (send*/copy*/forward*) in any one-second window and answer 429 with retry_after beyond.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        rate_limit_per_second: int | None = None,
        per_chat_rate_limit_per_second: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.rate_limit_per_second = rate_limit_per_second
        self.per_chat_rate_limit_per_second = per_chat_rate_limit_per_second
        self.methods = TelegramMethods(bot_id=_bot_id(token))
        self._calls: list[TelegramCall] = []
        self._injections: list[_Injection] = []
        self._blocked: set[str] = set()
        self._global_window: SlidingWindow | None = None
        self._chat_windows: dict[str, SlidingWindow] = {}
        self.reset()

    # ---- test helpers -------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None,
        status: int = 429,
        *,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | str | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` (None: any) with an error.

        429 carries `parameters.retry_after` (default 2), which PTB raises as RetryAfter;
        403 is "bot was blocked by the user" (Forbidden); 5xx become NetworkError in PTB.
        With `chat_id`, only calls to that chat fail.
        """
        if status == 429 and retry_after is None:
            retry_after = 2
        injection = _Injection(
            None if method in (None, "*") else method.lower(),
            status,
            retry_after,
            _chat_key(chat_id),
            description,
        )
        with self.lock:
            self._injections.extend([injection] * count)

    def block(self, chat_id: int | str) -> None:
        """From now on every call to this chat answers 403 "bot was blocked by the user"."""
        with self.lock:
            self._blocked.add(str(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        with self.lock:
            self._blocked.discard(str(chat_id))

    def calls(self, method: str | None = None) -> list[TelegramCall]:
        """Every call received (or those of one method), oldest first, failed ones included."""
        with self.lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages_to(self, chat_id: int | str) -> list[JSON]:
        """Params of every successful send* call to this chat (sendMessage, sendPhoto, ...)."""
        key = str(chat_id)
        with self.lock:
            return [
                c.params
                for c in self._calls
                if c.ok
                and c.method.startswith("send")
                and _chat_key(c.params.get("chat_id")) == key
            ]

    def texts_to(self, chat_id: int | str) -> list[str]:
        """The text (or caption) of each message sent to this chat, as the bot sent it."""
        return [str(p.get("text", p.get("caption", ""))) for p in self.messages_to(chat_id)]

    @property
    def webhook(self) -> JSON:
        """The webhook as set by setWebhook: url, secret_token, allowed_updates, ..."""
        with self.lock:
            return dict(self.methods.webhook)

    def reset(self) -> None:
        """Forget calls, injected failures, blocks, messages and the webhook."""
        with self.lock:
            self._calls.clear()
            self._injections.clear()
            self._blocked.clear()
            self.methods.reset()
            limit = self.rate_limit_per_second
            self._global_window = SlidingWindow(limit) if limit else None
            self._chat_windows.clear()
            self.notify()

    def snapshot(self) -> JSON:
        return {
            "calls": [c._asdict() for c in self._calls],
            "webhook": self.methods.webhook,
            "blocked": sorted(self._blocked),
        }

    # ---- HTTP ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        match = _PATH.fullmatch(request.path)
        if match is None:
            return Response.json(*_error(404, "Not Found"))
        method = self.methods.canonical(match["method"])
        try:
            params = read_params(request)
        except ParamsError as exc:
            status, payload = _error(400, str(exc))
            params = {}
        else:
            if self.token is not None and match["token"] != self.token:
                status, payload = _error(401, "Unauthorized")
            else:
                with self.lock:
                    status, payload = self._answer(method, params)
        with self.lock:
            self._calls.append(TelegramCall(method, params, time.time(), status))
            self.notify()
        return Response.json(status, payload)

    def _answer(self, method: str, params: JSON) -> tuple[int, JSON]:
        implementation: Callable[[JSON], Any] | None = self.methods.get(method)
        if implementation is None:
            # Telegram answers an unknown method with 404 "Not Found" (PTB: InvalidToken).
            return _error(404, "Not Found")
        chat = _chat_key(params.get("chat_id"))
        injected = self._take_injection(method, chat)
        if injected is not None:
            return injected
        try:
            self.methods.check_required(method, params)
            if chat is not None and chat in self._blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            if self.methods.is_send(method):
                wait = self._rate_limited(chat)
                if wait is not None:
                    retry_after = max(1, math.ceil(wait))
                    return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
            return 200, {"ok": True, "result": implementation(params)}
        except BadRequest as exc:
            return _error(exc.status, str(exc))

    def _take_injection(self, method: str, chat: str | None) -> tuple[int, JSON] | None:
        for index, injection in enumerate(self._injections):
            if injection.method not in (None, method.lower()):
                continue
            if injection.chat_id is not None and injection.chat_id != chat:
                continue
            del self._injections[index]
            if injection.status == 429:
                retry_after = injection.retry_after or 1
                description = f"Too Many Requests: retry after {retry_after}"
                return _error(429, injection.description or description, retry_after)
            description = injection.description or _DESCRIPTIONS.get(injection.status, "Error")
            return _error(injection.status, description, injection.retry_after)
        return None

    def _rate_limited(self, chat: str | None) -> float | None:
        windows = [self._global_window] if self._global_window is not None else []
        per_chat = self.per_chat_rate_limit_per_second
        if per_chat and chat is not None:
            windows.append(self._chat_windows.setdefault(chat, SlidingWindow(per_chat)))
        waits = [w for w in (window.wait_time() for window in windows) if w is not None]
        if waits:
            return max(waits)
        for window in windows:
            window.take()
        return None


def _bot_id(token: str | None) -> int:
    prefix = (token or DEFAULT_TOKEN).split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 123456789


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--token", default=None, help="accept only this bot token")
        parser.add_argument("--rate-limit", type=int, default=None, help="sends per second")
        parser.add_argument("--per-chat-rate-limit", type=int, default=None)

    def factory(options: argparse.Namespace) -> FakeTelegramBotAPI:
        return FakeTelegramBotAPI(
            token=options.token,
            rate_limit_per_second=options.rate_limit,
            per_chat_rate_limit_per_second=options.per_chat_rate_limit,
        )

    run_cli("A fake Telegram Bot API on 127.0.0.1.", factory, add_arguments, argv)


if __name__ == "__main__":
    main()
