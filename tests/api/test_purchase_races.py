"""The same purchase sent many times at once, over real HTTP: recorded once, one 201."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlmodel import select

from bot.web import create_app
from core.models import AuditLog, LedgerEntry, Purchase, format_member_number
from tests.api.conftest import TOKEN
from tests.support.members import new_member
from tests.support.server import serving

SENDERS = 8


def test_concurrent_repeats_record_one_purchase_and_one_201(api_services, db, clock, programme):
    member_id = new_member(db, clock, programme)
    request = {"member": format_member_number(member_id), "order_id": "RACE-1", "amount": "75"}
    with serving(create_app(api_services, channels={})) as url:

        def send(_: int) -> httpx.Response:
            return httpx.post(
                f"{url}/api/v1/purchases",
                json=request,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=60,
            )

        with ThreadPoolExecutor(SENDERS) as pool:
            responses = list(pool.map(send, range(SENDERS)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * (SENDERS - 1) + [201]
    assert len({response.text for response in responses}) == 1
    with db.session() as session:
        assert len(session.exec(select(Purchase)).all()) == 1
        earned = session.exec(select(LedgerEntry).where(LedgerEntry.member_id == member_id)).all()
        audits = session.exec(select(AuditLog).where(AuditLog.action == "purchase.record")).all()
    assert [entry.amount for entry in earned] == [75]
    assert len(audits) == 1
