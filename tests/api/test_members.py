"""Members over the API: look up, search page by page, enrol from a POS, export, erase."""

from __future__ import annotations

from sqlmodel import select

from core.models import AuditLog, ChannelIdentity, Member, StageEntry, format_member_number
from tests.support.members import new_member

INTERNAL = {"id", "invite_code", "referrer_id", "tier_warned_at", "spent_cents", "erased_at"}


def test_a_member_is_read_by_number_without_internal_columns(api, db, clock, programme):
    member_id = new_member(db, clock, programme, "alice")
    response = api.get(f"/api/v1/members/{format_member_number(member_id)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == format_member_number(member_id)
    assert (body["display_name"], body["stage"], body["signed_up"]) == ("Alice", "interest", True)
    assert body["spent"] == "0.00"
    assert not INTERNAL & set(body)
    lower = api.get(f"/api/v1/members/{format_member_number(member_id).lower()}")
    assert lower.json()["number"] == body["number"]


def test_unknown_and_malformed_numbers_are_refused(api):
    missing = api.get("/api/v1/members/M999999999999")
    assert (missing.status_code, missing.json()["error"]) == (404, "member.not_found")
    malformed = api.get("/api/v1/members/alice")
    assert (malformed.status_code, malformed.json()["error"]) == (422, "invalid_request")


def test_search_finds_by_number_phone_reference_and_name_prefix(api, db, clock, programme):
    alice = new_member(db, clock, programme, "alice")
    new_member(db, clock, programme, "bob")
    albert = new_member(db, clock, programme, "albert")
    api.post("/api/v1/members", json={"external_ref": "CRM-9", "phone": "0911222333"})

    def numbers(query: str) -> list[str]:
        response = api.get("/api/v1/members", params={"query": query})
        assert response.status_code == 200, response.text
        return [item["number"] for item in response.json()["items"]]

    assert numbers(format_member_number(alice)) == [format_member_number(alice)]
    assert numbers("al") == [format_member_number(alice), format_member_number(albert)]
    assert numbers("AL") == numbers("al")
    assert numbers("CRM-9") == numbers("+886911222333") == numbers("0911-222-333")
    assert len(numbers("CRM-9")) == 1
    assert numbers("nobody") == []
    assert numbers("%") == []  # a wildcard is a character, not a pattern


def test_search_pages_through_everyone(api, db, clock, programme):
    ids = [new_member(db, clock, programme, f"m{index}") for index in range(5)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = api.get("/api/v1/members", params=params).json()
        seen += [item["number"] for item in page["items"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert seen == [format_member_number(member_id) for member_id in ids]
    assert pages == 3


def test_a_pos_enrols_a_member_with_consent_once(api, db, clock, programme):
    request = {
        "external_ref": "POS-CUST-1",
        "display_name": "王小明",
        "phone": "0912345678",
        "consent": {"version": programme.consent.version, "given_at": "2026-03-01T10:00:00+08:00"},
    }
    first = api.post("/api/v1/members", json=request)
    again = api.post("/api/v1/members", json=request)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert again.json()["number"] == first.json()["number"]
    body = first.json()
    assert (body["external_ref"], body["phone"], body["stage"]) == (
        "POS-CUST-1",
        "+886912345678",
        "interest",
    )
    assert body["signed_up"] is True
    assert body["consent_at"] == "2026-03-01T02:00:00Z"
    with db.session() as session:
        members = session.exec(select(Member)).all()
        stages = session.exec(select(StageEntry.stage).order_by(StageEntry.stage)).all()
        identities = session.exec(select(ChannelIdentity)).all()
        audits = session.exec(select(AuditLog).where(AuditLog.action == "member.create")).all()
    assert len(members) == 1
    assert (members[0].source_channel, identities) == ("api", [])
    assert sorted(stages) == ["awareness", "interest"]
    assert [(row.actor, row.target) for row in audits] == [("api:bootstrap", "POS-CUST-1")]


def test_enrolment_without_consent_is_not_a_sign_up(api, programme):
    body = api.post("/api/v1/members", json={"external_ref": "POS-2"}).json()
    assert (body["stage"], body["signed_up"], body["consent_at"]) == ("awareness", False, None)


def test_enrolment_refusals(api, programme):
    api.post("/api/v1/members", json={"external_ref": "R1", "display_name": "A"})
    changed = api.post("/api/v1/members", json={"external_ref": "R1", "display_name": "B"})
    assert (changed.status_code, changed.json()["error"]) == (409, "idempotency.conflict")
    old_text = api.post(
        "/api/v1/members", json={"external_ref": "R2", "consent": {"version": "1999"}}
    )
    assert (old_text.status_code, old_text.json()["error"]) == (422, "member.consent_required")
    assert old_text.json()["params"] == {"current": programme.consent.version}
    bad_phone = api.post("/api/v1/members", json={"external_ref": "R3", "phone": "call me"})
    assert (bad_phone.status_code, bad_phone.json()["error"]) == (422, "invalid_input")
    extra = api.post("/api/v1/members", json={"external_ref": "R4", "points_balance": 10**6})
    assert (extra.status_code, extra.json()["error"]) == (422, "invalid_request")
    nul = api.post("/api/v1/members", json={"external_ref": "R5", "display_name": "a\u0000b"})
    assert nul.status_code == 422
    listed = api.get("/api/v1/members").json()["items"]  # the refused ones wrote nothing
    assert [item["external_ref"] for item in listed] == ["R1"]


def test_a_reference_already_on_a_member_is_409(api, db, clock, programme):
    member_id = new_member(db, clock, programme, "carol")
    with db.session() as session:
        member = session.get(Member, member_id)
        member.external_ref = "TAKEN"
        session.add(member)
        session.commit()
    response = api.post("/api/v1/members", json={"external_ref": "TAKEN"})
    assert response.status_code == 409
    assert response.json() == {
        "error": "member.exists",
        "message": "a member already has that reference",
        "params": {"number": format_member_number(member_id)},
    }


def test_export_gives_the_members_data_and_is_audited(api, db, clock, programme):
    member_id = new_member(db, clock, programme, "dave")
    number = format_member_number(member_id)
    api.post("/api/v1/purchases", json={"member": number, "order_id": "E1", "amount": "42"})
    response = api.get(f"/api/v1/members/{number}/export")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["profile"]["number"] == number
    assert [purchase["order_id"] for purchase in data["purchases"]] == ["E1"]
    assert data["points"]["balance"] == 42
    with db.session() as session:
        audits = session.exec(select(AuditLog).where(AuditLog.action == "member.export")).all()
    assert [row.target for row in audits] == [number]


def test_erasure_answers_its_result_twice_and_the_member_is_then_gone(api, db, clock, programme):
    member_id = new_member(db, clock, programme, "erin")
    number = format_member_number(member_id)
    first = api.delete(f"/api/v1/members/{number}")
    again = api.delete(f"/api/v1/members/{number}")
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert first.json() == again.json()
    assert (first.json()["number"], first.json()["identities"]) == (number, 1)
    gone = api.get(f"/api/v1/members/{number}")
    assert (gone.status_code, gone.json()["error"]) == (410, "member.erased")
    assert api.get(f"/api/v1/members/{number}/export").status_code == 410
    assert api.get("/api/v1/members", params={"query": "erin"}).json()["items"] == []
    with db.session() as session:
        member = session.get(Member, member_id)
        audits = session.exec(select(AuditLog).where(AuditLog.action == "member.erase")).all()
    assert member.display_name is None
    assert [(row.actor, row.target) for row in audits] == [("api:bootstrap", number)]
    assert api.delete("/api/v1/members/M999999").status_code == 404
