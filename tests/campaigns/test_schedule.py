"""Scheduled and recurring campaigns are launched by the scheduler's `launch_campaigns`
job, a plain function run here with a frozen clock."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import Services
from bot.scheduling.jobs import launch_campaigns
from bot.scheduling.scheduler import scheduled_jobs
from core.automations import Sending
from core.kernel.clock import FixedClock
from tests.campaigns.harness import new_campaign
from tests.campaigns.population import add_people, people

SENDING = Sending(channels=("telegram", "line"), render=lambda due: {})


def run_job(services: Services) -> dict[str, int]:
    with services.database.session() as session:
        return launch_campaigns(
            session, clock=services.clock, programme=services.programme, sending=SENDING
        )


def test_the_scheduler_looks_for_due_campaigns_every_minute(services: Services) -> None:
    jobs = {job.name: job for job in scheduled_jobs(services.programme, now=services.clock.now())}
    trigger = jobs["launch_campaigns"].trigger
    assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(minutes=1)


def test_a_scheduled_campaign_is_launched_once_when_its_time_comes(
    services: Services, clock: FixedClock
) -> None:
    add_people(services.database, people(4), now=clock.now())
    new_campaign(services, send_at=clock.now() + timedelta(hours=1))
    new_campaign(services, name="Draft")  # launched by hand only

    assert run_job(services) == {"campaigns": 0, "targeted": 0}
    clock.advance(hours=1)
    assert run_job(services) == {"campaigns": 1, "targeted": 4}
    assert run_job(services) == {"campaigns": 0, "targeted": 0}
