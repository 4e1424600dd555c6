"""The migrations build the models' schema, the same on SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.kernel.db import make_engine
from core.models import metadata


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
