"""The scheduler inside `loyalty serve`: maps triggers to the jobs of bot/scheduling/jobs.py.

APScheduler 3 (`AsyncIOScheduler`) runs only in the leader process (bot/scheduling/leadership.py);
the others keep serving webhooks and try to take over every few seconds. Each job runs
in a thread with a fresh session, one run at a time (`max_instances=1`); a run that comes
late (a busy loop, a leader that just took over) still runs, once (`coalesce`, a generous
`misfire_grace_time`). The jobs are idempotent, so on becoming leader every job whose time
today has passed runs at once: a takeover or restart never skips a day.

Times: automations run at their `send_at`, local to the programme's time zone, except the
welcome, which is due on sign-up and so runs every few minutes; housekeeping runs hourly
or nightly. LOYALTY_SCHEDULER_INTERVAL_SECONDS (tests only) makes every job run every that
many seconds instead, and followers retry as often.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import Services
from bot.delivery import automation_sending
from bot.scheduling.jobs import HOUSEKEEPING, Counts, Job, automation_job
from bot.scheduling.leadership import Leadership, leadership_for
from core.automations import Sending
from core.programme import Programme

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0  # followers try to take over, and the leader confirms, this often
MISFIRE_GRACE = int(timedelta(hours=6).total_seconds())
WELCOME_EVERY = timedelta(minutes=5)
# Housekeeping, in programme-local time: (minute,) hourly, (hour, minute) nightly, or
# every so often.
HOUSEKEEPING_AT: dict[str, tuple[int, ...] | timedelta] = {
    "launch_campaigns": timedelta(minutes=1),
    "release_pending": (5,),
    "expire_points": (10,),
    "expire_coupons": (20,),
    "tier_review": (0, 30),
    "update_risk": (1, 0),
    "purge_inbound": (4, 0),
    "score_members": (3, 0),
    "warn_expiring_points": (10, 0),
}


@dataclass(frozen=True)
class Scheduled:
    name: str
    job: Job
    trigger: BaseTrigger
    catch_up: bool
    """Run at once on becoming leader (its time today has passed, or it runs often)."""


def scheduled_jobs(
    programme: Programme, *, now: datetime, interval: float | None = None
) -> list[Scheduled]:
    """Every job with its trigger: housekeeping, and each enabled automation."""
    zone = programme.zone
    local = now.astimezone(zone).time()
    jobs: list[tuple[str, Job, tuple[int, ...] | timedelta]] = [
        (name, job, HOUSEKEEPING_AT[name]) for name, job in HOUSEKEEPING.items()
    ]
    for automation in programme.automations:
        if not automation.enabled:
            continue
        when: tuple[int, ...] | timedelta = (
            WELCOME_EVERY
            if automation.kind == "welcome"
            else (automation.send_at.hour, automation.send_at.minute)
        )
        jobs.append((f"automation:{automation.code}", automation_job(automation), when))
    result = []
    for name, job, when in jobs:
        if interval is not None:
            trigger: BaseTrigger = IntervalTrigger(seconds=interval, timezone=zone)
            catch_up = True
        elif isinstance(when, timedelta):
            trigger, catch_up = IntervalTrigger(seconds=when.total_seconds(), timezone=zone), True
        elif len(when) == 1:
            trigger, catch_up = CronTrigger(minute=when[0], timezone=zone), True
        else:
            trigger = CronTrigger(hour=when[0], minute=when[1], timezone=zone)
            catch_up = local >= time(when[0], when[1])
        result.append(Scheduled(name=name, job=job, trigger=trigger, catch_up=catch_up))
    return result


def run_job(services: Services, name: str, job: Job, sending: Sending | None = None) -> Counts:
    """One run of a job in a fresh session (called in a worker thread)."""
    sending = sending or automation_sending(services)
    with services.metrics.job_run(name), services.database.session() as session:
        counts = job(session, clock=services.clock, programme=services.programme, sending=sending)
    # Quiet when nothing changed ("due" alone: already done in an earlier run).
    if any(value for key, value in counts.items() if key != "due"):
        log.info("job %s: %s", name, counts)
    return counts


@dataclass
class Scheduler:
    """Leadership plus the APScheduler that runs while this process leads."""

    services: Services
    leadership: Leadership
    check_seconds: float = CHECK_SECONDS
    interval: float | None = None
    runs: dict[str, int] = field(default_factory=dict)
    _aps: AsyncIOScheduler | None = None

    def __post_init__(self) -> None:
        self.sending = automation_sending(self.services)

    @property
    def leading(self) -> bool:
        return self._aps is not None

    def status(self) -> dict[str, Any]:
        return {"leader": self.leading, "holder": self.leadership.holder, "runs": dict(self.runs)}

    async def run(self) -> None:
        """Lead when possible, until cancelled; steps down when the lock or lease is lost."""
        try:
            while True:
                try:
                    leading = await asyncio.to_thread(self._check)
                except Exception:  # a database hiccup: try again at the next check
                    log.exception("scheduler: leadership check failed")
                    leading = False
                if leading and self._aps is None:
                    self._start()
                elif not leading and self._aps is not None:
                    log.warning("scheduler: %s lost leadership", self.leadership.holder)
                    self._stop()
                await asyncio.sleep(self.check_seconds)
        finally:
            self._stop()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.leadership.release)

    def _check(self) -> bool:
        if self._aps is not None:
            return self.leadership.confirm()
        return self.leadership.try_acquire()

    def _start(self) -> None:
        programme = self.services.programme
        aps = AsyncIOScheduler(
            timezone=programme.zone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE,
            },
        )
        now = self.services.clock.now()
        for item in scheduled_jobs(programme, now=now, interval=self.interval):
            options: dict[str, Any] = {}
            if item.catch_up:
                options["next_run_time"] = datetime.now(programme.zone)
            aps.add_job(
                self._run, item.trigger, args=[item.name, item.job], id=item.name, **options
            )
        aps.start()
        self._aps = aps
        log.info("scheduler: %s runs %d jobs", self.leadership.holder, len(aps.get_jobs()))

    def _stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    async def _run(self, name: str, job: Job) -> None:
        if self._aps is None:
            return  # stepped down since this run was due
        try:
            await asyncio.to_thread(run_job, self.services, name, job, self.sending)
            self.runs[name] = self.runs.get(name, 0) + 1
        except asyncio.CancelledError:
            # Shutting down: the thread finishes its batch, which commits on its own.
            log.info("job %s interrupted by shutdown", name)
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)


def build_scheduler(services: Services) -> Scheduler:
    interval = services.settings.scheduler_interval_seconds
    check = min(CHECK_SECONDS, interval) if interval else CHECK_SECONDS
    leadership = leadership_for(
        services.database, services.clock, ttl=timedelta(seconds=max(3 * check, 2.0))
    )
    return Scheduler(services, leadership, check_seconds=check, interval=interval)


def start_scheduler(services: Services) -> tuple[Scheduler, asyncio.Task[None]]:
    """Start leadership and scheduling in the running loop (the app's lifespan)."""
    _say_who_leads()
    scheduler = build_scheduler(services)
    return scheduler, asyncio.create_task(scheduler.run(), name="scheduler")


def _say_who_leads() -> None:
    """Leadership changes and job counts in the server's output, unless logging was set up
    by whoever runs us (uvicorn configures only its own loggers)."""
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    for name in ("bot.scheduling.scheduler", "bot.scheduling.leadership"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
