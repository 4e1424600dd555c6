"""LINE through line-bot-sdk v3: signed webhook events in, quick replies, Flex
messages, multicasts and rich menus out.
"""

from adapters.line.calls import LineApiError
from adapters.line.channel import LineChannel
from adapters.line.rich_menu import drawable, menu_image

__all__ = [
    "LineApiError",
    "LineChannel",
    "drawable",
    "menu_image",
]
