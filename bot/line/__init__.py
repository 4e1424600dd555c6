"""LINE's extras: rich menus per tier and their linking, and the month's message quota."""

from bot.line.menus import RichMenuLinker, create_rich_menus, start_menu_linker
from bot.line.quota import LineQuota, read_line_quota, read_message_quotas

__all__ = [
    "LineQuota",
    "RichMenuLinker",
    "create_rich_menus",
    "read_line_quota",
    "read_message_quotas",
    "start_menu_linker",
]
