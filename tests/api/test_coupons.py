"""Coupons over the API: define and update, list, redeem a member's code once."""

from __future__ import annotations

from sqlmodel import select

from core.models import AuditLog, CouponDefinition, CouponGrant
from tests.support.coupons import claim
from tests.support.members import new_member

FLASH = {
    "title": {"zh-TW": "滿300折50", "en": "NT$50 off NT$300"},
    "kind": "spend_save",
    "value": 50,
    "min_spend": 300,
    "stock": 2,
}


def test_a_coupon_is_defined_then_updated_and_listed(api, db):
    created = api.put("/api/v1/coupons/FLASH", json=FLASH)
    assert created.status_code == 201, created.text
    assert (created.json()["code"], created.json()["remaining"]) == ("FLASH", 2)
    updated = api.put("/api/v1/coupons/FLASH", json=FLASH | {"stock": 10, "active": False})
    assert updated.status_code == 200
    assert (updated.json()["stock"], updated.json()["active"]) == (10, False)
    listed = {item["code"]: item for item in api.get("/api/v1/coupons").json()}
    assert listed["FLASH"]["title"] == FLASH["title"]
    assert listed["FLASH"]["source"] == "api"
    inactive = [item["code"] for item in api.get("/api/v1/coupons?active=false").json()]
    assert inactive == ["FLASH"]
    with db.session() as session:
        rows = session.exec(select(CouponDefinition).where(CouponDefinition.code == "FLASH"))
        assert len(rows.all()) == 1
        audits = session.exec(select(AuditLog).where(AuditLog.action == "coupon.define")).all()
    assert [row.target for row in audits] == ["FLASH", "FLASH"]


def test_a_coupon_that_breaks_a_rule_is_refused_and_not_stored(api, db):
    for body in (
        FLASH | {"min_spend": 40},  # spend_save must save less than it needs spent
        FLASH | {"kind": "percent_off", "value": 150},
        FLASH | {"stock": 2**40},
        FLASH | {"valid_from": "9999-12-31T23:59:59-23:00"},
        FLASH | {"eligibility": {"new_members_days": 10**12}},
        FLASH | {"title": "\u0000"},
        FLASH | {"surprise": True},
        FLASH | {"code": "OTHER"},
    ):
        response = api.put("/api/v1/coupons/FLASH", json=body)
        assert response.status_code == 422, (body, response.text)
    assert "FLASH" not in [item["code"] for item in api.get("/api/v1/coupons").json()]
    assert api.put("/api/v1/coupons/bad code!", json=FLASH).status_code == 422


def test_staff_redeem_a_claimed_code_once(api, db, clock, programme):
    api.put("/api/v1/coupons/FLASH", json=FLASH)
    member_id = new_member(db, clock, programme)
    code = claim(db, clock, programme, member_id, "FLASH").code
    typed = code.lower().replace("-", "")
    response = api.post(
        "/api/v1/coupons/redeem",
        json={"code": typed, "order_amount": "420", "order_id": "POS-3"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["coupon_code"], body["discount"]) == (code, "FLASH", "50.00")
    assert (body["redeemed_by"], body["order_id"]) == ("api:bootstrap", "POS-3")
    again = api.post("/api/v1/coupons/redeem", json={"code": code})
    assert (again.status_code, again.json()["error"]) == (409, "coupon.already_redeemed")
    with db.session() as session:
        grant = session.exec(select(CouponGrant)).one()
    assert (grant.status, grant.redeemed_order_id) == ("redeemed", "POS-3")


def test_redeem_refusals(api, db, clock, programme):
    api.put("/api/v1/coupons/FLASH", json=FLASH)
    member_id = new_member(db, clock, programme)
    code = claim(db, clock, programme, member_id, "FLASH").code
    below = api.post("/api/v1/coupons/redeem", json={"code": code, "order_amount": 100})
    assert (below.status_code, below.json()["error"]) == (409, "coupon.minimum_spend")
    unknown = api.post("/api/v1/coupons/redeem", json={"code": "ZZZZ-ZZZZ"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "coupon.code_unknown")
    with db.session() as session:
        assert session.exec(select(CouponGrant)).one().status == "active"


def test_a_retried_redeem_with_its_key_answers_the_first_result(api, db, clock, programme):
    api.put("/api/v1/coupons/FLASH", json=FLASH)
    member_id = new_member(db, clock, programme)
    code = claim(db, clock, programme, member_id, "FLASH").code
    request = {"code": code, "idempotency_key": "till-4:tx-99"}
    first = api.post("/api/v1/coupons/redeem", json=request)
    again = api.post("/api/v1/coupons/redeem", json=request)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
