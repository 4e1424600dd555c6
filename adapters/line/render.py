"""LINE message objects for a channel-neutral Reply: text messages, Flex bubbles for cards,
quick replies for buttons.

The result is plain JSON in the Messaging API's shape, so it is easy to test and to log;
`adapters.line` turns it into the SDK's models only when sending. Limits are LINE's: a text
is at most 5,000 characters, a request carries at most 5 messages, a message at most 13
quick-reply items whose labels have at most 20 characters.
"""

from __future__ import annotations

import logging
from typing import Any

from core.chat import Button, Card, Reply

log = logging.getLogger(__name__)

JSON = dict[str, Any]
MAX_TEXT = 5000
MAX_MESSAGES_PER_REQUEST = 5
MAX_QUICK_REPLIES = 13
MAX_QUICK_LABEL = 20
MAX_FLEX_LABEL = 40
MAX_DISPLAY_TEXT = 300
MAX_BUBBLES = 12  # per carousel
# LINE allows 1,500 characters, but altText is what notifications and the chat list show.
MAX_ALT_TEXT = 400
BUTTONS_ONLY_TEXT = "👇"  # a message needs content to carry quick replies

ACCENTS = {
    "points": "#06C755",
    "coupon": "#E8590C",
    "tier": "#B08D2B",
    "member": "#1C7ED6",
    "generic": "#495057",
}
GREY, INK, TRACK = "#8C8C8C", "#111111", "#E9ECEF"


def units(text: str) -> int:
    """Length as LINE may count it: UTF-16 code units (an emoji can count twice)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` UTF-16 units."""
    if units(text) <= limit:
        return text
    used, end = 0, 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is used after the loop
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
    return text[:end]


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` units, cut at a word boundary where possible, with an ellipsis."""
    text = " ".join(text.split())
    if units(text) <= limit:
        return text
    head = cut(text, limit - 1)
    if " " in head and len(head.rsplit(" ", 1)[0]) >= limit // 2:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip() + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` units, broken after a line where possible."""
    pieces = []
    rest = text
    while units(rest) > limit:
        head = cut(rest, limit)
        newline = head.rfind("\n")
        if newline >= len(head) // 2:
            head = head[: newline + 1]
        pieces.append(head)
        rest = rest[len(head) :]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


def render_reply(reply: Reply) -> list[JSON]:
    """Every message of the reply, in order; its buttons as quick replies on the last one.

    Buttons that open a link cannot be quick replies: they become a text line with the URL
    (LINE makes it tappable). Cards carry their own buttons in the bubble's footer, where
    they stay tappable after newer messages arrive; cards in a row share one carousel.
    """
    messages: list[JSON] = []
    cards: list[Card] = []
    for part in [*reply.texts, ""]:  # "" flushes the last run of cards
        if isinstance(part, Card):
            cards.append(part)
            continue
        for start in range(0, len(cards), MAX_BUBBLES):
            messages.append(flex_message(cards[start : start + MAX_BUBBLES]))
        cards = []
        messages.extend({"type": "text", "text": piece} for piece in split_text(part))
    links = [button for button in reply.buttons if button.url]
    if links:
        lines = "\n".join(f"{button.label}: {button.url}" for button in links)
        messages.extend({"type": "text", "text": piece} for piece in split_text(lines))
    choices = [button for button in reply.buttons if not button.url and button.payload]
    if choices:
        if not messages:
            messages.append({"type": "text", "text": BUTTONS_ONLY_TEXT})
        messages[-1]["quickReply"] = quick_reply(choices)
    return messages


def batches(messages: list[JSON]) -> list[list[JSON]]:
    """Messages in groups of at most 5, one group per request."""
    size = MAX_MESSAGES_PER_REQUEST
    return [messages[start : start + size] for start in range(0, len(messages), size)]


def quick_reply(buttons: list[Button]) -> JSON:
    if len(buttons) > MAX_QUICK_REPLIES:
        log.warning("LINE shows at most 13 quick replies; dropping %d", len(buttons) - 13)
    items = [
        {"type": "action", "action": postback_action(button, MAX_QUICK_LABEL)}
        for button in buttons[:MAX_QUICK_REPLIES]
    ]
    return {"items": items}


def postback_action(button: Button, label_limit: int) -> JSON:
    """Tapping sends `payload` back as postback data; the label shows as the member's own
    message (displayText), so the chat reads naturally."""
    return {
        "type": "postback",
        "label": shorten(button.label, label_limit) or "…",
        "data": button.payload,
        "displayText": cut(button.label, MAX_DISPLAY_TEXT) or button.payload,
    }


def action(button: Button, label_limit: int) -> JSON:
    if button.url:
        return {
            "type": "uri",
            "label": shorten(button.label, label_limit) or "…",
            "uri": button.url,
        }
    return postback_action(button, label_limit)


# ---- Flex cards -------------------------------------------------------------------------


def flex_message(cards: list[Card]) -> JSON:
    """One card as a Flex bubble; cards in a row as a carousel (one message, swiped
    sideways). altText is the plain-text version (notifications, the chat list)."""
    contents: JSON
    if len(cards) == 1:
        contents = bubble(cards[0])
    else:
        contents = {"type": "carousel", "contents": [bubble(card) for card in cards]}
    alt_text = "\n\n".join(card.as_text() for card in cards)
    return {"type": "flex", "altText": shorten_lines(alt_text, MAX_ALT_TEXT), "contents": contents}


def shorten_lines(text: str, limit: int) -> str:
    return text if units(text) <= limit else cut(text, limit - 1).rstrip() + "…"


def bubble(card: Card) -> JSON:
    accent = ACCENTS.get(card.kind, ACCENTS["generic"])
    result: JSON = {
        "type": "bubble",
        "size": "mega",
        "header": header(card, accent),
        "body": body(card, accent),
    }
    if card.buttons:
        result["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                footer_button(button, primary=index == 0, accent=accent)
                for index, button in enumerate(card.buttons)
            ],
        }
    return result


def footer_button(button: Button, *, primary: bool, accent: str) -> JSON:
    component: JSON = {
        "type": "button",
        "style": "primary" if primary else "secondary",
        "height": "sm",
        "action": action(button, MAX_FLEX_LABEL),
    }
    if primary:
        component["color"] = accent
    return component


def header(card: Card, accent: str) -> JSON:
    contents: list[JSON] = [text(card.title, size="lg", weight="bold", color="#FFFFFF")]
    if card.subtitle:
        contents.append(text(card.subtitle, size="sm", color="#FFFFFFCC"))
    return {
        "type": "box",
        "layout": "vertical",
        "backgroundColor": accent,
        "paddingAll": "16px",
        "contents": contents,
    }


def body(card: Card, accent: str) -> JSON:
    contents: list[JSON] = []
    if card.highlight:
        contents.append(highlight(card, accent))
    if card.fields:
        if contents:
            contents.append({"type": "separator", "margin": "md"})
        contents.append(
            {
                "type": "box",
                "layout": "vertical",
                "spacing": "sm",
                "margin": "md",
                "contents": [field_row(label, value) for label, value in card.fields],
            }
        )
    if card.progress is not None:
        contents.append(progress(card.progress, card.progress_label, accent))
    if card.footer:
        contents.append(text(card.footer, size="xs", color=GREY, margin="lg"))
    if not contents:  # a Flex box needs at least one component
        contents.append(text(card.title, size="sm", color=GREY))
    return {"type": "box", "layout": "vertical", "spacing": "md", "contents": contents}


def highlight(card: Card, accent: str) -> JSON:
    """The card's key figure: a balance, a tier name, or a coupon code to show at the
    counter (boxed, so staff can read it off the phone)."""
    assert card.highlight
    if card.kind != "coupon":
        return text(card.highlight, size="xxl", weight="bold", color=accent)
    return {
        "type": "box",
        "layout": "vertical",
        "backgroundColor": "#FFF4E6",
        "cornerRadius": "8px",
        "paddingAll": "12px",
        "contents": [text(card.highlight, size="xl", weight="bold", color=accent, align="center")],
    }


def field_row(label: str, value: str) -> JSON:
    return {
        "type": "box",
        "layout": "horizontal",
        "spacing": "md",
        "contents": [
            text(label, size="sm", color=GREY, flex=2),
            text(value, size="sm", color=INK, flex=3, align="end"),
        ],
    }


def progress(fraction: float, label: str | None, accent: str) -> JSON:
    """A progress bar: a grey track with a coloured box `fraction` of its width."""
    percent = round(max(0.0, min(1.0, fraction)) * 100)
    filled: JSON = {
        "type": "box",
        "layout": "vertical",
        "width": f"{percent}%",
        "height": "8px",
        "backgroundColor": accent,
        "cornerRadius": "4px",
        "contents": [],
    }
    contents: list[JSON] = [
        {
            "type": "box",
            "layout": "vertical",
            "height": "8px",
            "backgroundColor": TRACK,
            "cornerRadius": "4px",
            "contents": [filled] if percent else [],
        }
    ]
    if label:
        contents.append(text(label, size="xs", color=GREY))
    return {
        "type": "box",
        "layout": "vertical",
        "spacing": "xs",
        "margin": "lg",
        "contents": contents,
    }


def text(value: str, **style: Any) -> JSON:
    """A Flex text component; Flex refuses empty texts, so an empty value shows as "-"."""
    return {"type": "text", "text": value if value.strip() else "-", "wrap": True, **style}
