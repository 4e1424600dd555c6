"""Claiming due outbox rows for a sender, with the send-time rules applied on the way.

One claim is one committed transaction: rows that must not go out are `skipped` with a
reason, rows inside the member's quiet hours are held (`not_before` moves to the window's
end, they stay `queued`), and the rest become `sending` with a batch key and `claimed_at`
before any request leaves. A row keeps its batch key from then on: when a sender dies (the
row stays `sending` past the lease) or a LINE request fails in a way that may have reached
LINE (requeued), the whole batch is claimed again as it was and sent again with the same
key, so LINE's X-Line-Retry-Key answers 409 for what it already accepted. Telegram has no such
key: a Telegram row whose request had left (`attempted_at`) is not sent again but recorded
`sent`, in doubt. Rules are not applied a second time to a row that has a batch key: its
first claim passed them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.kernel import commit
from core.models import ChannelIdentity, Delivery, Member
from core.outbox.rules import Recipient, capped, quiet_until, recent_promotions, skip_reason
from core.programme import Programme

LEASE = timedelta(minutes=10)  # a `sending` row older than this belonged to a dead sender
MAX_ATTEMPTS = 5
IN_DOUBT = "in_doubt"  # reason of a `sent` row whose answer a dead sender never recorded
CLAIM_LOCK = 7_460_117_321  # pg_advisory_xact_lock key that serialises claims

_T = Delivery.__table__  # type: ignore[attr-defined]
_M = Member.__table__  # type: ignore[attr-defined]
_CI = ChannelIdentity.__table__  # type: ignore[attr-defined]
_ROW_COLUMNS = (
    _T.c.id,
    _T.c.member_id,
    _T.c.campaign_id,
    _T.c.run,
    _T.c.variant,
    _T.c.automation,
    _T.c.channel,
    _T.c.user_id,
    _T.c.locale,
    _T.c.promotional,
    _T.c.content,
    _T.c.batch_key,
    _T.c.attempts,
)


@dataclass(frozen=True)
class OutboxRow:
    """A claimed delivery, as the sender needs it."""

    id: int
    member_id: int
    campaign_id: int | None
    run: int
    variant: str
    automation: str | None
    channel: str
    user_id: str
    locale: str
    promotional: bool
    content: dict[str, Any]
    batch_key: str
    attempts: int

    @property
    def group(self) -> str:
        """Rows with the same group get the same message, so LINE may multicast them."""
        return send_group(self.id, self.campaign_id, self.run, self.variant, self.locale,
                          self.content)  # fmt: skip


@dataclass
class Claim:
    rows: list[OutboxRow] = field(default_factory=list)
    held: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    resumed: int = 0  # rows of batches claimed again (dead sender, or a retry)
    in_doubt: int = 0  # rows a dead sender had sent with no answer recorded: not sent again
    gave_up: int = 0  # rows failed for good after MAX_ATTEMPTS claims

    @property
    def touched(self) -> int:
        return (
            len(self.rows) + self.held + sum(self.skipped.values()) + self.gave_up + self.in_doubt
        )

    def batches(self) -> list[list[OutboxRow]]:
        """The rows per batch key, each batch in id order (the order they are sent in)."""
        grouped: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in sorted(self.rows, key=lambda row: row.id):
            grouped[row.batch_key].append(row)
        return list(grouped.values())


def send_group(
    delivery_id: int,
    campaign_id: int | None,
    run: int,
    variant: str,
    locale: str,
    content: dict[str, Any],
) -> str:
    if campaign_id is not None and not content:
        return f"c{campaign_id}:{run}:{variant}:{locale}"
    if content.get("buttons") or content.get("coupon"):
        return f"d{delivery_id}"  # its buttons name the delivery: a message of its own
    digest = hashlib.sha256(json.dumps([content, locale], sort_keys=True).encode()).hexdigest()
    return f"h{digest[:32]}"


def claim_due(
    session: Session,
    *,
    channel: str,
    now: datetime,
    limit: int,
    worker: str,
    programme: Programme,
    group_size: int | None = None,
    lease: timedelta = LEASE,
) -> Claim:
    """Claim up to `limit` rows for `channel` and commit. With `group_size`, rows that get
    the same message share a batch key, at most `group_size` per key (LINE multicast);
    without it, the claim's rows share one key.

    On PostgreSQL fresh rows are taken with FOR UPDATE SKIP LOCKED, and claims are
    serialised by a transaction-level advisory lock so the frequency cap sees what a
    concurrent claim just took. SQLite serialises writers anyway (one process)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(CLAIM_LOCK)))
    claim = Claim()
    _resume(session, claim, channel=channel, now=now, lease=lease, limit=limit)
    room = limit - len(claim.rows)
    if room > 0:
        _claim_fresh(
            session, claim, channel=channel, now=now, limit=room, worker=worker,
            programme=programme, group_size=group_size,
        )  # fmt: skip
    commit(session)
    return claim


def _resume(
    session: Session, claim: Claim, *, channel: str, now: datetime, lease: timedelta, limit: int
) -> None:
    """Take whole batches again: those a dead sender left `sending`, and those requeued."""
    keys = (
        sa.select(_T.c.batch_key, sa.func.count())
        .where(
            _T.c.channel == channel,
            _T.c.batch_key.is_not(None),
            sa.or_(
                sa.and_(_T.c.status == "sending", _T.c.claimed_at < now - lease),
                sa.and_(_T.c.status == "queued", _T.c.not_before <= now),
            ),
        )
        .group_by(_T.c.batch_key)
        .limit(limit)
    )
    batch_keys: list[str] = []
    taken = 0
    for key, count in session.execute(keys):
        if batch_keys and taken + count > limit:
            break
        batch_keys.append(key)
        taken += count
    if not batch_keys:
        return
    rows = session.execute(
        sa.select(*_ROW_COLUMNS, _T.c.status, _T.c.attempted_at)
        .where(_T.c.batch_key.in_(batch_keys), _T.c.status.in_(("sending", "queued")))
        .order_by(_T.c.id)
        .with_for_update(of=_T)  # whole batches: never skip a row of one
    ).all()
    doubt = [row.id for row in rows if row.status == "sending" and row.attempted_at is not None]
    if doubt:
        # Its request left (Telegram, no idempotency key) and the sender died before the
        # answer: most likely delivered, and sending it again could show it twice.
        session.execute(
            sa.update(_T).where(_T.c.id.in_(doubt))
            .values(status="sent", reason=IN_DOUBT, sent_at=_T.c.attempted_at)
        )  # fmt: skip
        claim.in_doubt += len(doubt)
    found = [row for row in rows if row.id not in doubt]
    gave_up = [row.id for row in found if row.attempts >= MAX_ATTEMPTS]
    if gave_up:
        session.execute(
            sa.update(_T).where(_T.c.id.in_(gave_up)).values(status="failed", reason="gave_up")
        )
        claim.gave_up += len(gave_up)
    retry = [row for row in found if row.attempts < MAX_ATTEMPTS]
    for ids in _chunks([row.id for row in retry], 500):
        session.execute(
            sa.update(_T)
            .where(_T.c.id.in_(ids))
            .values(status="sending", claimed_at=now, attempts=_T.c.attempts + 1)
        )
    claim.rows.extend(_row(row, row.batch_key, row.attempts + 1) for row in retry)
    claim.resumed += len(retry)


def _claim_fresh(
    session: Session,
    claim: Claim,
    *,
    channel: str,
    now: datetime,
    limit: int,
    worker: str,
    programme: Programme,
    group_size: int | None,
) -> None:
    # Three plain, index-driven queries rather than one join: right after a launch has
    # written 100,000 rows the planner's statistics are stale, and a join planned for
    # "one row" walks every row before the LIMIT applies.
    candidates = session.execute(
        sa.select(*_ROW_COLUMNS)
        .where(
            _T.c.status == "queued",
            _T.c.channel == channel,
            _T.c.not_before <= now,
            _T.c.batch_key.is_(None),
        )
        .order_by(_T.c.not_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return
    cap = programme.frequency_cap
    counts = recent_promotions(
        session, member_ids=[c.member_id for c in candidates if c.promotional], now=now, cap=cap
    )
    skipped: dict[str, list[int]] = defaultdict(list)
    held: list[dict[str, Any]] = []
    ready: list[Any] = []
    members = _members(session, {row.member_id for row in candidates})
    blocked = _unreachable_accounts(session, channel, {row.user_id for row in candidates})
    for row in candidates:
        recipient = _recipient(row, members.get(row.member_id), blocked)
        reason = skip_reason(recipient)
        until = None if reason else quiet_until(now, recipient.timezone, programme.quiet_hours)
        if reason is None and until is None and row.promotional:
            if capped(counts, row.member_id, cap):
                reason = "capped"
            else:
                counts[row.member_id] = counts.get(row.member_id, 0) + 1
        if reason is not None:
            skipped[reason].append(row.id)
        elif until is not None:
            held.append({"held_id": row.id, "held_until": until})
        else:
            ready.append(row)
    for reason, ids in skipped.items():
        session.execute(
            sa.update(_T).where(_T.c.id.in_(ids)).values(status="skipped", reason=reason)
        )
        claim.skipped[reason] += len(ids)
    if held:
        session.execute(
            sa.update(_T)
            .where(_T.c.id == sa.bindparam("held_id"))
            .values(not_before=sa.bindparam("held_until", type_=_T.c.not_before.type)),
            held,
        )
        claim.held += len(held)
    for batch in _batches(ready, group_size):
        key = f"{worker[:40]}:{uuid.uuid4().hex[:20]}"
        session.execute(
            sa.update(_T)
            .where(_T.c.id.in_([row.id for row in batch]))
            .values(status="sending", batch_key=key, claimed_at=now, attempts=_T.c.attempts + 1)
        )
        claim.rows.extend(_row(row, key, row.attempts + 1) for row in batch)


def _members(session: Session, member_ids: set[int]) -> dict[int, Any]:
    rows = session.execute(
        sa.select(_M.c.id, _M.c.erased_at, _M.c.opted_out, _M.c.unreachable, _M.c.timezone).where(
            _M.c.id.in_(sorted(member_ids))
        )
    )
    return {row.id: row for row in rows}


def _unreachable_accounts(session: Session, channel: str, user_ids: set[str]) -> set[str]:
    """The chat accounts among `user_ids` that cannot be reached: marked so, or gone (the
    account was erased or replaced since the row was written)."""
    reachable = session.execute(
        sa.select(_CI.c.platform_user_id).where(
            _CI.c.channel == channel,
            _CI.c.platform_user_id.in_(sorted(user_ids)),
            _CI.c.unreachable.is_(False),
        )
    )
    return user_ids - {user_id for (user_id,) in reachable}


def _recipient(row: Any, member: Any, unreachable_accounts: set[str]) -> Recipient:
    return Recipient(
        promotional=bool(row.promotional),
        erased=member is None or member.erased_at is not None,
        opted_out=bool(member is not None and member.opted_out),
        unreachable=bool(member is not None and member.unreachable)
        or row.user_id in unreachable_accounts,
        timezone=member.timezone if member is not None else "UTC",
    )


def _batches(rows: list[Any], group_size: int | None) -> list[list[Any]]:
    if group_size is None:
        return [rows] if rows else []
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.id):
        content = row.content or {}
        groups[
            send_group(row.id, row.campaign_id, row.run, row.variant, row.locale, content)
        ].append(row)
    return [chunk for group in groups.values() for chunk in _chunks(group, group_size)]


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _row(row: Any, batch_key: str, attempts: int) -> OutboxRow:
    return OutboxRow(
        id=int(row.id),
        member_id=int(row.member_id),
        campaign_id=row.campaign_id,
        run=int(row.run),
        variant=row.variant,
        automation=row.automation,
        channel=row.channel,
        user_id=row.user_id,
        locale=row.locale,
        promotional=bool(row.promotional),
        content=dict(row.content or {}),
        batch_key=batch_key,
        attempts=attempts,
    )
