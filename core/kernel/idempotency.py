"""Run a use case at most once per idempotency key; a repeat returns the first result."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.kernel.errors import IdempotencyConflict, InvalidInput
from core.kernel.uow import commit, discard_increments
from core.kernel.upsert import upsert_insert
from core.models import IdempotencyRecord

R = TypeVar("R", bound=BaseModel)

MAX_KEY_LENGTH = 200
_ATTEMPTS = 4


def fingerprint(operation: str, request: dict[str, Any]) -> str:
    body = json.dumps({"op": operation, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def run_once(
    session: Session,
    *,
    key: str | None,
    operation: str,
    request: dict[str, Any],
    result_type: type[R],
    now: datetime,
    work: Callable[[], R],
) -> R:
    """Run `work` in one transaction and commit; with a key, only the first run has effect.

    `work` may run again after a unique-constraint race, so it must read what it needs.

    The key is claimed before the work starts, so on PostgreSQL a concurrent duplicate
    waits on the key's unique index and then reads the first result instead of redoing it.
    The same key with a different request raises IdempotencyConflict."""
    if key is None:
        return _retrying(session, lambda: _commit(session, work()))
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"idempotency key must be 1–{MAX_KEY_LENGTH} characters")
    print_ = fingerprint(operation, request)

    def attempt() -> R:
        if not _claim(session, key, operation, print_, now):
            existing = session.get(IdempotencyRecord, key, populate_existing=True)
            # The conflicting row is committed (PostgreSQL waited for it; read committed
            # shows it to this next statement), and records are never deleted.
            assert existing is not None
            first = (existing.fingerprint, existing.operation, existing.result)
            session.rollback()
            if first[:2] != (print_, operation):
                raise IdempotencyConflict(
                    "this idempotency key was used for a different request", key=key
                )
            return result_type.model_validate(first[2])
        result = work()
        session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.key == key)
            .values(result=result.model_dump(mode="json"))
        )
        return _commit(session, result)

    return _retrying(session, attempt)


_TABLE: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def _claim(session: Session, key: str, operation: str, print_: str, now: datetime) -> bool:
    """Insert the key's record (empty result) unless it exists: one statement, True when
    ours. On PostgreSQL a concurrent claim of the same key waits for the other transaction,
    then finds its row (committed) or takes the key (rolled back)."""
    insert = upsert_insert(session, _TABLE)
    statement = (
        insert.values(key=key, operation=operation, fingerprint=print_, result={}, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_TABLE.c.key)
    )
    return session.execute(statement).first() is not None


def _commit(session: Session, result: R) -> R:
    commit(session)
    return result


def _retrying(session: Session, attempt: Callable[[], R]) -> R:
    """Run `attempt`; after a unique-constraint race (two first contacts, or the same key
    claimed concurrently) roll back and run it again: it then finds what the other
    transaction wrote. Any other error rolls back and propagates."""
    for number in range(_ATTEMPTS):
        try:
            return attempt()
        except IntegrityError:
            session.rollback()
            discard_increments(session)
            if number == _ATTEMPTS - 1:
                raise
        except BaseException:
            session.rollback()
            discard_increments(session)
            raise
    raise AssertionError("unreachable")
