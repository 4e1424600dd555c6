"""The composition root: builds the database, programme and clock from settings, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.migrate import upgrade
from bot.settings import Settings, load_settings
from core.clock import Clock, SystemClock
from core.db import Database
from core.programme import Programme, load_programme


@dataclass
class Services:
    """Everything the app, the jobs and the CLI share; tests build it with their own parts."""

    settings: Settings
    database: Database
    programme: Programme
    clock: Clock = field(default_factory=SystemClock)

    def close(self) -> None:
        self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    programme: Programme | None = None,
    clock: Clock | None = None,
    migrate: bool = False,
) -> Services:
    """Build the services. Raises SettingsError or ConfigError on bad configuration."""
    settings = settings or load_settings()
    programme = programme or load_programme(
        settings.config_path(), timezone=settings.timezone, locale=settings.locale
    )
    database = database or Database(settings.database_url)
    if migrate:
        upgrade(database.engine)
    return Services(
        settings=settings, database=database, programme=programme, clock=clock or SystemClock()
    )
