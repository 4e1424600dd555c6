"""The LINE Messaging API's checks on request bodies, with its error format.

LINE answers an invalid body with 400 and
`{"message": "The request body has N error(s)", "details": [{"message", "property"}]}`.
The fake checks what a loyalty bot gets wrong in practice: empty or over-long texts,
more than 5 messages, Flex without altText, quick replies beyond 13 items or with labels
beyond 20 characters, postback data beyond 300 characters, multicast beyond 500 ids.
"""

from __future__ import annotations

from typing import Any

from tests.fakes._http import JSON

MESSAGE_TYPES = frozenset(
    {"text", "textV2", "sticker", "image", "video", "audio", "location", "imagemap",
     "template", "flex"}
)  # fmt: skip


class LineBadRequest(Exception):
    """A 4xx answer with LINE's error body."""

    def __init__(self, message: str, details: list[JSON] | None = None, status: int = 400):
        super().__init__(message)
        self.status = status
        self.payload: JSON = {"message": message}
        if details:
            self.payload["details"] = details


class _Checker:
    def __init__(self) -> None:
        self.details: list[JSON] = []

    def fail(self, message: str, prop: str) -> None:
        self.details.append({"message": message, "property": prop})

    def sized(self, value: Any, low: int, high: int, prop: str) -> list[Any] | None:
        """The value when it is a list of `low` to `high` items, else None (and an error)."""
        if not isinstance(value, list) or not value:
            self.fail("May not be empty", prop)
            return None
        if not low <= len(value) <= high:
            self.fail(f"Size must be between {low} and {high}", prop)
            return None
        return value

    def text(self, value: Any, high: int, prop: str, *, required: bool = True) -> None:
        if value is None or value == "":
            if required:
                self.fail("May not be empty", prop)
            return
        if not isinstance(value, str):
            self.fail("Must be a string", prop)
        elif len(value) > high:
            self.fail(f"Length must be between 0 and {high}", prop)

    def action(self, action: Any, prop: str, *, label_limit: int) -> None:
        if not isinstance(action, dict) or not action.get("type"):
            self.fail("May not be empty", f"{prop}.type")
            return
        self.text(action.get("label"), label_limit, f"{prop}.label", required=False)
        if action["type"] == "postback":
            self.text(action.get("data"), 300, f"{prop}.data")
            self.text(action.get("displayText"), 300, f"{prop}.displayText", required=False)
        elif action["type"] == "message":
            self.text(action.get("text"), 300, f"{prop}.text")
        elif action["type"] == "uri":
            self.text(action.get("uri"), 1000, f"{prop}.uri")

    def message(self, message: Any, prop: str) -> None:
        if not isinstance(message, dict) or message.get("type") not in MESSAGE_TYPES:
            self.fail("Invalid message type", f"{prop}.type")
            return
        kind = message["type"]
        if kind in ("text", "textV2"):
            self.text(message.get("text"), 5000, f"{prop}.text")
        elif kind in ("flex", "template"):
            self.text(message.get("altText"), 1500 if kind == "flex" else 400, f"{prop}.altText")
            body = message.get("contents" if kind == "flex" else "template")
            if not isinstance(body, dict) or not body.get("type"):
                self.fail(
                    "May not be empty", f"{prop}.{'contents' if kind == 'flex' else 'template'}"
                )
        quick_reply = message.get("quickReply")
        if quick_reply is not None:
            items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
            items = self.sized(items, 1, 13, f"{prop}.quickReply.items") or []
            for index, item in enumerate(items):
                action = item.get("action") if isinstance(item, dict) else None
                self.action(action, f"{prop}.quickReply.items[{index}].action", label_limit=20)

    def raise_if_failed(self) -> None:
        if self.details:
            raise LineBadRequest(f"The request body has {len(self.details)} error(s)", self.details)


def check_messages(body: JSON) -> list[JSON]:
    """The body's `messages` (1 to 5 valid message objects), or LineBadRequest."""
    checker = _Checker()
    messages = checker.sized(body.get("messages"), 1, 5, "messages") or []
    for index, message in enumerate(messages):
        checker.message(message, f"messages[{index}]")
    checker.raise_if_failed()
    return messages


def check_recipients(body: JSON, limit: int = 500) -> list[str]:
    """Multicast `to`: 1 to `limit` user ids."""
    checker = _Checker()
    recipients = checker.sized(body.get("to"), 1, limit, "to") or []
    for index, user_id in enumerate(recipients):
        if not isinstance(user_id, str) or not user_id:
            checker.fail("May not be empty", f"to[{index}]")
    checker.raise_if_failed()
    return recipients


def check_rich_menu(body: JSON) -> None:
    """A rich menu object: size, selected, name, chatBarText, areas with bounds and action."""
    checker = _Checker()
    size = body.get("size")
    if not isinstance(size, dict) or not {"width", "height"} <= size.keys():
        checker.fail("May not be empty", "size")
    if not isinstance(body.get("selected"), bool):
        checker.fail("May not be empty", "selected")
    checker.text(body.get("name"), 300, "name")
    checker.text(body.get("chatBarText"), 14, "chatBarText")
    areas = body.get("areas")
    if not isinstance(areas, list) or len(areas) > 20:
        checker.fail("Size must be between 0 and 20", "areas")
    else:
        for index, area in enumerate(areas):
            if not isinstance(area, dict) or not isinstance(area.get("bounds"), dict):
                checker.fail("May not be empty", f"areas[{index}].bounds")
                continue
            checker.action(area.get("action"), f"areas[{index}].action", label_limit=20)
    checker.raise_if_failed()
