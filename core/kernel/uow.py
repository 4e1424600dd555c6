"""Committing a use case: counters kept for stats are applied last, in a fixed order."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from core.kernel.upsert import upsert_insert

_PENDING = "pending_increments"
DEFER_COMMIT = "defer_commit"


def increment(
    session: Session, model: type[SQLModel], keys: dict[str, Any], column: str, by: int = 1
) -> None:
    """Add `by` to `model.column` on the row identified by `keys`, when the use case commits.

    Increments are applied just before commit, sorted by table and key, so concurrent use
    cases take the counter rows' locks in one order and hold them only briefly."""
    pending: dict[tuple[Any, ...], int] = session.info.setdefault(_PENDING, defaultdict(int))
    key = (model.__tablename__, tuple(sorted(keys.items())), column)
    pending[key] += by
    session.info.setdefault("increment_models", {})[model.__tablename__] = model


def commit(session: Session) -> None:
    """Apply pending counter increments, then commit the use case's one transaction.

    While `session.info[DEFER_COMMIT]` is set (an import grouping many use cases into one
    transaction) this only flushes; the group then applies the counters, merged, and
    commits once."""
    if session.info.get(DEFER_COMMIT):
        session.flush()
        return
    apply_increments(session)
    session.commit()


def apply_increments(session: Session) -> None:
    """Upsert the counter rows in a fixed order (table, then key), all of a row's columns
    together; consecutive rows of one table with the same columns share one statement."""
    pending: dict[tuple[Any, ...], int] = session.info.pop(_PENDING, {})
    models: dict[str, type[SQLModel]] = session.info.pop("increment_models", {})
    rows: dict[tuple[str, tuple[Any, ...]], dict[str, int]] = defaultdict(dict)
    for (table_name, key_items, column), by in pending.items():
        if by != 0:
            rows[(table_name, key_items)][column] = by
    runs: list[tuple[str, tuple[str, ...], tuple[str, ...], list[dict[str, Any]]]] = []
    for (table_name, key_items), columns in sorted(rows.items(), key=_order):
        keys, names = tuple(name for name, _ in key_items), tuple(sorted(columns))
        if runs and runs[-1][:3] == (table_name, keys, names):
            runs[-1][3].append(dict(key_items) | columns)
        else:
            runs.append((table_name, keys, names, [dict(key_items) | columns]))
    for table_name, keys, names, values in runs:
        table: sa.Table = models[table_name].__table__  # type: ignore[attr-defined]
        insert = upsert_insert(session, table)
        statement = insert.values(values).on_conflict_do_update(
            index_elements=list(keys),
            set_={column: table.c[column] + insert.excluded[column] for column in names},
        )
        session.execute(statement)


def discard_increments(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop("increment_models", None)


def _order(item: tuple[tuple[str, tuple[Any, ...]], dict[str, int]]) -> tuple[str, str]:
    (table_name, key_items), _ = item
    return table_name, repr(key_items)
