"""What the scheduler runs when: automations at their local send time in the programme's
time zone, the welcome every few minutes, housekeeping hourly or nightly; and what runs at
once when a process becomes leader (its time today has passed)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.scheduling.scheduler import Scheduled, scheduled_jobs
from core.programme import Programme

TEN_IN_TAIPEI = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def by_name(jobs: list[Scheduled]) -> dict[str, Scheduled]:
    return {job.name: job for job in jobs}


def next_run(job: Scheduled, after: datetime) -> datetime:
    fire = job.trigger.get_next_fire_time(None, after)
    assert fire is not None
    return fire.astimezone(UTC)


def test_each_enabled_automation_runs_daily_at_its_local_send_time():
    programme = Programme()
    automations = programme.automations
    automations[6] = automations[6].model_copy(update={"send_at": time(18, 30)})  # win_back
    automations[5] = automations[5].model_copy(update={"enabled": False})  # member_day
    jobs = by_name(scheduled_jobs(programme, now=TEN_IN_TAIPEI))

    assert "automation:member_day" not in jobs
    win_back = jobs["automation:win_back"]
    assert isinstance(win_back.trigger, CronTrigger)
    assert next_run(win_back, TEN_IN_TAIPEI) == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert not win_back.catch_up  # 18:30 has not come yet today
    birthday = jobs["automation:birthday"]
    assert next_run(birthday, TEN_IN_TAIPEI) == TEN_IN_TAIPEI
    assert next_run(birthday, TEN_IN_TAIPEI + timedelta(seconds=1)) == datetime(
        2026, 3, 3, 2, 0, tzinfo=UTC
    )
    assert birthday.catch_up  # 10:00 today has come: a new leader runs it at once
    welcome = jobs["automation:welcome"]
    assert isinstance(welcome.trigger, IntervalTrigger)
    assert welcome.trigger.interval.total_seconds() == 300


def test_housekeeping_runs_hourly_or_nightly_and_catches_up_on_becoming_leader():
    jobs = by_name(scheduled_jobs(Programme(), now=TEN_IN_TAIPEI))

    assert set(jobs) >= {
        "release_pending",
        "expire_points",
        "warn_expiring_points",
        "expire_coupons",
        "update_risk",
        "tier_review",
        "purge_inbound",
        "score_members",
    }
    assert next_run(jobs["score_members"], TEN_IN_TAIPEI) == datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    assert next_run(jobs["expire_points"], TEN_IN_TAIPEI) == datetime(2026, 3, 2, 2, 10, tzinfo=UTC)
    assert next_run(jobs["tier_review"], TEN_IN_TAIPEI) == datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
    assert all(job.catch_up for job in jobs.values())  # 10:00: every nightly time has passed

    early = by_name(scheduled_jobs(Programme(), now=datetime(2026, 3, 1, 16, 10, tzinfo=UTC)))
    assert not early["update_risk"].catch_up  # 00:10 local: its 01:00 is still to come
    assert early["tier_review"].catch_up is False


def test_the_test_interval_runs_every_job_that_often_from_the_start():
    jobs = scheduled_jobs(Programme(), now=TEN_IN_TAIPEI, interval=0.5)

    assert all(isinstance(job.trigger, IntervalTrigger) for job in jobs)
    assert {job.trigger.interval.total_seconds() for job in jobs} == {0.5}  # type: ignore[attr-defined]
    assert all(job.catch_up for job in jobs)
