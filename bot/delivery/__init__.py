"""Delivery: the senders that drain the outbox per channel, and the rendering of
campaign and automation messages into each member's language.
"""

from bot.delivery.automation_texts import automation_sending, push_channels
from bot.delivery.render import Renderer
from bot.delivery.senders import DeliveryWorker

__all__ = [
    "DeliveryWorker",
    "Renderer",
    "automation_sending",
    "push_channels",
]
