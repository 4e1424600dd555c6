"""Dialogs: every chat command and conversation, written once for all channels."""

from bot.dialogs.router import Dialogs

__all__ = ["Dialogs"]
