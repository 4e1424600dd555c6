"""Reaching the test PostgreSQL, and per-run schemas in it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from core.kernel.db import make_engine, normalise_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url(*, redacted: bool = False) -> str:
    url = normalise_url(os.environ.get("LOYALTY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if redacted:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    return url


def postgres_problem() -> str | None:
    """None when the test PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(postgres_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def schema_url(schema: str) -> str:
    url = sa.engine.make_url(postgres_url())
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def reset_postgres_schema(schema: str) -> str:
    """Create `schema` afresh, migrate it, and return a URL whose search_path is it."""
    from bot.app.migrate import upgrade

    admin = sa.create_engine(postgres_url())
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = schema_url(schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@contextmanager
def own_postgres_schema(prefix: str) -> Iterator[str]:
    """A migrated schema for one test alone (one that starts servers on it, or moves it
    between revisions), dropped afterwards; yields its URL."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        yield reset_postgres_schema(schema)
    finally:
        engine = sa.create_engine(postgres_url())
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


_TABLES: dict[str, list[str]] = {}


def truncate_all(url: str) -> None:
    """Empty every table but Alembic's, fast, between tests."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        if url not in _TABLES:
            _TABLES[url] = [
                name
                for name in sa.inspect(connection).get_table_names()
                if name != "alembic_version"
            ]
        tables = ", ".join(f'"{name}"' for name in _TABLES[url])
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
