"""Dialogs: every chat command and conversation, written once for all channels, and the
one table (TABLE) of the commands, buttons and texts they answer."""

from bot.dialogs.router import Dialogs
from bot.dialogs.table import TABLE

__all__ = ["TABLE", "Dialogs"]
