"""Campaigns over the API: create, count a segment, launch once, report, list, cancel."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from bot.app import Services
from bot.web import create_app
from core.members import opt_out
from core.models import AuditLog, Campaign, Delivery
from tests.api.conftest import TOKEN, with_api_settings
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.support.members import new_member

SPRING = {
    "name": "Spring sale",
    "audience": {"stages": ["interest"]},
    "variants": [
        {"name": "A", "weight": 50, "text": {"zh-TW": "春季特賣", "en": "Spring sale"},
         "coupon": "SPEND500SAVE100"},
        {"name": "B", "weight": 50, "text": "NT$100 off NT$500 until Sunday",
         "buttons": [{"label": "Menu", "action": "url", "value": "https://example.com/menu"}]},
    ],
    "metric": "redeemed",
}  # fmt: skip


@pytest.fixture
def api_services(services: Services) -> Services:
    """The API's services with Telegram switched on, so campaigns have a channel."""
    return with_api_settings(
        services,
        telegram_bot_token=SecretStr(TELEGRAM_TOKEN),
        telegram_webhook_secret=SecretStr(TELEGRAM_WEBHOOK_SECRET),
    )


@pytest.fixture
def reachable(services: Services) -> list[int]:
    """Four signed-up members on Telegram (one of them opted out) and one on the console."""
    db, clock, programme = services.database, services.clock, services.programme
    ids = [new_member(db, clock, programme, f"t{n}", channel="telegram") for n in range(4)]
    new_member(db, clock, programme, "console-only")
    with db.session() as session:
        opt_out(session, clock=clock, member_id=ids[3], channel="telegram")
    return ids[:3]


def deliveries(db) -> list[Delivery]:
    with db.reader() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.member_id)).all())


def audits(db, action: str) -> list[AuditLog]:
    with db.reader() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_a_campaign_is_created_launched_once_and_reported(api, db, reachable):
    counted = api.post("/api/v1/segments/count", json={"stages": ["interest"]})
    assert counted.status_code == 200, counted.text
    assert counted.json() == {"audience": 3, "by_channel": {"telegram": 3},
                              "channels": ["telegram"]}  # fmt: skip

    created = api.post("/api/v1/campaigns", json=SPRING)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert (campaign["status"], campaign["created_by"], campaign["runs"]) == (
        "draft",
        "api:bootstrap",
        0,
    )
    assert campaign["variants"][0] == {
        "name": "A",
        "weight": 50,
        "buttons": [],
        "text": {"zh-TW": "春季特賣", "en": "Spring sale"},
        "coupon": "SPEND500SAVE100",
    }
    assert campaign["variants"][1]["buttons"][0]["value"] == "https://example.com/menu"
    assert deliveries(db) == []  # a draft sends nothing

    path = f"/api/v1/campaigns/{campaign['id']}"
    launched = api.post(f"{path}/launch")
    assert launched.status_code == 202, launched.text
    assert launched.json() == {"campaign_id": campaign["id"], "run": 1, "targeted": 3,
                               "status": "sending"}  # fmt: skip
    assert [row.member_id for row in deliveries(db)] == reachable
    again = api.post(f"{path}/launch")
    assert again.status_code == 200
    assert again.json() == launched.json()
    assert len(deliveries(db)) == 3

    report = api.get(f"{path}/report")
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["campaign"]["status"] == "sending"
    assert sum(v["targeted"] for v in body["variants"]) == 3
    assert sum(v["queued"] for v in body["variants"]) == 3
    assert [v["name"] for v in body["variants"]] == ["A", "B"]
    assert body["verdict"]["kind"] == "too_early"

    assert [a.target for a in audits(db, "campaign.create")] == ["Spring sale"]
    [launch] = audits(db, "campaign.launch")  # the repeat wrote nothing, so no audit
    assert (launch.actor, launch.target) == ("api:bootstrap", str(campaign["id"]))


def test_the_report_carries_the_z_test_and_its_verdict(api, db, reachable, services):
    for n in range(40):
        new_member(db, services.clock, services.programme, f"ab{n}", channel="telegram")
    spec = SPRING | {"metric": "clicked"}
    campaign_id = api.post("/api/v1/campaigns", json=spec).json()["id"]
    api.post(f"/api/v1/campaigns/{campaign_id}/launch").raise_for_status()
    table = Delivery.__table__
    now = services.clock.now()
    with db.engine.begin() as connection:  # all sent; B's members all tap, A's do not
        connection.execute(sa.update(table).values(status="sent", sent_at=now))
        connection.execute(sa.update(table).where(table.c.variant == "B").values(clicked_at=now))
    body = api.get(f"/api/v1/campaigns/{campaign_id}/report").json()
    a, b = body["variants"]
    assert (a["sent"], a["clicked"], b["clicked"]) == (a["targeted"], 0, b["sent"])
    verdict = body["verdict"]
    assert (verdict["kind"], verdict["winner"], verdict["loser"]) == ("winner", "B", "A")
    assert verdict["z"] < -4 and verdict["p_value"] < 0.001
    assert verdict["text"] == "B beats A on clicks (100.0% vs 0.0%), p < 0.001"


def test_campaigns_are_listed_newest_first_and_fetched_by_id(api, reachable):
    first = api.post("/api/v1/campaigns", json=SPRING | {"name": "First"}).json()
    second = api.post("/api/v1/campaigns", json=SPRING | {"name": "Second",
                      "send_at": "2026-03-06T10:00:00+08:00"}).json()  # fmt: skip
    assert (second["status"], second["send_at"]) == ("scheduled", "2026-03-06T02:00:00Z")
    listed = api.get("/api/v1/campaigns").json()
    assert [c["name"] for c in listed] == ["Second", "First"]
    assert [c["name"] for c in api.get("/api/v1/campaigns?limit=1").json()] == ["Second"]
    assert api.get(f"/api/v1/campaigns/{first['id']}").json() == first


def test_a_cancelled_campaign_skips_what_is_queued_and_cannot_be_launched(api, db, reachable):
    campaign_id = api.post("/api/v1/campaigns", json=SPRING).json()["id"]
    api.post(f"/api/v1/campaigns/{campaign_id}/launch").raise_for_status()
    cancelled = api.post(f"/api/v1/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert {(row.status, row.reason) for row in deliveries(db)} == {("skipped", "cancelled")}
    assert api.post(f"/api/v1/campaigns/{campaign_id}/cancel").json()["status"] == "cancelled"
    refused = api.post(f"/api/v1/campaigns/{campaign_id}/launch")
    assert (refused.status_code, refused.json()["error"]) == (409, "campaign.closed")
    assert len(deliveries(db)) == 3
    assert [a.actor for a in audits(db, "campaign.cancel")] == ["api:bootstrap"] * 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (SPRING | {"variants": []}, 422, "invalid_request"),
        (SPRING | {"name": " "}, 422, "invalid_request"),
        (SPRING | {"name": "x" * 121}, 422, "invalid_request"),
        (SPRING | {"surprise": 1}, 422, "invalid_request"),
        (SPRING | {"metric": "likes"}, 422, "invalid_request"),
        (SPRING | {"send_at": "9999-12-31T23:59:59-23:00"}, 422, "invalid_request"),
        (SPRING | {"audience": {"stages": ["bored"]}}, 422, "invalid_request"),
        (SPRING | {"audience": {"tags": ["\u0000"]}}, 422, "invalid_request"),
        (SPRING | {"audience": {"tiers": ["platinum"]}}, 422, "invalid_input"),
        (SPRING | {"variants": [SPRING["variants"][0] | {"weight": 60}, SPRING["variants"][1]]},
         422, "invalid_request"),
        (SPRING | {"variants": [{"name": "A", "text": ""}]}, 422, "invalid_request"),
        (SPRING | {"variants": [{"name": "A", "text": "Hi", "coupon": "NOPE"}]}, 404,
         "coupon.not_found"),
        (SPRING | {"variants": [{"name": "A", "text": "Hi", "buttons": [
            {"label": "Go", "action": "url", "value": "javascript:alert(1)"}]}]},
         422, "invalid_request"),
    ],
)  # fmt: skip
def test_a_bad_campaign_is_refused_and_nothing_is_stored(api, db, body, status, error):
    response = api.post("/api/v1/campaigns", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    with db.reader() as session:
        assert session.exec(select(sa.func.count()).select_from(Campaign)).one() == 0
    assert audits(db, "campaign.create") == []


def test_unknown_campaigns_and_bad_ids_and_segments(api):
    for method, path in (("post", "/launch"), ("post", "/cancel"), ("get", "/report"),
                         ("get", "")):  # fmt: skip
        response = api.request(method, f"/api/v1/campaigns/99{path}")
        assert (response.status_code, response.json()["error"]) == (404, "campaign.not_found")
        big = api.request(method, f"/api/v1/campaigns/{2**40}{path}")
        assert big.status_code == 422
    assert api.get("/api/v1/campaigns?limit=0").status_code == 422
    for segment in ({"inactive_days_min": 9, "inactive_days_max": 3}, {"birthday_month": 13},
                    {"channels": ["fax"]}, ["interest"]):  # fmt: skip
        assert api.post("/api/v1/segments/count", json=segment).status_code == 422


def test_every_campaign_route_needs_a_token(app: FastAPI, db):
    anonymous = TestClient(app)
    wrong = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}-not"})
    for client in (anonymous, wrong):
        for method, path, body in (
            ("post", "/api/v1/campaigns", SPRING),
            ("get", "/api/v1/campaigns", None),
            ("get", "/api/v1/campaigns/1", None),
            ("post", "/api/v1/campaigns/1/launch", None),
            ("post", "/api/v1/campaigns/1/cancel", None),
            ("get", "/api/v1/campaigns/1/report", None),
            ("post", "/api/v1/segments/count", {}),
        ):
            response = client.request(method, path, json=body)
            assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
    with db.reader() as session:
        assert session.exec(select(sa.func.count()).select_from(Campaign)).one() == 0


def test_without_a_channel_a_campaign_reaches_nobody(services, db, reachable):
    app = create_app(with_api_settings(services), channels={})  # no Telegram, no LINE
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.post("/api/v1/segments/count", json={}).json() == {
            "audience": 0, "by_channel": {}, "channels": []}  # fmt: skip
        campaign_id = client.post("/api/v1/campaigns", json=SPRING).json()["id"]
        launched = client.post(f"/api/v1/campaigns/{campaign_id}/launch").json()
    assert launched["targeted"] == 0
    assert deliveries(db) == []
