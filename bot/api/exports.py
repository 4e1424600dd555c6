"""Bulk CSV exports of events and members, streamed a batch of rows at a time by id range,
so an export of millions of rows holds one batch in memory, not the table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from bot.api.csvstream import CsvResponse, csv_attachment, csv_chunks, csv_doc
from bot.api.deps import ClockDep, ServicesDep, SessionDep, TokenDep
from bot.api.errors import ApiRoute, errors
from bot.api.schemas import ApiDateTime
from core.kernel import Database, InvalidInput
from core.models import Event, Member, format_member_number
from core.staff import record_audit

router = APIRouter(tags=["exports"], route_class=ApiRoute)

BATCH = 1000
EVENT_COLUMNS = [
    "id",
    "created_at",
    "member_number",
    "channel",
    "type",
    "stage",
    "campaign_id",
    "variant",
    "payload",
]
MEMBER_COLUMNS = [
    "member_number",
    "external_ref",
    "display_name",
    "phone",
    "email",
    "birthday",
    "locale",
    "source_channel",
    "consent_version",
    "consent_at",
    "opted_out",
    "unreachable",
    "stage",
    "tier",
    "risk",
    "segment",
    "points_balance",
    "purchase_count",
    "spent",
    "first_purchase_at",
    "last_purchase_at",
    "last_activity_at",
    "created_at",
]


def event_batches(
    database: Database, *, since: datetime | None, until: datetime | None, batch: int = BATCH
) -> Iterator[list[list[object]]]:
    """Events in id order, `batch` at a time, each batch read after the last id seen."""
    with database.reader() as session:
        last = 0
        while True:
            query = select(Event).where(col(Event.id) > last)
            if since is not None:
                query = query.where(col(Event.created_at) >= since)
            if until is not None:
                query = query.where(col(Event.created_at) < until)
            rows = session.exec(query.order_by(col(Event.id)).limit(batch)).all()
            if not rows:
                return
            last = rows[-1].id or 0
            yield [_event_row(event) for event in rows]
            session.expunge_all()  # keep the identity map to one batch


def _event_row(event: Event) -> list[object]:
    return [
        event.id,
        event.created_at,
        format_member_number(event.member_id) if event.member_id else None,
        event.channel,
        event.type,
        event.stage,
        event.campaign_id,
        event.variant,
        json.dumps(event.payload, ensure_ascii=False, sort_keys=True, default=str),
    ]


def member_batches(database: Database, *, batch: int = BATCH) -> Iterator[list[list[object]]]:
    """Members who are not erased, in number order, `batch` at a time."""
    with database.reader() as session:
        last = 0
        while True:
            rows = session.exec(
                select(Member)
                .where(col(Member.id) > last, col(Member.erased_at).is_(None))
                .order_by(col(Member.id))
                .limit(batch)
            ).all()
            if not rows:
                return
            last = rows[-1].id or 0
            yield [_member_row(member) for member in rows]
            session.expunge_all()


def _member_row(member: Member) -> list[object]:
    return [
        member.number,
        member.external_ref,
        member.display_name,
        member.phone,
        member.email,
        member.birthday,
        member.locale,
        member.source_channel,
        member.consent_version,
        member.consent_at,
        member.opted_out,
        member.unreachable,
        member.stage,
        member.tier,
        member.risk,
        member.segment,
        member.points_balance,
        member.purchase_count,
        f"{member.spent_cents / 100:.2f}",
        member.first_purchase_at,
        member.last_purchase_at,
        member.last_activity_at,
        member.created_at,
    ]


@router.get(
    "/events/export.csv",
    response_class=CsvResponse,
    summary="Export the event log as CSV",
    responses={
        200: csv_doc(
            "One row per event, oldest first; `payload` is JSON. Times are UTC, ISO 8601.",
            ",".join(EVENT_COLUMNS)
            + "\n1,2026-03-02T02:00:00+00:00,M000001,line,contact,awareness,,,{}\n",
        ),
        **errors(422),
    },
)
def export_events(
    services: ServicesDep,
    session: SessionDep,
    clock: ClockDep,
    caller: TokenDep,
    since: Annotated[ApiDateTime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[ApiDateTime | None, Query(description="Before this time.")] = None,
) -> CsvResponse:
    """Every event (member, channel, type, stage at the time, campaign and variant, payload)
    between `since` and `until`, streamed. Audited."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since")
    record_audit(
        session,
        clock=clock,
        actor=caller.actor,
        action="events.export",
        details={
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
    )
    batches = event_batches(services.database, since=since, until=until)
    return CsvResponse(csv_chunks(EVENT_COLUMNS, batches), headers=csv_attachment("events.csv"))


# Declared before /members/{number} (see bot.api.build_api_router): first match wins.
@router.get(
    "/members/export.csv",
    response_class=CsvResponse,
    summary="Export members as CSV",
    responses={
        200: csv_doc(
            "One row per member who is not erased, in number order. Holds personal data.",
            ",".join(MEMBER_COLUMNS) + "\n",
        ),
    },
)
def export_members(
    services: ServicesDep, session: SessionDep, clock: ClockDep, caller: TokenDep
) -> CsvResponse:
    """Every member's profile, stage, tier and totals, streamed. Audited."""
    record_audit(session, clock=clock, actor=caller.actor, action="members.export")
    batches = member_batches(services.database)
    return CsvResponse(csv_chunks(MEMBER_COLUMNS, batches), headers=csv_attachment("members.csv"))
