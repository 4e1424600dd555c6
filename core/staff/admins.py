"""Admins, the audit log of their actions, and admin API tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import Clock, InvalidInput, NotFound, commit, run_once
from core.members import CHANNELS
from core.models import Admin, ApiToken, AuditLog, ChannelIdentity, Member

TOKEN_PREFIX = "lty_"
TOKEN_MAX_LENGTH = 200  # ours are 47 characters; anything much longer is not one of ours
SHOWN_PREFIX_LENGTH = 10  # "lty_" and 6 random characters: enough to tell tokens apart
LAST_USED_EVERY = timedelta(minutes=1)


class AuditRecord(BaseModel):
    id: int
    actor: str
    action: str
    target: str | None
    allowed: bool
    created_at: datetime


class AdminInfo(BaseModel):
    channel: str
    platform_user_id: str
    added_by: str
    created_at: datetime
    changed: bool
    """False when the request changed nothing (already an admin, or not one to remove)."""


class ApiTokenInfo(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class _NewToken(BaseModel):
    plaintext: str
    info: ApiTokenInfo


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    allowed: bool = True,
    details: dict[str, Any] | None = None,
    now: datetime,
) -> AuditLog:
    """Add an audit log row to the caller's transaction (no commit), so the record and the
    action it describes are written together or not at all."""
    entry = AuditLog(
        actor=actor[:160],
        action=action[:64],
        target=target[:160] if target else None,
        allowed=allowed,
        details=details or {},
        created_at=now,
    )
    session.add(entry)
    return entry


def record_audit(
    session: Session,
    *,
    clock: Clock,
    actor: str,
    action: str,
    target: str | None = None,
    allowed: bool = True,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Write an audit entry on its own, e.g. for a refused admin command, and commit."""
    now = clock.now()

    def work() -> AuditRecord:
        entry = audit(
            session,
            actor=actor,
            action=action,
            target=target,
            allowed=allowed,
            details=details,
            now=now,
        )
        session.flush()
        return AuditRecord.model_validate(entry, from_attributes=True)

    return run_once(
        session,
        key=None,
        operation="record_audit",
        request={},
        result_type=AuditRecord,
        now=now,
        work=work,
    )


def _check_identity(channel: str, platform_user_id: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}")
    if not platform_user_id or len(platform_user_id) > 128:
        raise InvalidInput("platform user id must be 1–128 characters")


def _find_admin(session: Session, channel: str, platform_user_id: str) -> Admin | None:
    return session.exec(
        select(Admin).where(Admin.channel == channel, Admin.platform_user_id == platform_user_id)
    ).one_or_none()


def add_admin(
    session: Session, *, clock: Clock, channel: str, platform_user_id: str, added_by: str
) -> AdminInfo:
    """Give a chat user admin rights. Adding an existing admin changes nothing."""
    _check_identity(channel, platform_user_id)
    now = clock.now()

    def work() -> AdminInfo:
        admin = _find_admin(session, channel, platform_user_id)
        changed = admin is None
        if admin is None:
            admin = Admin(
                channel=channel,
                platform_user_id=platform_user_id,
                added_by=added_by[:160],
                created_at=now,
            )
            session.add(admin)
            audit(
                session,
                actor=added_by,
                action="admin.add",
                target=f"{channel}:{platform_user_id}",
                now=now,
            )
            session.flush()
        return AdminInfo(
            channel=admin.channel,
            platform_user_id=admin.platform_user_id,
            added_by=admin.added_by,
            created_at=admin.created_at,
            changed=changed,
        )

    return run_once(
        session,
        key=None,
        operation="add_admin",
        request={},
        result_type=AdminInfo,
        now=now,
        work=work,
    )


def remove_admin(
    session: Session, *, clock: Clock, channel: str, platform_user_id: str, removed_by: str
) -> bool:
    """Take admin rights away (those in the table; LOYALTY_ADMINS is the operator's).
    Returns whether there was anything to remove."""
    _check_identity(channel, platform_user_id)
    now = clock.now()

    def work() -> _Changed:
        admin = _find_admin(session, channel, platform_user_id)
        if admin is None:
            return _Changed(changed=False)
        session.delete(admin)
        audit(
            session,
            actor=removed_by,
            action="admin.remove",
            target=f"{channel}:{platform_user_id}",
            now=now,
        )
        return _Changed(changed=True)

    return run_once(
        session,
        key=None,
        operation="remove_admin",
        request={},
        result_type=_Changed,
        now=now,
        work=work,
    ).changed


class _Changed(BaseModel):
    changed: bool


def is_admin(
    session: Session, *, channel: str, platform_user_id: str, configured: set[tuple[str, str]]
) -> bool:
    """Whether the chat user is an admin: named in LOYALTY_ADMINS (`configured`) or added."""
    if (channel, platform_user_id) in configured:
        return True
    return _find_admin(session, channel, platform_user_id) is not None


def chat_user(
    session: Session, *, channel: str, platform_user_id: str, configured: set[tuple[str, str]]
) -> tuple[Member | None, bool]:
    """The chat user's member (None before their first contact) and whether they are an
    admin, in one query: every chat turn starts with it."""
    added = (
        sa.exists()
        .where(col(Admin.channel) == channel, col(Admin.platform_user_id) == platform_user_id)
        .label("admin")
    )
    found = session.execute(
        sa.select(Member, added)
        .join(ChannelIdentity, col(ChannelIdentity.member_id) == col(Member.id))
        .where(
            col(ChannelIdentity.channel) == channel,
            col(ChannelIdentity.platform_user_id) == platform_user_id,
        )
    ).one_or_none()
    if (channel, platform_user_id) in configured:
        return (found[0] if found else None), True
    if found is None:
        return None, _find_admin(session, channel, platform_user_id) is not None
    return found[0], bool(found[1])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session, *, clock: Clock, name: str, actor: str = "cli"
) -> tuple[str, ApiTokenInfo]:
    """A new admin API token. The plaintext is returned once and never stored: only its
    SHA-256 is kept. A name already in use raises InvalidInput."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token name must be 1–100 characters")
    now = clock.now()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def work() -> _NewToken:
        if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
            raise InvalidInput("a token with that name exists", name=name)
        token = ApiToken(
            name=name,
            token_hash=hash_token(plaintext),
            prefix=plaintext[:SHOWN_PREFIX_LENGTH],
            created_at=now,
        )
        session.add(token)
        audit(session, actor=actor, action="token.create", target=name, now=now)
        session.flush()
        return _NewToken(plaintext=plaintext, info=_info(token))

    # No idempotency key: the result holds the plaintext, which must not be stored.
    created = run_once(
        session,
        key=None,
        operation="create_api_token",
        request={},
        result_type=_NewToken,
        now=now,
        work=work,
    )
    return created.plaintext, created.info


def verify_api_token(session: Session, *, token: str, clock: Clock) -> ApiTokenInfo | None:
    """The live token matching `token`, or None. Looked up by hash, so response time says
    nothing about how much of a guess was right. Notes when it was last used, at most once
    a minute, so a busy client does not write on every request."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    digest = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        session.rollback()
        return None
    now = clock.now()
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        # Conditional, so concurrent requests write once and never wait on each other long.
        session.execute(
            sa.update(ApiToken)
            .where(
                col(ApiToken.id) == row.id,
                sa.or_(
                    col(ApiToken.last_used_at).is_(None),
                    col(ApiToken.last_used_at) <= now - LAST_USED_EVERY,
                ),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        commit(session)
        return _info(row).model_copy(update={"last_used_at": now})
    session.rollback()
    return _info(row)


def revoke_api_token(
    session: Session, *, clock: Clock, name: str, actor: str = "cli"
) -> ApiTokenInfo:
    """Revoke a token by name; it stops working at once. Revoking twice changes nothing."""
    now = clock.now()

    def work() -> ApiTokenInfo:
        token = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
        if token is None:
            raise NotFound("no token has that name", name=name)
        if token.revoked_at is None:
            token.revoked_at = now
            audit(session, actor=actor, action="token.revoke", target=name, now=now)
        return _info(token)

    return run_once(
        session,
        key=None,
        operation="revoke_api_token",
        request={},
        result_type=ApiTokenInfo,
        now=now,
        work=work,
    )


def _info(token: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo.model_validate(token, from_attributes=True)
