"""Bulk inserts for the demo: a Core insert compiled once per table, run by the driver's
executemany with values already in the driver's form.

`connection.execute(table.insert(), rows)` does the same, but its per-row parameter
handling costs more than SQLite's own work at this volume (millions of rows), so the
conversion is done a column at a time here, with the column types' own bind processors
except for times, which are formatted directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from bot.demo.rows import Packed
from core.models import UTCDateTime

Converter = Callable[[Any], Any] | None


def insert_rows(connection: Connection, table: sa.Table, rows: Packed) -> None:
    """Insert `rows` into `table` in the connection's transaction."""
    if not rows.values:
        return
    dialect = connection.dialect
    compiled = table.insert().compile(dialect=dialect, column_keys=rows.columns)
    by_name = dict(zip(rows.columns, zip(*rows.values, strict=True), strict=True))
    names = list(compiled.positiontup or []) if compiled.positional else rows.columns
    columns = []
    for name in names:
        convert = converter(table.c[name].type, dialect)
        columns.append(list(map(convert, by_name[name])) if convert else by_name[name])
    if compiled.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    connection.exec_driver_sql(compiled.string, params)


def converter(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Converter:
    if isinstance(type_, UTCDateTime):
        return _sqlite_time if dialect.name == "sqlite" else _naive_utc
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format for datetimes, of the UTC time."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")
