"""The buttons offered under help and unclear answers."""

from __future__ import annotations

from bot.dialogs.turn import Turn
from core.messages import Button

MEMBER_MENU = ("points", "coupons", "tier", "checkin", "survey", "invite")


def menu_buttons(turn: Turn) -> list[Button]:
    if not turn.member.signed_up:
        return [Button(turn.t("menu.join"), "cmd:start")]
    return [Button(turn.t(f"menu.{name}"), f"cmd:{name}") for name in MEMBER_MENU]
