"""Inbound webhook bodies exactly as Telegram and LINE send them, for tests to post.

Telegram: `TelegramUpdates` builds Update JSON (message, command with a bot_command
entity, callback_query, my_chat_member) with increasing update_id.
LINE: `LineEvents` builds events (follow, unfollow, text message, postback) and the
`{"destination", "events"}` body; `line_signature` signs a body as LINE does.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Protocol

from tests.fakes._http import JSON
from tests.fakes._line_messaging import BOT_USER_ID

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LINE_SIGNATURE_HEADER = "X-Line-Signature"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# ---- Telegram ---------------------------------------------------------------------------


def telegram_performs(answer_body: bytes, bot_api_url: str) -> str | None:
    """Do what Telegram does with a webhook's answer: a JSON object with a `method` is a
    Bot API call it makes on the bot's behalf (without telling anyone how it went).
    `bot_api_url` ends with `/bot<token>`. Returns the method called, if any."""
    try:
        call = json.loads(answer_body)
    except ValueError:
        return None
    if not isinstance(call, dict) or not isinstance(call.get("method"), str):
        return None
    method = call.pop("method")
    request = urllib.request.Request(
        f"{bot_api_url}/{method}",
        data=json.dumps(call).encode(),
        headers={"Content-Type": "application/json"},
    )
    # A 400 is possible, e.g. for a redelivered tap's query, already answered.
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - the fake, on 127.0.0.1
    return str(method)


class TelegramUpdates:
    """Builds Telegram Update JSON for a private chat between a member and the bot.

    In a private chat the chat id equals the user id. Every update gets the next
    update_id unless one is given (to replay a redelivery, pass the same update again).
    """

    def __init__(
        self,
        *,
        bot_id: int = 123456789,
        bot_username: str = "loyalty_test_bot",
        first_update_id: int = 700_000_001,
    ) -> None:
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Loyalty Test Bot",
            "username": bot_username,
        }
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)

    @staticmethod
    def user(
        user_id: int,
        *,
        first_name: str = "Mei",
        username: str | None = None,
        language_code: str | None = "zh-hant",
    ) -> JSON:
        """A Telegram User object (a member); pass it where a builder takes `who`."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _user(self, who: int | JSON) -> JSON:
        return self.user(who) if isinstance(who, int) else who

    @staticmethod
    def private_chat(user: JSON) -> JSON:
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _update(self, kind: str, body: JSON, update_id: int | None) -> JSON:
        return {"update_id": next(self._update_ids) if update_id is None else update_id, kind: body}

    def message(
        self,
        who: int | JSON,
        text: str,
        *,
        update_id: int | None = None,
        message_id: int | None = None,
        date: int | None = None,
    ) -> JSON:
        """A text message from `who` (a user id, or a `user(...)` object).

        A leading "/command" (or "/command@bot") gets its bot_command entity, as Telegram
        sends it; the entity length counts UTF-16 code units.
        """
        user = self._user(who)
        message: JSON = {
            "message_id": next(self._message_ids) if message_id is None else message_id,
            "from": user,
            "chat": self.private_chat(user),
            "date": int(time.time()) if date is None else date,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return self._update("message", message, update_id)

    def command(
        self, who: int | JSON, command: str, *args: str, update_id: int | None = None
    ) -> JSON:
        """`/command arg1 arg2`, e.g. command(42, "start", "INVITE123") for a deep link."""
        text = " ".join([f"/{command.lstrip('/')}", *args])
        return self.message(who, text, update_id=update_id)

    def callback_query(
        self,
        who: int | JSON,
        data: str,
        *,
        message_id: int = 1,
        message_text: str = "",
        update_id: int | None = None,
        query_id: str | None = None,
    ) -> JSON:
        """A tap on an inline button carrying `data`, under the bot's message `message_id`."""
        user = self._user(who)
        query: JSON = {
            "id": query_id or str(secrets.randbits(62)),
            "from": user,
            "message": {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self.private_chat(user),
                "date": int(time.time()),
                "text": message_text,
            },
            "chat_instance": str(secrets.randbits(62)),
            "data": data,
        }
        return self._update("callback_query", query, update_id)

    def my_chat_member(
        self,
        who: int | JSON,
        status: str = "kicked",
        *,
        old_status: str | None = None,
        update_id: int | None = None,
    ) -> JSON:
        """The member blocked ("kicked") or unblocked ("member") the bot."""
        user = self._user(who)
        if old_status is None:
            old_status = "member" if status == "kicked" else "kicked"

        def member(state: str) -> JSON:
            body: JSON = {"user": self.bot_user, "status": state}
            if state == "kicked":
                body["until_date"] = 0
            return body

        change = {
            "chat": self.private_chat(user),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(status),
        }
        return self._update("my_chat_member", change, update_id)


def telegram_headers(secret_token: str | None) -> dict[str, str]:
    """Headers Telegram sends with a webhook: JSON, and the secret token if one was set."""
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers[TELEGRAM_SECRET_HEADER] = secret_token
    return headers


# ---- LINE -------------------------------------------------------------------------------


class ReplyTokenIssuer(Protocol):
    def issue_reply_token(self, user_id: str) -> str: ...


def ulid() -> str:
    """A ULID (26 Crockford base32 characters, time-ordered), like LINE's webhookEventId."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def line_signature(channel_secret: str, body: bytes) -> str:
    """X-Line-Signature: base64 of HMAC-SHA256 of the raw body, keyed by the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def redelivered(event: JSON) -> JSON:
    """The same event as LINE redelivers it: same webhookEventId, isRedelivery true."""
    again = copy.deepcopy(event)
    again["deliveryContext"] = {"isRedelivery": True}
    return again


class LineEvents:
    """Builds LINE webhook events for one-to-one chats with the bot.

    With `reply_tokens` (e.g. a FakeLineAPI), events carry reply tokens the fake accepts
    once; without, tokens are random and the fake would refuse them.
    """

    def __init__(
        self, *, destination: str = BOT_USER_ID, reply_tokens: ReplyTokenIssuer | None = None
    ) -> None:
        self.destination = destination
        self.reply_tokens = reply_tokens
        self._message_ids = itertools.count(600_000_000_000_000_001)

    def _reply_token(self, user_id: str) -> str:
        if self.reply_tokens is not None:
            return self.reply_tokens.issue_reply_token(user_id)
        return secrets.token_hex(16)

    @staticmethod
    def _event(kind: str, user_id: str, **fields: object) -> JSON:
        return {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": ulid(),
            "deliveryContext": {"isRedelivery": False},
            **fields,
        }

    def follow(self, user_id: str, *, is_unblocked: bool = False) -> JSON:
        """The user added the account as a friend (or unblocked it)."""
        return self._event(
            "follow",
            user_id,
            replyToken=self._reply_token(user_id),
            follow={"isUnblocked": is_unblocked},
        )

    def unfollow(self, user_id: str) -> JSON:
        """The user blocked the account (LINE has no reply token for this one)."""
        return self._event("unfollow", user_id)

    def text(self, user_id: str, text: str) -> JSON:
        """A text message from the user."""
        message = {
            "id": str(next(self._message_ids)),
            "type": "text",
            "text": text,
            "quoteToken": secrets.token_urlsafe(24),
        }
        return self._event(
            "message", user_id, replyToken=self._reply_token(user_id), message=message
        )

    def postback(self, user_id: str, data: str, params: dict[str, str] | None = None) -> JSON:
        """A tap on a postback action (button, quick reply, rich menu area)."""
        postback: JSON = {"data": data}
        if params:
            postback["params"] = params
        return self._event(
            "postback", user_id, replyToken=self._reply_token(user_id), postback=postback
        )

    def body(self, *events: JSON) -> JSON:
        """The webhook body; no events is LINE's "verify" request."""
        return {"destination": self.destination, "events": list(events)}

    def signed(self, channel_secret: str, *events: JSON) -> tuple[bytes, dict[str, str]]:
        """The body bytes and the headers LINE would post them with."""
        raw = json.dumps(self.body(*events), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            LINE_SIGNATURE_HEADER: line_signature(channel_secret, raw),
        }
        return raw, headers
