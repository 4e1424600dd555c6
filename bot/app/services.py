"""The composition root: builds the database, programme and clock from settings, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app.metrics import Metrics
from bot.app.migrate import upgrade
from bot.app.settings import Settings, load_settings
from core.coupons import sync_coupon_definitions
from core.kernel import Clock, Database, SystemClock
from core.programme import Programme, load_programme
from core.surveys import sync_surveys


@dataclass
class Services:
    """Everything the app, the jobs and the CLI share; tests build it with their own parts."""

    settings: Settings
    database: Database
    programme: Programme
    clock: Clock = field(default_factory=SystemClock)
    metrics: Metrics = field(default_factory=Metrics)  # a registry per app: see bot/app/metrics.py

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
    services = Services(
        settings=settings, database=database, programme=programme, clock=clock or SystemClock()
    )
    if migrate:
        upgrade(database.engine)
        sync_programme(services)
    return services


def sync_programme(services: Services) -> None:
    """Bring the coupon and survey definitions in the database in line with the programme."""
    with services.database.session() as session:
        sync_coupon_definitions(session, clock=services.clock, programme=services.programme)
    with services.database.session() as session:
        sync_surveys(session, clock=services.clock, programme=services.programme)
