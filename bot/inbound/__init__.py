"""Inbound messages: the inbox that takes each webhook update once and hands it to the
dialogs, the messenger that sends their replies, and the terminal chat.
"""

from bot.inbound.console import run_chat
from bot.inbound.inbox import Inbox
from bot.inbound.messenger import Messenger

__all__ = [
    "Inbox",
    "Messenger",
    "run_chat",
]
