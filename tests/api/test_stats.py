"""Funnel and KPI figures over the API."""

from __future__ import annotations

from core.models import format_member_number
from tests.support.members import new_member


def test_the_funnel_counts_members_at_each_stage(api, db, clock, programme):
    buyer = new_member(db, clock, programme, "buyer")
    new_member(db, clock, programme, "joiner")
    new_member(db, clock, programme, "visitor", signed_up=False)
    api.post(
        "/api/v1/purchases",
        json={"member": format_member_number(buyer), "order_id": "F1", "amount": "200"},
    )

    response = api.get("/api/v1/stats/funnel", params={"days": 30})

    assert response.status_code == 200, response.text
    body = response.json()
    entered = {stage["stage"]: stage["entered"] for stage in body["stages"]}
    current = {stage["stage"]: stage["current"] for stage in body["stages"]}
    assert entered == {"awareness": 3, "interest": 2, "decision": 1, "action": 1, "loyalty": 0}
    assert current == {"awareness": 1, "interest": 1, "decision": 0, "action": 1, "loyalty": 0}
    assert body["stages"][1]["conversion_from_previous"] == 2 / 3
    assert body["biggest_drop"] == "action→loyalty"
    assert body["new_members_by_channel"] == {"console": 2}
    assert (body["days"], body["as_of"]) == (30, "2026-03-02T02:00:00Z")
    everything = api.get("/api/v1/stats/funnel").json()
    assert (everything["days"], everything["since"]) == (None, None)


def test_kpis_sum_up_purchases(api, db, clock, programme):
    member_id = new_member(db, clock, programme)
    for order, amount in (("K1", "100"), ("K2", "50.50")):
        api.post(
            "/api/v1/purchases",
            json={"member": format_member_number(member_id), "order_id": order, "amount": amount},
        )
    body = api.get("/api/v1/stats/kpis", params={"days": 7}).json()
    assert (body["members"], body["purchases"], body["revenue"]) == (1, 2, "150.50")
    assert (body["average_order_value"], body["repeat_rate"], body["days"]) == ("75.25", 1.0, 7)


def test_stats_refuse_impossible_windows(api):
    for query in ("days=0", "days=-1", "days=100000", "days=abc"):
        assert api.get(f"/api/v1/stats/funnel?{query}").status_code == 422
        assert api.get(f"/api/v1/stats/kpis?{query}").status_code == 422
