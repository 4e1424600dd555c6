"""Alembic environment: runs against the connection `loyalty migrate` hands over, or the URL
from LOYALTY_DATABASE_URL when run from the `alembic` command."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

import core.models  # noqa: F401  (registers every table)
from core.kernel.db import make_engine
from core.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table_schema=config.attributes.get("schema"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or os.environ.get(
        "LOYALTY_DATABASE_URL", "sqlite:///loyalty.db"
    )
    engine = make_engine(url, immediate=False)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `loyalty migrate`")
run()
