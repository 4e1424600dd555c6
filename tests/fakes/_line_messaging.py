"""What the fake LINE API does with messages: reply tokens, deliveries, quota, profiles.

The server calls these under its lock; each returns the JSON body of a 2xx answer or
raises LineBadRequest.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tests.fakes._http import JSON, Response
from tests.fakes._line_richmenus import NOT_FOUND, RichMenus
from tests.fakes._line_validation import (
    LineBadRequest,
    check_messages,
    check_recipients,
    check_rich_menu,
)

BOT_USER_ID = "U" + "0f" * 16  # the bot's own user id: a webhook body's `destination`


class Delivery(NamedTuple):
    """One recipient reached by one request: kind is reply, push, multicast or broadcast."""

    kind: str
    to: str
    messages: list[JSON]
    request_id: str
    time: float


class _ReplyToken(NamedTuple):
    user_id: str
    issued: float


class LineMessaging:
    """Message state of the fake LINE API."""

    def __init__(
        self,
        *,
        monthly_quota: int | None,
        enforce_quota: bool,
        blocked_push_status: int | None,
        reply_token_ttl: float | None,
    ) -> None:
        self.monthly_quota = monthly_quota
        self.enforce_quota = enforce_quota
        self.blocked_push_status = blocked_push_status
        self.reply_token_ttl = reply_token_ttl
        self.rich_menus = RichMenus()
        self.reset()

    def reset(self) -> None:
        self.deliveries: list[Delivery] = []
        self.total_usage = 0
        self.blocked: set[str] = set()
        self.friends: dict[str, JSON] = {}
        self.reply_tokens: dict[str, _ReplyToken] = {}
        self.webhook_endpoint: str | None = None
        self.rich_menus.reset()
        self._next_message_id = 500_000_000_000_000_000

    # ---- users --------------------------------------------------------------------------

    def add_friend(self, user_id: str, *, display_name: str | None, language: str | None) -> None:
        profile: JSON = {
            "displayName": display_name or f"LINE user {user_id[-4:]}",
            "userId": user_id,
        }
        if language:
            profile["language"] = language
        self.friends[user_id] = profile

    def issue_reply_token(self, user_id: str) -> str:
        if user_id not in self.friends:
            self.add_friend(user_id, display_name=None, language="zh-TW")
        token = secrets.token_hex(16)
        self.reply_tokens[token] = _ReplyToken(user_id, time.monotonic())
        return token

    def profile(self, user_id: str) -> JSON:
        # LINE answers 404 for a user who blocked the account. Any other user id gets a
        # generated profile, so tests need not register every user first.
        if user_id in self.blocked:
            raise NOT_FOUND
        return self.friends.get(user_id) or {
            "displayName": f"LINE user {user_id[-4:]}",
            "userId": user_id,
            "language": "zh-TW",
        }

    # ---- sending ------------------------------------------------------------------------

    def _sent_messages(self, count: int) -> JSON:
        sent = []
        for _ in range(count):
            sent.append({"id": str(self._next_message_id), "quoteToken": secrets.token_hex(16)})
            self._next_message_id += 1
        return {"sentMessages": sent}

    def _deliver(
        self, kind: str, recipients: list[str], messages: list[JSON], request_id: str
    ) -> None:
        reachable = [user for user in recipients if user not in self.blocked]
        quota = self.monthly_quota if self.enforce_quota and kind != "reply" else None
        if quota is not None and self.total_usage + len(reachable) > quota:
            raise LineBadRequest("You have reached your monthly limit.", status=429)
        now = time.time()
        for user in reachable:
            self.deliveries.append(Delivery(kind, user, messages, request_id, now))
        if kind != "reply":
            # LINE counts one message per recipient and request, however many message
            # objects (up to 5) it carries; replies are free.
            self.total_usage += len(reachable)

    def reply(self, body: JSON, request_id: str) -> JSON:
        messages = check_messages(body)
        token = self.reply_tokens.pop(str(body.get("replyToken")), None)
        expired = (
            token is not None
            and self.reply_token_ttl is not None
            and time.monotonic() - token.issued > self.reply_token_ttl
        )
        if token is None or expired:
            raise LineBadRequest("Invalid reply token")
        self._deliver("reply", [token.user_id], messages, request_id)
        return self._sent_messages(len(messages))

    def push(self, body: JSON, request_id: str) -> JSON:
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise LineBadRequest(
                "The request body has 1 error(s)",
                [{"message": "May not be empty", "property": "to"}],
            )
        messages = check_messages(body)
        # Real LINE accepts a push to a user who blocked the account with 200 and silently
        # drops it: its retry-key guide says a request "accepted (HTTP status code 200)"
        # may still not be delivered "because the user has blocked the LINE Official
        # Account"; a block shows up as an `unfollow` webhook and a 404 profile. Some
        # deployments see 400 "Failed to send messages"; `blocked_push_status` emulates it.
        if to in self.blocked and self.blocked_push_status is not None:
            raise LineBadRequest("Failed to send messages", status=self.blocked_push_status)
        self._deliver("push", [to], messages, request_id)
        return self._sent_messages(len(messages))

    def multicast(self, body: JSON, request_id: str) -> JSON:
        recipients = check_recipients(body, limit=500)
        messages = check_messages(body)
        self._deliver("multicast", recipients, messages, request_id)
        return {}

    def broadcast(self, body: JSON, request_id: str) -> JSON:
        messages = check_messages(body)
        self._deliver("broadcast", sorted(self.friends), messages, request_id)
        return {}

    def validate(self, body: JSON) -> JSON:
        check_messages(body)
        return {}

    def recipient_count(self, path: str, body: Any) -> int:
        """How many messages a send request would count (for the rate limit)."""
        if not isinstance(body, dict):
            return 0
        if path.endswith("/push"):
            return 1
        if path.endswith("/multicast"):
            return len(body.get("to") or [])
        if path.endswith("/broadcast"):
            return len(self.friends)
        return 0

    # ---- quota, bot, webhook ------------------------------------------------------------

    def quota(self) -> JSON:
        if self.monthly_quota is None:
            return {"type": "none"}
        return {"type": "limited", "value": self.monthly_quota}

    def consumption(self) -> JSON:
        return {"totalUsage": self.total_usage}

    def bot_info(self) -> JSON:
        return {
            "userId": BOT_USER_ID,
            "basicId": "@123fakeb",
            "displayName": "Loyalty Test OA",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }

    def get_webhook(self) -> JSON:
        return {"endpoint": self.webhook_endpoint or "", "active": bool(self.webhook_endpoint)}

    def set_webhook(self, body: JSON) -> JSON:
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
            raise LineBadRequest(
                "The request body has 1 error(s)",
                [{"message": "Invalid webhook endpoint URL", "property": "endpoint"}],
            )
        self.webhook_endpoint = endpoint
        return {}

    def test_webhook(self, body: JSON) -> JSON:
        # The fake does not call the endpoint; it reports what LINE reports on success.
        if not (body.get("endpoint") or self.webhook_endpoint):
            raise LineBadRequest("The webhook endpoint URL is not set")
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "success": True,
            "timestamp": timestamp,
            "statusCode": 200,
            "reason": "OK",
            "detail": "200",
        }

    def validate_rich_menu(self, body: JSON) -> JSON:
        check_rich_menu(body)
        return {}

    def rich_menu_image(self, rich_menu_id: str) -> Response:
        menu = self.rich_menus.get(rich_menu_id)
        if menu.image is None:
            raise NOT_FOUND
        return Response(200, menu.image, {"Content-Type": menu.image_type or "image/png"})
