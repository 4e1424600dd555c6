"""The Bot API methods the fake Telegram server implements, with Telegram's own checks.

Results are shaped as Telegram returns them, so python-telegram-bot parses them: a
Message has message_id (increasing), from, chat, date, text and the inline keyboard
echoed. Errors raise BadRequest with Telegram's descriptions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.fakes._http import JSON
from tests.fakes._telegram_html import EntityParseError, html_to_text

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
    "copy_text", "callback_game", "pay",
)  # fmt: skip
# Methods that only need to succeed for the bots we test.
_TRIVIAL = (
    "sendChatAction", "deleteMessage", "setChatMenuButton", "setMyDescription",
    "setMyShortDescription", "setMyName", "deleteMyCommands", "logOut", "close",
    "setMyDefaultAdministratorRights",
)  # fmt: skip
_REQUIRED = {
    "sendMessage": ("chat_id", "text"),
    "sendPhoto": ("chat_id", "photo"),
    "sendChatAction": ("chat_id", "action"),
    "deleteMessage": ("chat_id", "message_id"),
    "answerCallbackQuery": ("callback_query_id",),
    "editMessageText": ("text",),
    "setWebhook": ("url",),
    "setMyCommands": ("commands",),
}


class BadRequest(Exception):
    """A 4xx answer; str() is Telegram's description."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status


def _visible_text(text: str, parse_mode: object, limit: int, too_long: str) -> str:
    if parse_mode is not None and str(parse_mode).upper() == "HTML":
        try:
            text = html_to_text(text)
        except EntityParseError as exc:
            raise BadRequest(str(exc)) from exc
    if len(text) > limit:
        raise BadRequest(too_long)
    return text


def _inline_keyboard(markup: object) -> JSON | None:
    """The markup to echo in the result (inline keyboards only), after Telegram's checks."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise BadRequest("Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BadRequest("Bad Request: can't parse inline keyboard markup JSON object")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise BadRequest("Bad Request: can't parse inline keyboard button: text is empty")
        if not any(action in button for action in _BUTTON_ACTIONS):
            raise BadRequest(
                "Bad Request: can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
            raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


class TelegramMethods:
    """State and implementations of the methods; the server calls them under its lock."""

    def __init__(self, *, bot_id: int, username: str = "loyalty_test_bot") -> None:
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Loyalty Test Bot",
            "username": username,
        }
        self._table: dict[str, Callable[[JSON], Any]] = {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "answerCallbackQuery": self.answer_callback_query,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "getUpdates": self.get_updates,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
        }
        self._table.update({name: lambda params: True for name in _TRIVIAL})
        self._canonical = {name.lower(): name for name in self._table}
        self.reset()

    def reset(self) -> None:
        self.webhook: JSON = {}
        self.commands: dict[str, list[JSON]] = {}
        self.messages: dict[tuple[str, int], JSON] = {}
        self.answered_queries: set[str] = set()
        self._next_message_id = 1

    def canonical(self, name: str) -> str:
        """Telegram's method names are case-insensitive."""
        return self._canonical.get(name.lower(), name)

    def get(self, method: str) -> Callable[[JSON], Any] | None:
        return self._table.get(method)

    @staticmethod
    def is_send(method: str) -> bool:
        return method.startswith(("send", "copyMessage", "forwardMessage")) and (
            method != "sendChatAction"
        )

    @staticmethod
    def check_required(method: str, params: JSON) -> None:
        for name in _REQUIRED.get(method, ()):
            if params.get(name) in (None, ""):
                if name == "text":
                    raise BadRequest("Bad Request: message text is empty")
                raise BadRequest(f"Bad Request: {name} is empty")
        if method.startswith("editMessage") and "inline_message_id" not in params:
            if params.get("chat_id") in (None, ""):
                raise BadRequest("Bad Request: chat_id is empty")
            if params.get("message_id") in (None, ""):
                raise BadRequest("Bad Request: message identifier is not specified")

    # ---- messages -----------------------------------------------------------------------

    def _chat(self, chat_id: object) -> JSON:
        try:
            number = int(str(chat_id))
        except ValueError:
            raise BadRequest("Bad Request: chat not found") from None
        if number > 0:
            return {"id": number, "type": "private", "first_name": "Member"}
        kind = "supergroup" if str(number).startswith("-100") else "group"
        return {"id": number, "type": kind, "title": "Group"}

    def _store(self, params: JSON, content: JSON, markup: JSON | None) -> JSON:
        chat = self._chat(params["chat_id"])
        message: JSON = {
            "message_id": self._next_message_id,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._next_message_id += 1
        self.messages[(str(chat["id"]), message["message_id"])] = message
        return message

    def get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def send_message(self, params: JSON) -> JSON:
        text = _visible_text(
            str(params["text"]),
            params.get("parse_mode"),
            4096,
            "Bad Request: message is too long",
        )
        markup = _inline_keyboard(params.get("reply_markup"))
        return self._store(params, {"text": text}, markup)

    def send_photo(self, params: JSON) -> JSON:
        content: JSON = {
            "photo": [
                {
                    "file_id": f"fake-photo-{self._next_message_id}",
                    "file_unique_id": f"fake-unique-{self._next_message_id}",
                    "width": 800,
                    "height": 800,
                }
            ]
        }
        if params.get("caption"):
            content["caption"] = _visible_text(
                str(params["caption"]),
                params.get("parse_mode"),
                1024,
                "Bad Request: message caption is too long",
            )
        markup = _inline_keyboard(params.get("reply_markup"))
        return self._store(params, content, markup)

    def _edit(self, params: JSON, changes: JSON) -> JSON | bool:
        if "inline_message_id" in params:
            return True
        chat = self._chat(params["chat_id"])
        key = (str(chat["id"]), int(params["message_id"]))
        # A message the fake never sent (e.g. in a hand-built callback query) is edited
        # as if it existed; Telegram would say "message to edit not found".
        current = self.messages.get(key)
        if current is not None:
            unchanged = all(current.get(name) == value for name, value in changes.items())
            if unchanged:
                raise BadRequest(
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message"
                )
        base = current or {
            "message_id": key[1],
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            "text": "",
        }
        message = {**base, **changes, "edit_date": int(time.time())}
        if message.get("reply_markup") is None:
            message.pop("reply_markup", None)
        self.messages[key] = message
        return message

    def edit_message_text(self, params: JSON) -> JSON | bool:
        text = _visible_text(
            str(params["text"]),
            params.get("parse_mode"),
            4096,
            "Bad Request: message is too long",
        )
        markup = _inline_keyboard(params.get("reply_markup"))
        return self._edit(params, {"text": text, "reply_markup": markup})

    def edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        return self._edit(params, {"reply_markup": _inline_keyboard(params.get("reply_markup"))})

    def answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params["callback_query_id"])
        if query_id in self.answered_queries:
            raise BadRequest(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text", ""))) > 200:
            raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
        self.answered_queries.add(query_id)
        return True

    # ---- webhook and commands -----------------------------------------------------------

    def set_webhook(self, params: JSON) -> bool:
        url = str(params["url"])
        if not url.startswith("https://"):
            raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise BadRequest("Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise BadRequest("Bad Request: can't parse allowed updates")
        self.webhook = {name: value for name, value in params.items() if name != "certificate"}
        return True

    def delete_webhook(self, params: JSON) -> bool:
        self.webhook = {}
        return True

    def get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if self.webhook:
            info["max_connections"] = int(self.webhook.get("max_connections", 40))
        if self.webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook:
            raise BadRequest(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                status=409,
            )
        return []

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return f"{scope.get('type')}:{params.get('language_code', '')}"

    def set_my_commands(self, params: JSON) -> bool:
        commands = params["commands"]
        if not isinstance(commands, list) or len(commands) > 100:
            raise BadRequest("Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(
                str(command.get("command", ""))
            ):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise BadRequest("Bad Request: command description is empty")
        self.commands[self._commands_key(params)] = commands
        return True

    def get_my_commands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])
