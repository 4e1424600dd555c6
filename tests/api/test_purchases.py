"""Purchases from a POS over the API: kept once per order id, refunds reverse points."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import col, select

from core.models import AuditLog, LedgerEntry, Member, Purchase, format_member_number
from tests.support.ledger import WRITTEN_BY_POINTS, assert_ledger_invariants, row_counts
from tests.support.members import new_member


def _member(db, member_id: int) -> Member:
    with db.session() as session:
        member = session.get(Member, member_id)
        assert member is not None
        return member


def _ledger(db, member_id: int) -> list[tuple[int, str, str]]:
    with db.session() as session:
        rows = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.member_id == member_id)
            .order_by(col(LedgerEntry.id))
        ).all()
        return [(row.amount, row.kind, row.source) for row in rows]


def test_a_purchase_earns_points_and_answers_201(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    response = api.post(
        "/api/v1/purchases",
        json={"member": format_member_number(member_id), "order_id": "POS-1", "amount": "1280.50"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["member"], body["order_id"], body["amount"]) == (
        format_member_number(member_id),
        "POS-1",
        "1280.50",
    )
    assert body["points"] == 1280
    assert body["balance"] == 1280
    assert body["stage"] == "action"
    assert "member_id" not in body and "purchase_id" not in body
    assert _member(db, member_id).points_balance == 1280


def test_a_repeated_purchase_is_kept_once_and_answers_the_same_body(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    request = {"member": format_member_number(member_id), "order_id": "POS-7", "amount": 300}
    first = api.post("/api/v1/purchases", json=request)
    counts = row_counts(db, WRITTEN_BY_POINTS)
    clock.advance(minutes=3)
    again = api.post("/api/v1/purchases", json=request)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert row_counts(db, WRITTEN_BY_POINTS) == counts
    with db.session() as session:
        assert len(session.exec(select(Purchase)).all()) == 1
    assert _member(db, member_id).points_balance == 300
    assert _ledger(db, member_id) == [(300, "earn", "purchase")]


def test_the_same_order_id_with_another_amount_is_409_and_changes_nothing(
    api, db, clock, programme
):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "POS-9", "amount": "100"})
    counts = row_counts(db, WRITTEN_BY_POINTS)
    response = api.post(
        "/api/v1/purchases", json={"member": number, "order_id": "POS-9", "amount": "120"}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "idempotency.conflict"
    assert "different request" in body["message"]
    assert row_counts(db, WRITTEN_BY_POINTS) == counts
    assert _member(db, member_id).points_balance == 100


def test_a_member_is_named_by_the_brands_reference_or_phone(api, db, clock, programme):
    created = api.post(
        "/api/v1/members", json={"external_ref": "CRM-42", "phone": "0912 345 678"}
    ).json()
    by_ref = api.post("/api/v1/purchases", json={"member": "CRM-42", "order_id": "A", "amount": 10})
    by_phone = api.post(
        "/api/v1/purchases", json={"member": "0912345678", "order_id": "B", "amount": 10}
    )
    assert by_ref.json()["member"] == by_phone.json()["member"] == created["number"]


def test_a_full_refund_reverses_exactly_the_purchases_points(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "OLD", "amount": "250"})
    bought = api.post(
        "/api/v1/purchases", json={"member": number, "order_id": "POS-R", "amount": "1000"}
    ).json()
    assert _member(db, member_id).points_balance == 1250

    response = api.post("/api/v1/purchases/POS-R/refunds", json={})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["points_reversed"] == bought["points"] == 1000
    assert (body["points_shortfall"], body["balance"], body["amount"]) == (0, 250, "1000.00")
    assert _member(db, member_id).points_balance == 250
    assert _ledger(db, member_id) == [
        (250, "earn", "purchase"),
        (1000, "earn", "purchase"),
        (-1000, "reverse", "refund"),
    ]
    assert_ledger_invariants(db, [member_id])
    detail = api.get("/api/v1/purchases/POS-R").json()
    assert (detail["refunded"], detail["points_reversed"]) == ("1000.00", 1000)
    assert [line["points_reversed"] for line in detail["refunds"]] == [1000]


def test_a_retried_refund_answers_the_first_result(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "P", "amount": "500"})
    first = api.post("/api/v1/purchases/P/refunds", json={"amount": "100", "refund_id": "R1"})
    again = api.post("/api/v1/purchases/P/refunds", json={"amount": "100", "refund_id": "R1"})
    other = api.post("/api/v1/purchases/P/refunds", json={"amount": "100", "refund_id": "R2"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json() == first.json()
    assert first.json()["points_reversed"] == 100
    assert _member(db, member_id).points_balance == 300


def test_refunds_without_an_id_are_told_apart_by_their_idempotency_key(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "P", "amount": "500"})

    def refund(key: str | None, amount: str = "100"):
        headers = {"Idempotency-Key": key} if key else {}
        return api.post("/api/v1/purchases/P/refunds", json={"amount": amount}, headers=headers)

    first, retried, second = refund("till-1:r1"), refund("till-1:r1"), refund("till-1:r2")
    assert (first.status_code, retried.status_code, second.status_code) == (201, 200, 201)
    assert retried.json() == first.json()
    conflict = refund("till-1:r1", amount="50")  # the same key for another refund
    assert (conflict.status_code, conflict.json()["error"]) == (409, "idempotency.conflict")
    bad = refund("not a key!")
    assert bad.status_code == 422
    assert _member(db, member_id).points_balance == 300  # two refunds of 100, no more
    # Without an id or a key, equal amounts are one refund (a retry cannot be told apart).
    assert (refund(None).status_code, refund(None).status_code) == (201, 200)
    assert _member(db, member_id).points_balance == 200


def test_a_refund_beyond_the_purchase_is_409(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "P", "amount": "50"})
    response = api.post("/api/v1/purchases/P/refunds", json={"amount": "60"})
    assert response.status_code == 409
    assert response.json()["error"] == "purchase.refund_exceeds"
    assert _member(db, member_id).points_balance == 50


def test_unknown_members_orders_and_bad_amounts_are_refused_clearly(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    number = format_member_number(member_id)
    unknown = api.post(
        "/api/v1/purchases", json={"member": "M999999", "order_id": "X", "amount": 1}
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "member.not_found")
    missing = api.get("/api/v1/purchases/NOPE")
    assert (missing.status_code, missing.json()["error"]) == (404, "purchase.not_found")
    no_refund = api.post("/api/v1/purchases/NOPE/refunds", json={})
    assert (no_refund.status_code, no_refund.json()["error"]) == (404, "purchase.not_found")
    for amount in ("10.001", "-5", "0", "abc", "1e12", "NaN"):
        response = api.post(
            "/api/v1/purchases", json={"member": number, "order_id": "Y", "amount": amount}
        )
        assert response.status_code == 422, (amount, response.text)
        assert response.json()["error"] == "invalid_request"
        assert "amount" in response.json()["message"]
    future = api.post(
        "/api/v1/purchases",
        json={
            "member": number,
            "order_id": "Z",
            "amount": 1,
            "occurred_at": "2099-01-01T00:00:00Z",
        },
    )
    assert (future.status_code, future.json()["error"]) == (422, "invalid_input")
    assert _member(db, member_id).points_balance == 0


def test_a_purchase_is_audited_once_under_the_token(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    request = {"member": format_member_number(member_id), "order_id": "AUD-1", "amount": "99"}
    api.post("/api/v1/purchases", json=request)
    api.post("/api/v1/purchases", json=request)
    with db.session() as session:
        rows = session.exec(select(AuditLog).where(AuditLog.action == "purchase.record")).all()
    assert [(row.actor, row.target, row.details["amount"]) for row in rows] == [
        ("api:bootstrap", "AUD-1", "99")
    ]
    with db.session() as session:
        purchase = session.exec(select(Purchase)).one()
    assert (purchase.source, purchase.actor, purchase.amount_cents) == (
        "api",
        "api:bootstrap",
        9900,
    )
    assert Decimal(purchase.amount_cents) / 100 == Decimal("99")
