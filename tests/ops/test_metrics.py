"""GET /metrics: webhooks by result, replies, handled updates, queue depths and job runs,
counted in a registry per app — over real HTTP with the fake Bot API, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

import tests.fakes.fixtures as fake_fixtures
from bot.app import Services
from bot.app.metrics import Metrics
from bot.scheduling.scheduler import run_job
from core.models import Delivery
from tests.campaigns.harness import channels_for, deliver, launch, new_campaign
from tests.campaigns.population import add_people, people
from tests.channels import telegram_harness
from tests.channels.telegram_harness import TelegramApp, wait_until
from tests.fakes.webhooks import TelegramUpdates

fake_telegram = fake_fixtures.fake_telegram
fake_line = fake_fixtures.fake_line
telegram_updates = fake_fixtures.telegram_updates
telegram_app = telegram_harness.telegram_app
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MEI = 4343


def scrape(app: TelegramApp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_webhooks_are_counted_by_result_with_replies_and_handled_updates(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    start = telegram_updates.command(telegram_updates.user(MEI, language_code="en"), "start")
    app.deliver(start)
    app.wait_texts(MEI, 1)
    app.settled()
    app.deliver(start)  # Telegram redelivers: stored once
    assert app.post(start, secret="wrong").status_code == 401
    assert app.post(b"{not json").status_code == 400

    samples = wait_until(
        lambda: (
            (s := scrape(app))
            and value(s, "loyalty_replies_total", channel="telegram", outcome="sent") >= 1
            and s
        ),
        what="the reply counted",
    )
    webhook = "loyalty_webhook_requests_total"
    assert value(samples, webhook, channel="telegram", result="accepted") == 1
    assert value(samples, webhook, channel="telegram", result="duplicate") == 1
    assert value(samples, webhook, channel="telegram", result="401") == 1
    assert value(samples, webhook, channel="telegram", result="400") == 1
    assert value(samples, "loyalty_webhook_seconds_count", channel="telegram") == 4
    assert value(samples, "loyalty_updates_handled_total", channel="telegram", outcome="done") == 1
    assert value(samples, "loyalty_replies_total", channel="telegram", outcome="sent") == 1
    assert value(samples, "loyalty_inbox_queue_depth") == 0
    assert value(samples, "loyalty_database_up") == 1


def test_queue_depths_are_read_from_the_database_at_each_scrape(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    app.deliver(telegram_updates.command(telegram_updates.user(MEI), "start"))
    app.settled()
    now = app.services.clock.now()
    with app.services.database.session() as session:
        for index, status in enumerate(("queued", "queued", "sending", "sent", "failed")):
            session.add(
                Delivery(
                    dedupe_key=f"test:{index}",
                    automation="test",
                    member_id=1,
                    channel="telegram",
                    user_id=str(MEI),
                    locale="en",
                    status=status,
                    not_before=now,
                    created_at=now,
                )
            )
        session.commit()
    assert value(scrape(app), "loyalty_outbox_queue_depth", channel="telegram") == 3
    with app.services.database.session() as session:
        session.execute(sa.update(Delivery).values(status="sent"))
        session.commit()
    assert value(scrape(app), "loyalty_outbox_queue_depth", channel="telegram") == 0


def test_job_runs_are_counted_by_outcome_and_each_app_has_its_own_registry(services: Services):
    metrics = services.metrics
    with metrics.job_run("expire_points"):
        pass
    with pytest.raises(RuntimeError), metrics.job_run("expire_points"):
        raise RuntimeError("boom")
    text = metrics.exposition().decode()
    assert 'loyalty_job_runs_total{job="expire_points",outcome="ok"} 1.0' in text
    assert 'loyalty_job_runs_total{job="expire_points",outcome="failed"} 1.0' in text
    assert 'loyalty_job_seconds_count{job="expire_points"} 2.0' in text
    other = Metrics()
    other.send("line", "sent", kind="campaign", count=3)
    assert "loyalty_job_runs_total{" not in other.exposition().decode()
    assert 'kind="campaign"' not in text


def test_campaign_deliveries_are_counted_as_sends_by_channel(
    services: Services, clock, fake_line, fake_telegram
) -> None:
    add_people(services.database, people(30), now=clock.now())  # odd: LINE, even: Telegram
    launch(services, new_campaign(services).id)
    deliver(services, lambda: channels_for(telegram=fake_telegram, line=fake_line))
    text = services.metrics.exposition().decode()
    assert 'loyalty_sends_total{channel="line",kind="campaign",outcome="sent"} 15.0' in text
    assert 'loyalty_sends_total{channel="telegram",kind="campaign",outcome="sent"} 15.0' in text


def test_the_scheduler_counts_each_job_run(services: Services) -> None:
    def job(session, *, clock, programme, sending):
        return {"done": 1}

    def broken(session, *, clock, programme, sending):
        raise RuntimeError("boom")

    run_job(services, "update_risk", job, sending=object())
    with pytest.raises(RuntimeError):
        run_job(services, "update_risk", broken, sending=object())
    text = services.metrics.exposition().decode()
    assert 'loyalty_job_runs_total{job="update_risk",outcome="ok"} 1.0' in text
    assert 'loyalty_job_runs_total{job="update_risk",outcome="failed"} 1.0' in text
