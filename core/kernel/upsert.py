"""The one place that picks PostgreSQL's or SQLite's INSERT, whose ON CONFLICT clauses
(do nothing, do update) both dialects spell alike."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

Bind = Session | sa.Connection | sa.Engine | str


def upsert_insert(bind: Bind, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that can take `on_conflict_do_nothing` or
    `on_conflict_do_update`, for the database behind `bind` (a session, a connection, an
    engine, or a dialect name such as `Database.dialect`)."""
    if isinstance(bind, str):
        dialect = bind
    elif isinstance(bind, Session):
        dialect = bind.get_bind().dialect.name
    else:
        dialect = bind.dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
