"""Bulk CSV exports stream the event log and the members a batch at a time."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.api.exports import EVENT_COLUMNS, MEMBER_COLUMNS, event_batches
from core.models import AuditLog, Event, format_member_number
from tests.support.members import new_member

MANY = 2345


def _add_events(db, clock, member_id: int, count: int) -> None:
    start = clock.now()
    rows = [
        {
            "member_id": member_id,
            "channel": "line",
            "type": "checkin" if index % 2 else "=formula",
            "stage": "interest",
            "payload": {"n": index, "text": "你好"},
            "created_at": start + timedelta(seconds=index),
        }
        for index in range(count)
    ]
    with db.transaction() as session:
        session.execute(sa.insert(Event), rows)


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


def _event_count(db) -> int:
    with db.session() as session:
        return session.exec(select(sa.func.count()).select_from(Event)).one()


def test_the_event_export_streams_every_row_with_its_header(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    _add_events(db, clock, member_id, MANY)
    total = _event_count(db)
    assert total > MANY

    response = api.get("/api/v1/events/export.csv")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "events.csv" in response.headers["content-disposition"]
    rows = _csv(response)
    assert rows[0] == EVENT_COLUMNS
    assert len(rows) - 1 == total
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids) and len(set(ids)) == total
    last = rows[-1]
    # A cell that would start a spreadsheet formula is kept text with a leading quote.
    assert (last[2], last[3], last[4]) == (format_member_number(member_id), "line", "'=formula")
    assert '"n": 2344' in last[8] and "你好" in last[8]
    assert rows[-2][4] == "checkin"
    with db.session() as session:
        audits = session.exec(select(AuditLog).where(AuditLog.action == "events.export")).all()
    assert [row.actor for row in audits] == ["api:bootstrap"]


def test_the_event_export_keeps_to_its_window(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    _add_events(db, clock, member_id, 100)
    since = (clock.now() + timedelta(seconds=10)).isoformat()
    until = (clock.now() + timedelta(seconds=30)).isoformat()
    rows = _csv(api.get("/api/v1/events/export.csv", params={"since": since, "until": until}))
    assert [row[8] for row in rows[1:]] == [
        f'{{"n": {index}, "text": "你好"}}' for index in range(10, 30)
    ]
    backwards = api.get("/api/v1/events/export.csv", params={"since": until, "until": since})
    assert (backwards.status_code, backwards.json()["error"]) == (422, "invalid_input")
    nonsense = api.get("/api/v1/events/export.csv", params={"since": "yesterday"})
    assert nonsense.status_code == 422


def test_events_are_read_in_batches_by_id_range(db, clock, programme):
    member_id = new_member(db, clock, programme)
    _add_events(db, clock, member_id, 250)
    batches = list(event_batches(db, since=None, until=None, batch=100))
    assert [len(batch) for batch in batches[:-1]] == [100] * (len(batches) - 1)
    assert sum(len(batch) for batch in batches) == _event_count(db)
    firsts = [batch[0][0] for batch in batches]
    lasts = [batch[-1][0] for batch in batches]
    assert all(last < first for last, first in zip(lasts, firsts[1:], strict=False))


def test_the_member_export_lists_members_but_not_erased_ones(api, db, clock, programme):
    ids = [new_member(db, clock, programme, f"m{index}") for index in range(3)]
    api.delete(f"/api/v1/members/{format_member_number(ids[1])}")
    response = api.get("/api/v1/members/export.csv")
    assert response.status_code == 200, response.text
    rows = _csv(response)
    assert rows[0] == MEMBER_COLUMNS
    assert [row[0] for row in rows[1:]] == [
        format_member_number(ids[0]),
        format_member_number(ids[2]),
    ]
    assert rows[1][2] == "M0"
