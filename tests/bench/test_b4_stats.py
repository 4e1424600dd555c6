"""Benchmark B4: `/stats` on 1,000,000 members and 20,000,000 events, on SQLite and
PostgreSQL (target: under 100 ms), against a plain GROUP BY over the events measured in
the same run. Prints figures; asserts only that the stats saw the data.

The data is generated in SQL (tests/bench/b4_data.py) into a dedicated SQLite file and a
dedicated PostgreSQL schema (`loyalty_b4`), then the aggregates are built with
`rebuild_aggregates`. Settings:
  LOYALTY_B4_SCALE=0.1   a tenth of the members and events (default 1)
  LOYALTY_B4_RUNS=30     timed runs of the /stats query set (after two warm-up runs)
  LOYALTY_B4_DIR=PATH    where the SQLite file goes (default: pytest's temporary directory)
  LOYALTY_B4_KEEP=1      keep the data, and reuse it next time at the same scale
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import Services, Settings
from bot.app.migrate import upgrade
from bot.app.services import sync_programme
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.kernel.db import make_engine
from core.programme import Programme
from core.stats import funnel, kpis, rebuild_aggregates
from tests.bench.b4_data import NOW, analyze, generate
from tests.support.databases import postgres_problem, reset_postgres_schema, schema_url

SCALE = float(os.environ.get("LOYALTY_B4_SCALE", "1"))
MEMBERS = int(1_000_000 * SCALE)
EVENTS = int(20_000_000 * SCALE)
RUNS = int(os.environ.get("LOYALTY_B4_RUNS", "30"))
KEEP = os.environ.get("LOYALTY_B4_KEEP", "") not in ("", "0")
SCHEMA = "loyalty_b4"
BASELINE = "SELECT stage, count(*) FROM event GROUP BY stage"
BASELINE_RUNS = 3


def prepared(url: str) -> bool:
    """The data of this scale is there already (kept from an earlier run)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT members, events FROM b4_done").one()
        return tuple(found) == (MEMBERS, EVENTS)
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def fill(url: str, programme: Programme) -> dict[str, float]:
    """Generate the data and build the aggregates; seconds per step."""
    seconds: dict[str, float] = {}
    database = Database(url)
    sync_programme(
        Services(
            settings=Settings(database_url=url),
            database=database,
            programme=programme,
            clock=FixedClock(NOW),
        )
    )
    database.dispose()  # SQLite leaves WAL mode only with no other connection open
    started = time.perf_counter()
    engine = bulk_engine(url)
    with engine.begin() as connection:
        generate(connection, members=MEMBERS, events=EVENTS, tier=programme.tiers.levels[0].code)
    engine.dispose()
    seconds["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    database = Database(url)
    with database.session() as session:
        rebuild_aggregates(session, programme=programme)
        session.commit()
    seconds["rebuild_aggregates"] = time.perf_counter() - started
    started = time.perf_counter()
    analyze(database.engine)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE b4_done (members BIGINT, events BIGINT)")
        connection.exec_driver_sql(f"INSERT INTO b4_done VALUES ({MEMBERS}, {EVENTS})")
    seconds["analyze"] = time.perf_counter() - started
    database.dispose()
    return seconds


def bulk_engine(url: str) -> sa.Engine:
    """SQLite without a journal, each statement its own transaction; PostgreSQL with
    asynchronous commit and room to build indexes."""
    if not url.startswith("sqlite"):
        engine = make_engine(url)

        @sa.event.listens_for(engine, "begin")
        def _settings(connection: sa.Connection) -> None:
            for setting in (
                "synchronous_commit = off",
                "maintenance_work_mem = '1GB'",
                # The rows are consistent by construction: skip 20M foreign-key trigger calls.
                "session_replication_role = replica",
            ):
                connection.exec_driver_sql(f"SET LOCAL {setting}")

        return engine
    engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "cache_size = -1000000",
            "temp_store = MEMORY",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def timed(work: Callable[[], object], runs: int, warm_up: int = 0) -> list[float]:
    for _ in range(warm_up):
        work()
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        found.append((time.perf_counter() - started) * 1000)
    return found


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def report(kind: str, url: str, programme: Programme, built: dict[str, float] | None) -> None:
    database = Database(url)
    load = os.getloadavg()[0]

    def stats_command() -> None:  # what /stats runs: bot/dialogs/admin/commands.py
        with database.reader() as session:
            found = funnel(session, programme=programme, now=NOW, days=30)
            figures = kpis(session, now=NOW, days=30, programme=programme)
        assert found.stages[0].entered > 0 and figures.purchases > 0 and figures.members > 0

    def all_time() -> None:  # what `loyalty stats` runs by default
        with database.reader() as session:
            funnel(session, programme=programme, now=NOW)
            kpis(session, now=NOW, days=30, programme=programme)

    def baseline() -> None:
        with database.reader() as session:
            session.execute(sa.text(BASELINE)).all()

    stats = timed(stats_command, RUNS, warm_up=2)
    everything = timed(all_time, RUNS, warm_up=1)
    plain = timed(baseline, BASELINE_RUNS, warm_up=1)
    database.dispose()
    median, base = statistics.median(stats), statistics.median(plain)
    steps = ", ".join(f"{name} {value:.0f} s" for name, value in (built or {}).items())
    print(
        f"\nB4 {kind}: {MEMBERS:,} members, {EVENTS:,} events (scale {SCALE:g}); "
        f"data: {steps or 'kept from an earlier run'}; load average {load:.1f}\n"
        f"  /stats (funnel + KPIs, 30 days): median {median:.1f} ms, p99 {p99(stats):.1f} ms "
        f"over {RUNS} runs (target < 100 ms)\n"
        f"  loyalty stats (all-time funnel + KPIs): median {statistics.median(everything):.1f} ms,"
        f" p99 {p99(everything):.1f} ms\n"
        f"  baseline `{BASELINE}`: median {base:.0f} ms over {BASELINE_RUNS} runs\n"
        f"  ratio /stats ÷ baseline: {median / base:.5f} (the GROUP BY takes {base / median:,.0f}×"
        " as long)"
    )


@pytest.mark.timeout(3600)
def test_b4_stats_on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> None:
    programme = Programme()
    folder = Path(os.environ.get("LOYALTY_B4_DIR") or tmp_path_factory.mktemp("b4"))
    path = folder / f"b4-{MEMBERS}.db"
    url = f"sqlite:///{path}"
    built = None
    if not (KEEP and prepared(url)):
        path.unlink(missing_ok=True)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        built = fill(url, programme)
    try:
        report("SQLite", url, programme, built)
    finally:
        if not KEEP:
            path.unlink(missing_ok=True)


@pytest.mark.timeout(3600)
def test_b4_stats_on_postgresql() -> None:
    problem = postgres_problem()
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    programme = Programme()
    url = schema_url(SCHEMA)
    built = None
    if not (KEEP and prepared(url)):
        url = reset_postgres_schema(SCHEMA)
        built = fill(url, programme)
    try:
        report("PostgreSQL", url, programme, built)
    finally:
        if not KEEP:
            engine = make_engine(url)
            with engine.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
            engine.dispose()
