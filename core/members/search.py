"""Finding members page by page: by number, phone, the brand's reference, or name prefix."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel import MAX_INT
from core.members.accounts import MEMBER_NUMBER, PHONE, normalise_phone
from core.models import Member

MAX_PAGE = 100


def search_members(
    session: Session, *, query: str | None = None, after: int = 0, limit: int = 20
) -> list[Member]:
    """Members (not erased) matching `query`, in member-number order, after member id
    `after`: the one with that number, phone or reference, and those whose name starts
    with it (any case). No query lists everyone. Reads only.

    Name prefixes are not indexed: on a very large programme prefer numbers and phones."""
    if not 0 < limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1–{MAX_PAGE}")
    statement = select(Member).where(col(Member.erased_at).is_(None), col(Member.id) > after)
    text = (query or "").strip()
    if text:
        statement = statement.where(sa.or_(*_matches(text)))
    return list(session.exec(statement.order_by(col(Member.id)).limit(limit)).all())


def _matches(text: str) -> list[sa.ColumnElement[bool]]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [
        col(Member.external_ref) == text,
        col(Member.display_name).ilike(f"{escaped}%", escape="\\"),
    ]
    if (match := MEMBER_NUMBER.match(text)) and int(match.group(1)) <= MAX_INT:
        conditions.append(col(Member.id) == int(match.group(1)))
    if PHONE.match(text):
        conditions.append(col(Member.phone) == normalise_phone(text))
    return conditions
