"""The member menu: the commands offered under help and unclear answers, and in LINE's
rich menu."""

from __future__ import annotations

from collections.abc import Callable

from core.chat.messages import Button

# The member menu: offered under help and unclear answers, and LINE's rich menu.
MEMBER_MENU = ("points", "coupons", "tier", "checkin", "survey", "invite")


def member_menu(label: Callable[[str], str]) -> list[Button]:
    """The member menu's buttons (postbacks `cmd:<name>`), each labelled `label("menu.<name>")`."""
    return [Button(label(f"menu.{name}"), f"cmd:{name}") for name in MEMBER_MENU]
