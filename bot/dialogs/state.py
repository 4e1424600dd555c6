"""Chat state between messages (awaiting a confirmation, a guided flow), in the database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from core.models import ChatState

DEFAULT_TTL = timedelta(minutes=30)


def get_state(session: Session, *, channel: str, user_id: str, now: datetime) -> ChatState | None:
    state = session.get(ChatState, (channel, user_id))
    if state is None or state.expires_at <= now:
        return None
    return state


def set_state(
    session: Session,
    *,
    channel: str,
    user_id: str,
    state: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> None:
    row = session.get(ChatState, (channel, user_id))
    if row is None:
        row = ChatState(
            channel=channel,
            user_id=user_id,
            state=state,
            data=data or {},
            expires_at=now + ttl,
            updated_at=now,
        )
        session.add(row)
    else:
        row.state, row.data = state, data or {}
        row.expires_at, row.updated_at = now + ttl, now
    session.commit()


def clear_state(session: Session, *, channel: str, user_id: str) -> None:
    row = session.get(ChatState, (channel, user_id))
    if row is not None:
        session.delete(row)
        session.commit()
