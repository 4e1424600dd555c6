"""Benchmark: `loyalty demo --members 100000` on a fresh database (target: under a minute on
SQLite on a 2-core machine). Prints members/s, rows/s and seconds, and the ratio of the
demo's write rate to a baseline measured in the same run: a bare driver executemany of
simple rows into one indexed table on the same database kind. Figures only, no assertions
on time (the machine may be shared: the load average is printed alongside)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.kernel.db import make_engine
from tests.support.databases import truncate_all
from tests.support.processes import LOYALTY, clean_env

MEMBERS = int(os.environ.get("LOYALTY_BENCH_DEMO_MEMBERS", "100000"))
BASELINE_ROWS = 500_000
ADDED = re.compile(r"added ([\d,]+) demo members \(([\d,]+) rows\) in ([\d.]+) s")


def run_demo(url: str, cwd: Path) -> tuple[float, float, int]:
    """Wall seconds of the whole command, the demo's own seconds, and the rows it wrote."""
    started = time.perf_counter()
    result = subprocess.run(
        [LOYALTY, "demo", "--members", str(MEMBERS), "--seed", "1"],
        cwd=cwd,
        env=clean_env(LOYALTY_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    found = ADDED.search(result.stdout)
    assert found, result.stdout
    return wall, float(found.group(3)), int(found.group(2).replace(",", ""))


def baseline_rows_per_second(url: str) -> float:
    """A bare executemany of simple rows into a table with a primary key and one index."""
    engine = make_engine(url)
    now = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    rows = [
        (n, n % 100_000, "earn", now + timedelta(seconds=n)) for n in range(1, BASELINE_ROWS + 1)
    ]
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_baseline")
        connection.exec_driver_sql(
            "CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL,"
            " kind VARCHAR(16) NOT NULL, created_at TIMESTAMP NOT NULL)"
        )
        connection.exec_driver_sql(
            "CREATE INDEX ix_bench_baseline ON bench_baseline (member_id, created_at)"
        )
    marker = "?" if engine.dialect.name == "sqlite" else "%s"
    statement = f"INSERT INTO bench_baseline VALUES ({', '.join([marker] * 4)})"
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(statement, rows)
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_baseline")
    engine.dispose()
    return BASELINE_ROWS / seconds


def report(kind: str, url: str, cwd: Path) -> None:
    load_before = os.getloadavg()[0]
    wall, seconds, rows = run_demo(url, cwd)
    baseline = baseline_rows_per_second(url)
    rate = rows / seconds
    print(
        f"\nB-demo {kind}: {MEMBERS:,} members, {rows:,} rows in {seconds:.1f} s "
        f"({wall:.1f} s with start-up): {MEMBERS / seconds:,.0f} members/s, {rate:,.0f} rows/s; "
        f"bare executemany baseline {baseline:,.0f} rows/s, ratio {rate / baseline:.2f}; "
        f"load average {load_before:.1f} (on {os.cpu_count()} CPUs)"
    )


def test_demo_100k_members_on_sqlite(tmp_path: Path) -> None:
    report("sqlite", f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)


def test_demo_100k_members_on_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    report("postgresql", url, tmp_path)
