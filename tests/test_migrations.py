"""The migrations build the models' schema, the same on SQLite and PostgreSQL, and move a
database with rows in it back and forth."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.app.migrate import alembic_config, upgrade
from core.kernel import Database
from core.kernel.db import make_engine
from core.models import metadata
from tests.conftest import DATABASES
from tests.support.databases import own_postgres_schema
from tests.support.members import new_member
from tests.support.points import buy, refund


def test_models_and_migrations_do_not_drift(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def _schema(url: str) -> dict[str, dict[str, object]]:
    engine = make_engine(url)
    inspector = sa.inspect(engine)
    schema = {}
    for table in inspector.get_table_names():
        uniques = inspector.get_unique_constraints(table)
        # PostgreSQL also lists the index behind each unique constraint; SQLite does not.
        constraint_names = {u["name"] for u in uniques}
        schema[table] = {
            "columns": sorted((c["name"], c["nullable"]) for c in inspector.get_columns(table)),
            "unique": sorted(tuple(u["column_names"]) for u in uniques),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if i["name"] not in constraint_names
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
        }
    engine.dispose()
    return schema


def test_sqlite_and_postgresql_get_the_same_tables(sqlite_template, postgres_schema_url):
    on_sqlite = _schema(f"sqlite:///{sqlite_template}")
    on_postgres = _schema(postgres_schema_url)
    assert set(on_sqlite) == set(on_postgres)
    assert "member" in on_sqlite and "ledger_entry" in on_sqlite
    for table in on_sqlite:
        assert on_sqlite[table] == on_postgres[table], table


# ---- moving one database back and forth ------------------------------------------------------


@pytest.fixture(params=DATABASES)
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each kind that only this test uses, so it may downgrade it."""
    if request.param == "sqlite":
        target = tmp_path / "own.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    problem = request.config._loyalty_pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    with own_postgres_schema("loyalty_migrate") as url:
        yield url


def _move_to(engine: sa.Engine, revision: str) -> None:
    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def _purchases(engine: sa.Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM purchase ORDER BY id")).mappings()
        return [dict(row) for row in rows]


def _foreign_key_problems(engine: sa.Engine) -> list[object]:
    if engine.dialect.name != "sqlite":
        return []  # PostgreSQL checks every constraint as rows change
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("PRAGMA foreign_key_check"))


def test_purchase_fingerprint_goes_and_comes_back_with_purchases_and_refunds_intact(
    own_database_url, clock, programme
):
    database = Database(own_database_url)
    member_id = new_member(database, clock, programme)
    buy(database, clock, programme, member_id, 250, order_id="order-1")
    refund(database, clock, programme, "order-1", 100)
    database.dispose()
    engine = make_engine(own_database_url)
    before = _purchases(engine)
    assert "fingerprint" not in before[0]

    _move_to(engine, "0009")
    back = _purchases(engine)
    assert [row.pop("fingerprint") for row in back] == [""]
    assert back == before

    upgrade(engine)
    assert _purchases(engine) == before
    assert _foreign_key_problems(engine) == []
    with engine.connect() as connection:
        refunds = connection.execute(sa.text("SELECT count(*) FROM refund")).scalar_one()
        entries = connection.execute(
            sa.text("SELECT count(*) FROM ledger_entry WHERE purchase_id IS NOT NULL")
        ).scalar_one()
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert (refunds, entries) == (1, 1)
    assert differences == []
