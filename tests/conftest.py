"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from LOYALTY_TEST_POSTGRES_URL (default: the local server's `test`
database); each test run works in its own schema. With CI set, an unreachable PostgreSQL
fails the run; otherwise its half is skipped with a line saying so.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.dialogs import Dialogs
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.kernel.db import make_engine
from core.programme import Programme
from tests.support.databases import (
    postgres_problem,
    postgres_url,
    reset_postgres_schema,
    truncate_all,
)

hypothesis_settings.register_profile("default", deadline=None, max_examples=40)
hypothesis_settings.register_profile("ci", deadline=None, max_examples=60, derandomize=False)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

DATABASES = ("sqlite", "postgresql")
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Taipei


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config._loyalty_pg_problem = postgres_problem()  # type: ignore[attr-defined]
    if config._loyalty_pg_problem and in_ci():  # type: ignore[attr-defined]
        raise pytest.UsageError(
            f"CI is set but PostgreSQL is not reachable: {config._loyalty_pg_problem}"  # type: ignore[attr-defined]
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    problem = config._loyalty_pg_problem  # type: ignore[attr-defined]
    if problem:
        return [f"databases: sqlite; PostgreSQL SKIPPED ({problem})"]
    return [f"databases: sqlite and postgresql ({postgres_url(redacted=True)})"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = {name: 0 for name in DATABASES}
    for report in terminalreporter.stats.get("passed", []):
        for name in DATABASES:
            if any(mark in report.nodeid for mark in (f"[{name}", f"-{name}]", f"-{name}-")):
                counts[name] += 1
    problem = terminalreporter.config._loyalty_pg_problem  # type: ignore[attr-defined]
    line = ", ".join(f"{name}: {count} passed" for name, count in counts.items())
    terminalreporter.write_sep("=", f"storage tests by database: {line}")
    if problem:
        terminalreporter.write_line(f"PostgreSQL tests were SKIPPED: {problem}", yellow=True)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    from bot.app.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    problem = request.config._loyalty_pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"loyalty_test_{worker}_{uuid.uuid4().hex[:6]}"
    url = reset_postgres_schema(schema)
    yield url
    engine = sa.create_engine(postgres_url())
    with engine.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "loyalty.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def programme() -> Programme:
    return Programme()


@pytest.fixture
def services(db: Database, clock: FixedClock, programme: Programme) -> Services:
    """The application's services on the test database, with the programme synced."""
    settings = Settings(database_url=db.url, admins=[("console", "staff")])
    built = Services(settings=settings, database=db, programme=programme, clock=clock)
    sync_programme(built)
    return built


@pytest.fixture
def dialogs(services: Services) -> Dialogs:
    return Dialogs(services)
