"""The composition root: settings, the services every part shares, the one factory of
channels, migrations and metrics.
"""

from bot.app.channels import build_channels
from bot.app.metrics import shared_metrics
from bot.app.services import Services, bootstrap
from bot.app.settings import Settings, SettingsError, load_settings
from bot.app.shared_limits import SharedRateLimiter

__all__ = [
    "Services",
    "Settings",
    "SettingsError",
    "SharedRateLimiter",
    "bootstrap",
    "build_channels",
    "load_settings",
    "shared_metrics",
]
