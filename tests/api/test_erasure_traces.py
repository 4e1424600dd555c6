"""A member a POS enrolled, erased over the API: nothing in any table names them any more —
not the profile, not the brand's reference for them (audit log, idempotency keys) — while
their purchase and points stay, anonymous (DESIGN §4, privacy), on both databases."""

from __future__ import annotations

from sqlmodel import select

from core.models import AuditLog, Purchase
from tests.support.traces import where_found

NEEDLES = ["POS-ZQ-77", "Zelda", "Quinterra", "912345678"]


def test_an_enrolled_member_erased_over_the_api_leaves_no_trace(api, db, programme):
    enrolled = api.post(
        "/api/v1/members",
        json={
            "external_ref": "POS-ZQ-77",
            "display_name": "Zelda Quinterra",
            "phone": "0912345678",
            "consent": {"version": programme.consent.version},
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    number = enrolled.json()["number"]
    bought = api.post(
        "/api/v1/purchases", json={"member": "0912345678", "order_id": "Z-1", "amount": "120"}
    )
    assert bought.status_code == 201, bought.text
    assert set(where_found(db, NEEDLES)) == set(NEEDLES)

    assert api.delete(f"/api/v1/members/{number}").status_code == 200
    assert where_found(db, NEEDLES) == {}
    with db.session() as session:
        [purchase] = session.exec(select(Purchase)).all()
        actions = session.exec(select(AuditLog.action, AuditLog.target)).all()
    assert (purchase.order_id, purchase.amount_cents) == ("Z-1", 12000)
    assert ("member.erase", number) in actions

    # The brand enrolling the same reference again gets a new member, not the erased one.
    again = api.post("/api/v1/members", json={"external_ref": "POS-ZQ-77"})
    assert again.status_code == 201, again.text
    assert again.json()["number"] != number
