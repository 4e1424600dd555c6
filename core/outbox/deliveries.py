"""The delivery outbox: one row per message to one member, written by campaign launches and
automations, drained by the senders (bot/delivery/senders.py).

Statuses: queued → sending → sent | failed | blocked, or queued → skipped (with a reason:
opted_out, unreachable, erased, capped, cancelled). A Telegram row a dead sender left with
its request gone and no answer recorded is `sent` with the reason `in_doubt`. `dedupe_key`
is unique, so writing the same message twice (a repeated job, a crashed launch run again)
stores it once.

Automations call `enqueue` inside their own transaction; the senders call `claim_due`
(see core.outbox.claims), `mark_attempted` (Telegram, before each request), then
`mark_sent` / `mark_failed` / `mark_blocked`; a button tap calls `record_click`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.funnel import log_event
from core.kernel import Clock, InvalidInput, MemberNotFound, commit, upsert_insert
from core.members import latest_identity, mark_unreachable
from core.models import Campaign, ChannelIdentity, Delivery, Member
from core.outbox.claims import IN_DOUBT, OutboxRow
from core.outbox.content import DeliveryContent, parse_content, parse_ref

DEDUPE_KEY_MAX = 160
FINISHED = ("sent", "failed", "blocked", "skipped")
ERASED = "erased"
REASON_MAX = 64
_T = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Enqueued:
    """`delivery_id` is None when no configured channel reaches the member (reason
    "no_channel"); `created` is False when the dedupe key was there already."""

    delivery_id: int | None
    created: bool
    reason: str | None = None


@dataclass(frozen=True)
class Click:
    delivery_id: int
    first: bool
    campaign_id: int | None
    variant: str
    automation: str | None
    content: DeliveryContent


def campaign_dedupe_key(campaign_id: int, run: int, member_id: int) -> str:
    return f"c:{campaign_id}:{run}:{member_id}"


def enqueue(
    session: Session,
    *,
    member_id: int,
    dedupe_key: str,
    content: DeliveryContent | dict[str, Any],
    now: datetime,
    channels: Collection[str],
    automation: str | None = None,
    campaign_id: int | None = None,
    run: int = 0,
    variant: str = "A",
    promotional: bool = True,
    not_before: datetime | None = None,
) -> Enqueued:
    """Queue one message to a member, at most once per `dedupe_key` (e.g.
    "a:birthday:2026:<member>"). It goes to the member's most recently seen reachable
    chat account on one of `channels` (the configured ones), in the member's language.
    Does not commit: the caller's use case does. Send-time rules (opt-out, quiet hours,
    frequency cap for `promotional` messages) are applied when a sender claims it."""
    if not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX:
        raise InvalidInput(f"a dedupe key has 1–{DEDUPE_KEY_MAX} characters")
    try:
        parsed = parse_content(content)
    except ValueError as exc:
        raise InvalidInput(f"bad message content: {exc}") from None
    identities = ChannelIdentity.__table__  # type: ignore[attr-defined]
    members = Member.__table__  # type: ignore[attr-defined]
    target = session.execute(
        sa.select(identities.c.channel, identities.c.platform_user_id, members.c.locale)
        .join(members, members.c.id == identities.c.member_id)
        .where(identities.c.id == latest_identity(member_id, channels))
    ).first()
    if target is None:
        return Enqueued(None, False, "no_channel")
    values = {
        "dedupe_key": dedupe_key,
        "campaign_id": campaign_id,
        "automation": automation,
        "run": run,
        "variant": variant,
        "member_id": member_id,
        "channel": target.channel,
        "user_id": target.platform_user_id,
        "locale": target.locale,
        "promotional": promotional,
        "content": parsed.model_dump(mode="json", exclude_defaults=True),
        "status": "queued",
        "not_before": not_before or now,
        "attempts": 0,
        "created_at": now,
    }
    insert = upsert_insert(session, _T)
    inserted = session.execute(
        insert.values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_T.c.id)
    ).first()
    if inserted is not None:
        return Enqueued(int(inserted.id), True)
    existing = session.execute(sa.select(_T.c.id).where(_T.c.dedupe_key == dedupe_key)).one()
    return Enqueued(int(existing.id), False, "duplicate")


def mark_sent(
    session: Session, *, delivery_ids: Iterable[int], now: datetime, in_doubt: bool = False
) -> int:
    """The platform accepted these messages — or, `in_doubt`, may have (a timeout after the
    request left: not sent again). Commits; returns how many rows changed."""
    reason = IN_DOUBT if in_doubt else None
    return _finish(session, delivery_ids, status="sent", sent_at=now, reason=reason)


def mark_attempted(session: Session, *, delivery_id: int, now: datetime) -> None:
    """The request carrying this row leaves now, on a channel with no idempotency key
    (Telegram). Committed durably first: if the sender dies before the answer is recorded,
    the row is in doubt — it may have arrived — and is not sent again (see `claim_due`)."""
    session.execute(
        sa.update(_T).where(_T.c.id == delivery_id, _T.c.status == "sending")
        .values(attempted_at=now)
    )  # fmt: skip
    commit(session)


def mark_failed(
    session: Session,
    *,
    delivery_ids: Iterable[int],
    reason: str,
    retry_at: datetime | None = None,
) -> int:
    """The send failed. With `retry_at` the rows go back to the queue with their batch key
    (LINE: the retry reuses the retry key, so a request that did reach LINE is not
    delivered twice); without it they fail for good. Commits."""
    if retry_at is not None:
        return _finish(
            session, delivery_ids, status="queued", not_before=retry_at, reason=reason[:REASON_MAX]
        )
    return _finish(session, delivery_ids, status="failed", reason=reason[:REASON_MAX])


def mark_blocked(session: Session, *, delivery_id: int, clock: Clock, reason: str = "") -> None:
    """The member blocked the bot: the row is `blocked` and their chat account (and the
    member, when it was their last) becomes unreachable. Commits."""
    row = session.execute(
        sa.select(_T.c.channel, _T.c.user_id).where(_T.c.id == delivery_id)
    ).one_or_none()
    _finish(session, [delivery_id], status="blocked", reason=(reason or "blocked")[:REASON_MAX])
    if row is None:
        return
    try:
        mark_unreachable(session, clock=clock, channel=row.channel, platform_user_id=row.user_id)
    except MemberNotFound:  # the chat account was erased meanwhile
        session.rollback()


def _finish(session: Session, delivery_ids: Iterable[int], **values: Any) -> int:
    """Write a send's result. On PostgreSQL the commit does not wait for the WAL flush:
    a sender commits a result per message, thousands a second. Only a crash of the
    database server itself in the following fraction of a second can undo it, which
    leaves the row `sending` to be sent again — the same as a sender dying before its
    commit (LINE answers 409 to the repeat; Telegram may show it twice)."""
    ids = sorted(set(delivery_ids))
    changed = 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    for start in range(0, len(ids), 500):
        result = session.execute(
            sa.update(_T)
            .where(_T.c.id.in_(ids[start : start + 500]), _T.c.status == "sending")
            .values(**values)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    commit(session)
    return changed


def find_delivery(session: Session, *, ref: str, member_id: int) -> Delivery | None:
    """The delivery a button reference names, if it was addressed to `member_id`."""
    parsed = parse_ref(ref)
    if parsed is None:
        return None
    if isinstance(parsed, tuple):
        key = campaign_dedupe_key(parsed[0], parsed[1], member_id)
        return session.exec(select(Delivery).where(Delivery.dedupe_key == key)).first()
    delivery = session.get(Delivery, parsed)
    return delivery if delivery is not None and delivery.member_id == member_id else None


def content_of(session: Session, delivery: Delivery | OutboxRow) -> DeliveryContent:
    """The message a delivery carries: its own content, or its campaign variant's."""
    if delivery.content or delivery.campaign_id is None:
        return parse_content(delivery.content)
    campaign = session.get(Campaign, delivery.campaign_id)
    if campaign is None:
        raise InvalidInput("the delivery's campaign is gone", campaign_id=delivery.campaign_id)
    return variant_content(campaign, delivery.variant)


def variant_content(campaign: Campaign, variant: str) -> DeliveryContent:
    for spec in campaign.variants:
        if spec.get("name") == variant:
            return parse_content(spec["content"])
    raise InvalidInput("the campaign has no such variant", variant=variant[:16])


def record_click(
    session: Session, *, delivery: Delivery, now: datetime, channel: str, button: int
) -> Click:
    """A member tapped a button of this delivery. Only the first tap counts as its click
    (clicked_at, and one `campaign_click` event with the campaign and variant). Commits."""
    content = content_of(session, delivery)
    result = session.execute(
        sa.update(_T)
        .where(_T.c.id == delivery.id, _T.c.clicked_at.is_(None))
        .values(clicked_at=now)
    )
    first = (result.rowcount or 0) == 1  # type: ignore[attr-defined]
    if first:
        member = session.get(Member, delivery.member_id)
        log_event(
            session,
            member=member,
            channel=channel,
            type="campaign_click",
            now=now,
            campaign_id=delivery.campaign_id,
            variant=delivery.variant if delivery.campaign_id is not None else None,
            payload={
                "delivery_id": delivery.id,
                "button": button,
                "automation": delivery.automation,
            },
        )
    commit(session)
    return Click(
        delivery_id=delivery.id or 0,
        first=first,
        campaign_id=delivery.campaign_id,
        variant=delivery.variant,
        automation=delivery.automation,
        content=content,
    )


def forget_member(session: Session, *, member_id: int) -> int:
    """Part of an erasure (does not commit): what is still queued for the member is not
    sent, and their deliveries keep no chat account id. A message being sent at that very
    moment — or waiting in a LINE batch to be sent again with its retry key — keeps it
    until it is out, or the batch would change and its retry key with it."""
    queued = sa.and_(_T.c.status == "queued", _T.c.batch_key.is_(None))
    session.execute(
        sa.update(_T)
        .where(_T.c.member_id == member_id, queued)
        .values(status="skipped", reason="erased")
    )
    result = session.execute(
        sa.update(_T)
        .where(_T.c.member_id == member_id, _T.c.status.in_(FINISHED))
        .values(user_id=ERASED)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def pending(session: Session, *, campaign_id: int | None = None) -> int:
    """Rows still queued or being sent (of one campaign, or all)."""
    statement = (
        select(sa.func.count())
        .select_from(Delivery)
        .where(col(Delivery.status).in_(("queued", "sending")))
    )
    if campaign_id is not None:
        statement = statement.where(Delivery.campaign_id == campaign_id)
    return int(session.exec(statement).one())
