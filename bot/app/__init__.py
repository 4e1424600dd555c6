"""The composition root: settings, the services every part shares, the one factory of
channels, migrations and metrics.
"""

from bot.app.channels import (
    CHANNEL_NAMES,
    build_channels,
    enabled_channels,
    line_channel,
    quota_channels,
    remember_bot_username,
    telegram_channel,
)
from bot.app.metrics import shared_metrics
from bot.app.services import Services, bootstrap
from bot.app.settings import Settings, SettingsError, load_settings
from bot.app.shared_limits import SharedRateLimiter

__all__ = [
    "CHANNEL_NAMES",
    "Services",
    "Settings",
    "SettingsError",
    "SharedRateLimiter",
    "bootstrap",
    "build_channels",
    "enabled_channels",
    "line_channel",
    "load_settings",
    "quota_channels",
    "remember_bot_username",
    "shared_metrics",
    "telegram_channel",
]
