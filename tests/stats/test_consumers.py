"""The stats' readers still render, with the new figures: /stats in chat, `loyalty stats`
in the terminal, and the API (funnel, KPIs, cohorts)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from rich.console import Console
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.stats_view import render_stats
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.models import Campaign
from core.programme import Programme
from core.stats import funnel, kpis
from tests.conftest import START
from tests.stats.support import buy, claim
from tests.support.chat import ChatUser, verify_dialog
from tests.support.members import new_member
from tests.support.surveys import answer, start

DAY = timedelta(days=1)


def a_month_of_business(db, clock, programme):
    """Two buyers (one back within 30 days), an NPS of 9, a campaign whose coupon was used."""
    with db.session() as session:
        session.add(
            Campaign(
                name="Spring latte",
                status="done",
                targeted=4,
                created_by="test",
                created_at=START,
                launched_at=START,
            )
        )
        session.commit()
    ann, bob = new_member(db, clock, programme, "ann"), new_member(db, clock, programme, "bob")
    code = claim(db, clock, programme, ann, campaign_id=1)
    buy(db, clock, programme, ann, "A1", amount="200", campaign_id=1)
    buy(db, clock, programme, bob, "B1", amount="100")
    start(db, clock, ann)
    answer(db, clock, programme, ann, 0, 9)
    clock.set(START + 10 * DAY)
    buy(db, clock, programme, ann, "A2", amount="300")
    with db.session() as session:
        from core.coupons import redeem_coupon

        redeem_coupon(
            session, clock=clock, programme=programme, code=code, actor="staff", channel="console"
        )
    clock.set(START + 45 * DAY)


def test_stats_in_chat_show_buyers_retention_nps_and_the_best_campaign(dialogs, services):
    a_month_of_business(services.database, services.clock, services.programme)
    staff = ChatUser(dialogs, "staff", language="en")
    verify_dialog(
        staff,
        [
            (
                "/stats 60",
                [
                    "📊 Last 60 days",
                    "Purchases: 3",
                    "Revenue: NT$600",
                    "First-time buyers: 2",
                    "Bought again within 30 / 90 days: 50% · –",
                    "NPS: 100 (1 answers)",
                    "Best campaign: Spring latte: 25% redeemed",
                    "Coupons redeemed: 1 of 1 claimed (100%)",
                ],
            ),
            ("/stats 7", ["Purchases: 0", "First-time buyers: 0"]),
        ],
    )


def test_loyalty_stats_prints_the_new_figures_and_the_campaigns(db, clock, programme, services):
    a_month_of_business(db, clock, programme)
    console = Console(record=True, width=120)
    with db.reader() as session:
        figures = funnel(session, programme=programme, now=clock.now(), days=60)
        numbers = kpis(session, now=clock.now(), days=60, programme=programme)
    render_stats(console, figures, numbers, days=60, currency="TWD")
    text = console.export_text()
    for piece in (
        "first-time buyers",
        "bought again within 30 days (all time)",
        "50.0% of 2",
        "+100 (1 answers)",
        "Best campaigns launched in the window",
        "Spring latte",
        "NT$200",
    ):
        assert piece in text, text


def test_the_api_gives_kpis_with_the_new_figures_and_cohorts(api, db, clock, programme, services):
    a_month_of_business(db, clock, programme)
    body = api.get("/api/v1/stats/kpis", params={"days": 60}).json()
    assert (body["new_buyers"], body["retention_30d"], body["nps"]) == (2, 0.5, 100.0)
    assert body["best_campaigns"][0]["name"] == "Spring latte"
    assert (body["revenue"], body["refunded"], body["empty"]) == ("600.00", "0.00", False)

    day0 = START.date().isoformat()
    cohorts = api.get(
        "/api/v1/stats/cohorts",
        params={"stage": "action", "from": day0, "to": day0, "within_days": 30},
    )
    assert cohorts.status_code == 200, cohorts.text
    [action] = cohorts.json()["cohorts"]
    assert (action["entered"], action["converted"], action["rate"]) == (2, 1, 0.5)
    every = api.get("/api/v1/stats/cohorts").json()
    assert [c["stage"] for c in every["cohorts"]] == ["awareness", "interest", "decision", "action"]
    assert every["within_days"] == 30


def test_the_cohorts_endpoint_refuses_impossible_questions(api):
    for query in (
        "stage=loyalty",
        "stage=nowhere",
        "within_days=-1",
        "within_days=400",
        "from=2026-03-02&to=2026-03-01",
        "from=2000-01-01&to=2026-03-01",
        "from=yesterday",
    ):
        response = api.get(f"/api/v1/stats/cohorts?{query}")
        assert response.status_code == 422, (query, response.text)
        assert "error" in response.json()


def test_an_empty_programme_says_so_everywhere(api, dialogs):
    assert api.get("/api/v1/stats/kpis").json()["empty"] is True
    assert api.get("/api/v1/stats/funnel").json()["empty"] is True
    verify_dialog(ChatUser(dialogs, "staff", language="en"), [("/stats", "No members yet")])


def test_loyalty_stats_rebuild_recomputes_lost_counters(tmp_path, monkeypatch):
    for name in [name for name in os.environ if name.startswith("LOYALTY_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("LOYALTY_DATABASE_URL", url)
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    database, programme = Database(url), Programme()
    clock = FixedClock(datetime.now(UTC))
    buy(database, clock, programme, new_member(database, clock, programme), "R1", amount="250")
    with database.engine.begin() as connection:
        for table in ("stats_daily", "buyer_cohort", "funnel_daily", "stage_cohort"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
    database.dispose()

    lost = CliRunner().invoke(app, ["stats"])
    assert "no members yet" in lost.output
    result = CliRunner().invoke(app, ["stats", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert "stats counters recomputed" in result.output
    assert "first-time buyers" in result.output and "NT$250" in result.output
