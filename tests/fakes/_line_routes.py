"""The endpoints of the fake LINE API, with the exact paths line-bot-sdk 3 calls.

Paths come from linebot/v3/messaging/api/messaging_api.py and messaging_api_blob.py; the
blob endpoints (rich menu image) normally live on api-data.line.me, but the SDK sends
them to `Configuration.host` too, so one server answers both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tests.fakes._http import Request
from tests.fakes._line_messaging import LineMessaging


@dataclass
class Context:
    """What a handler gets: the request, its path match, its body and request id."""

    request: Request
    match: re.Match[str]
    body: Any
    request_id: str


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Context], Any]
    status: int
    binary: bool


def build_routes(messaging: LineMessaging) -> list[Route]:
    """Every endpoint the fake answers: method, path pattern, handler, success status."""
    m, rich = messaging, messaging.rich_menus
    # fmt: off
    table: list[tuple[str, str, Callable[[Context], Any], int, bool]] = [
        ("POST", "/v2/bot/message/reply", lambda c: m.reply(c.body, c.request_id), 200, False),
        ("POST", "/v2/bot/message/push", lambda c: m.push(c.body, c.request_id), 200, False),
        ("POST", "/v2/bot/message/multicast", lambda c: m.multicast(c.body, c.request_id),
         200, False),
        ("POST", "/v2/bot/message/broadcast", lambda c: m.broadcast(c.body, c.request_id),
         200, False),
        ("POST", "/v2/bot/message/validate/(reply|push|multicast|broadcast|narrowcast)",
         lambda c: m.validate(c.body), 200, False),
        ("GET", "/v2/bot/message/quota", lambda c: m.quota(), 200, False),
        ("GET", "/v2/bot/message/quota/consumption", lambda c: m.consumption(), 200, False),
        ("GET", "/v2/bot/profile/(?P<user>[^/]+)", lambda c: m.profile(c.match["user"]),
         200, False),
        ("POST", "/v2/bot/chat/loading/start", lambda c: {}, 202, False),
        ("GET", "/v2/bot/info", lambda c: m.bot_info(), 200, False),
        ("GET", "/v2/bot/channel/webhook/endpoint", lambda c: m.get_webhook(), 200, False),
        ("PUT", "/v2/bot/channel/webhook/endpoint", lambda c: m.set_webhook(c.body),
         200, False),
        ("POST", "/v2/bot/channel/webhook/test", lambda c: m.test_webhook(c.body), 200, False),
        ("POST", "/v2/bot/richmenu", lambda c: rich.create(c.body), 200, False),
        ("POST", "/v2/bot/richmenu/validate", lambda c: m.validate_rich_menu(c.body),
         200, False),
        ("GET", "/v2/bot/richmenu/list", lambda c: rich.listing(), 200, False),
        ("POST", "/v2/bot/richmenu/bulk/link", lambda c: rich.bulk_link(c.body), 202, False),
        ("POST", "/v2/bot/richmenu/bulk/unlink", lambda c: rich.bulk_unlink(c.body),
         202, False),
        ("POST", "/v2/bot/richmenu/(?P<menu>[^/]+)/content",
         lambda c: rich.upload(c.match["menu"], c.request.content_type, c.body), 200, True),
        ("GET", "/v2/bot/richmenu/(?P<menu>[^/]+)/content",
         lambda c: m.rich_menu_image(c.match["menu"]), 200, False),
        ("GET", "/v2/bot/richmenu/(?P<menu>[^/]+)",
         lambda c: rich.get(c.match["menu"]).as_json(), 200, False),
        ("DELETE", "/v2/bot/richmenu/(?P<menu>[^/]+)", lambda c: rich.delete(c.match["menu"]),
         200, False),
        ("POST", "/v2/bot/user/all/richmenu/(?P<menu>[^/]+)",
         lambda c: rich.set_default(c.match["menu"]), 200, False),
        ("GET", "/v2/bot/user/all/richmenu", lambda c: rich.get_default(), 200, False),
        ("DELETE", "/v2/bot/user/all/richmenu", lambda c: rich.clear_default(), 200, False),
        ("POST", "/v2/bot/user/(?P<user>[^/]+)/richmenu/(?P<menu>[^/]+)",
         lambda c: rich.link(c.match["user"], c.match["menu"]), 200, False),
        ("GET", "/v2/bot/user/(?P<user>[^/]+)/richmenu",
         lambda c: rich.of_user(c.match["user"]), 200, False),
        ("DELETE", "/v2/bot/user/(?P<user>[^/]+)/richmenu",
         lambda c: rich.unlink(c.match["user"]), 200, False),
    ]
    # fmt: on
    return [
        Route(method, re.compile(path), handler, status, binary)
        for method, path, handler, status, binary in table
    ]
