"""`loyalty model [--as-of DATE] [--json]` against purchases simulated from known models."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.app.migrate import upgrade
from core.kernel import Database
from core.models import Member, MemberScore
from tests.support.cli import loyalty
from tests.support.history import TRUE_BGNBD, TRUE_SPEND, insert_history
from tests.support.processes import LOYALTY, clean_env

N = 2_000


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def count(url: str, *where: object, table: object = MemberScore) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        statement = sa.select(sa.func.count()).select_from(table)  # type: ignore[arg-type]
        value = connection.execute(statement.where(*where)).scalar_one()
    engine.dispose()
    return int(value)


def assert_near(fitted: dict, errors: dict, truth: dict) -> None:
    for name, true in truth.items():
        assert math.isfinite(fitted[name]) and fitted[name] > 0, name
        assert abs(fitted[name] - true) < 4 * errors[name], (name, fitted[name], true, errors[name])


@pytest.fixture
def simulated_sqlite(tmp_path):
    """A migrated SQLite file holding N simulated members' purchases up to a minute ago."""
    url = f"sqlite:///{tmp_path / 'loyalty.db'}"
    database = Database(url)
    upgrade(database.engine)
    insert_history(database.engine, n=N, as_of=now_utc(), seed=3)
    database.dispose()
    return url


def run_cli(tmp_path, url, *args):
    return subprocess.run(
        [LOYALTY, "model", *args],
        cwd=tmp_path,
        env=clean_env(LOYALTY_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_json_has_exactly_the_documented_shape_and_recovers_the_parameters(
    tmp_path, simulated_sqlite
):
    result = run_cli(tmp_path, simulated_sqlite, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document)[:4] == ["time_unit", "bgnbd", "gamma_gamma", "members"]
    assert document["time_unit"] == "week"
    assert list(document["bgnbd"]) == ["r", "alpha", "a", "b", "log_likelihood"]
    assert list(document["gamma_gamma"]) == ["p", "q", "gamma"]
    assert document["members"] == N
    assert document["bgnbd"]["log_likelihood"] < 0
    errors = document["standard_errors"]
    assert_near(document["bgnbd"], errors["bgnbd"], TRUE_BGNBD.as_dict())
    assert_near(document["gamma_gamma"], errors["gamma_gamma"], TRUE_SPEND.as_dict())
    assert document["converged"] == {"bgnbd": True, "gamma_gamma": True}
    segments = document["segments"]
    assert sum(segment["members"] for segment in segments.values()) == N
    assert count(simulated_sqlite) == N
    assert count(simulated_sqlite, Member.segment.is_(None), table=Member) == 0


def test_tables_show_the_parameters_with_their_time_unit_and_the_segments(
    tmp_path, simulated_sqlite
):
    result = run_cli(tmp_path, simulated_sqlite)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "BG/NBD: purchases and churn (time unit: week)" in text
    assert "(per week)" in text and "log-likelihood" in text and "converged" in text
    assert "Gamma-Gamma" in text and "std. error" in text
    assert "Segments" in text and "champions" in text and "total LTV" in text
    assert f"Scores stored for {N:,} members" in text


def test_as_of_fits_on_the_purchases_up_to_that_date(tmp_path, simulated_sqlite):
    # insert_history starts members 26 to 39 weeks back: 30 weeks back, some had not bought.
    day = (now_utc() - timedelta(weeks=30)).date().isoformat()
    result = run_cli(tmp_path, simulated_sqlite, "--as-of", day, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["as_of"] == day and 0 < document["members"] < N
    assert count(simulated_sqlite) == document["members"]


@pytest.mark.parametrize("as_json", [True, False])
def test_not_enough_data_exits_1_with_a_helpful_message(tmp_path, as_json):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_cli(tmp_path, url, *(["--json"] if as_json else []))
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"] if as_json else result.stderr
    assert "not enough purchase history" in error and "loyalty import purchases" in error


@pytest.mark.parametrize("value", ["2099-01-01", "yesterday", "2026-02-30"])
def test_a_bad_or_future_as_of_exits_2(tmp_path, value):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_cli(tmp_path, url, "--as-of", value, "--json")
    assert result.returncode == 2
    assert value in json.loads(result.stdout)["error"]


def test_the_command_works_on_both_databases(monkeypatch, database_url, db):
    insert_history(db.engine, n=400, as_of=now_utc(), seed=5)
    result = loyalty(monkeypatch, database_url, "model", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["members"] == 400 and document["time_unit"] == "week"
    assert count(database_url) == 400
