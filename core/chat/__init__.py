"""Chat, channel-neutral: the messages dialogs read and write, the channel port adapters
implement, and the member menu.
"""

from core.chat.channel import BadUpdate, BeforeRequest, Channel, InboundItem, SendResult, user_key
from core.chat.menus import MEMBER_MENU, member_menu
from core.chat.messages import (
    MAX_PAYLOAD_BYTES,
    MAX_TEXT_CHARS,
    Button,
    Card,
    Incoming,
    Notice,
    Outcome,
    Reply,
    parse_command,
    progress_bar,
)

__all__ = [
    "BadUpdate",
    "BeforeRequest",
    "Button",
    "Card",
    "Channel",
    "InboundItem",
    "Incoming",
    "MAX_PAYLOAD_BYTES",
    "MAX_TEXT_CHARS",
    "MEMBER_MENU",
    "Notice",
    "Outcome",
    "Reply",
    "SendResult",
    "member_menu",
    "parse_command",
    "progress_bar",
    "user_key",
]
