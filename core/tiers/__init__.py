"""Tiers: qualifying value over a rolling window, instant upgrades, periodic reviews with
a warning first; the chat menu each tier gets.
"""

from core.tiers.chat_menus import (
    DEFAULT_MENU,
    TierChanges,
    advance_menu_cursor,
    menu_cursor,
    menu_for,
    replace_menus,
    saved_menus,
    tier_changes_after,
    tier_menu_key,
)
from core.tiers.rules import (
    TierProgress,
    collect_tier_warnings,
    note_qualifying,
    review_tiers,
    tier_progress,
    window_start,
)

__all__ = [
    "DEFAULT_MENU",
    "TierChanges",
    "advance_menu_cursor",
    "menu_cursor",
    "menu_for",
    "replace_menus",
    "saved_menus",
    "tier_changes_after",
    "tier_menu_key",
    "TierProgress",
    "collect_tier_warnings",
    "note_qualifying",
    "review_tiers",
    "tier_progress",
    "window_start",
]
