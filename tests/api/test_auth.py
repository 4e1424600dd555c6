"""Bearer tokens and per-token rate limits guard every admin API route."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import select

from bot.api.ratelimit import RateLimiter
from bot.web import create_app
from core.models import ApiToken, AuditLog
from core.staff import create_api_token, revoke_api_token
from tests.api.conftest import with_api_settings
from tests.support.clocks import FakeSeconds


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        if route.path and route.path.startswith("/api/v1/"):
            routes.extend((method, route.path) for method in sorted(route.methods or ()))
    return routes


def concrete(path: str) -> str:
    """A path with plausible values for its parameters."""
    values = {"number": "M000001", "order_id": "POS-1", "code": "welcome", "campaign_id": "1"}
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def test_the_api_has_the_routes_it_documents(app):
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
    }
    assert set(api_routes(app)) == documented
    assert len(documented) >= 18


def test_every_route_refuses_a_request_without_a_token(app, anonymous):
    routes = api_routes(app)
    assert routes
    for method, path in routes:
        response = anonymous.request(method, concrete(path), json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token", "Bearer ", "Basic dXNlcjpwYXNz", "test-bootstrap-token-7f3a"],
)
def test_every_route_refuses_a_wrong_token(app, anonymous, header):
    for method, path in api_routes(app):
        response = anonymous.request(
            method, concrete(path), json={}, headers={"Authorization": header}
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_bootstrap_token_is_accepted(api):
    response = api.get("/api/v1/stats/kpis")
    assert response.status_code == 200, response.text


def test_a_created_token_works_until_it_is_revoked(services, anonymous, db, clock):
    with db.session() as session:
        plaintext, info = create_api_token(session, clock=clock, name="pos")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert anonymous.get("/api/v1/coupons", headers=headers).status_code == 200
    with db.session() as session:
        row = session.exec(select(ApiToken).where(ApiToken.name == "pos")).one()
        assert row.last_used_at == clock.now()
        assert plaintext not in (row.token_hash, row.prefix)
    with db.session() as session:
        revoke_api_token(session, clock=clock, name="pos")
    refused = anonymous.get("/api/v1/coupons", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_writes_are_audited_under_the_tokens_name(anonymous, db, clock):
    with db.session() as session:
        plaintext, _ = create_api_token(session, clock=clock, name="pos-store-7")
    response = anonymous.put(
        "/api/v1/coupons/AUDITED",
        json={"title": "Audited", "kind": "gift"},
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 201, response.text
    with db.session() as session:
        rows = session.exec(select(AuditLog).where(AuditLog.action == "coupon.define")).all()
    assert [(row.actor, row.target) for row in rows] == [("api:pos-store-7", "AUDITED")]


def test_a_token_past_its_burst_gets_429_with_retry_after(services):
    slow = with_api_settings(services, api_rate_limit=0.01, api_rate_burst=3)
    with TestClient(create_app(slow, channels={})) as client:
        client.headers["Authorization"] = "Bearer test-bootstrap-token-7f3a"
        statuses = [client.get("/api/v1/coupons").status_code for _ in range(3)]
        refused = client.get("/api/v1/coupons")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited"


def test_each_token_has_its_own_bucket(services, db, clock):
    slow = with_api_settings(services, api_rate_limit=0.01, api_rate_burst=1)
    with db.session() as session:
        plaintext, _ = create_api_token(session, clock=clock, name="other")
    with TestClient(create_app(slow, channels={})) as client:
        first = client.get("/api/v1/coupons", headers={"Authorization": f"Bearer {plaintext}"})
        second = client.get("/api/v1/coupons", headers={"Authorization": f"Bearer {plaintext}"})
        bootstrap = client.get(
            "/api/v1/coupons", headers={"Authorization": "Bearer test-bootstrap-token-7f3a"}
        )
    assert (first.status_code, second.status_code, bootstrap.status_code) == (200, 429, 200)


def test_a_bucket_refills_at_its_rate():
    time = FakeSeconds()
    limiter = RateLimiter(rate=2, burst=4, monotonic=time)
    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 0]
    assert limiter.take("a") == pytest.approx(0.5)
    time.advance(0.5)
    assert limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(0.5)
    time.advance(60)  # a long pause refills only up to the burst
    assert [limiter.take("a") for _ in range(5)][-1] == pytest.approx(0.5)
    assert limiter.take("b") == 0
