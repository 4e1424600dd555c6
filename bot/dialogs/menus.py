"""The buttons offered under help and unclear answers."""

from __future__ import annotations

from bot.dialogs.turn import Turn
from core.chat import Button, member_menu


def menu_buttons(turn: Turn) -> list[Button]:
    if not turn.member.signed_up:
        return [Button(turn.t("menu.join"), "cmd:start")]
    return member_menu(turn.t)
