"""Scheduling: jobs as plain functions, the APScheduler triggers that run them, and
the leadership that keeps one scheduler active.
"""

from bot.scheduling.scheduler import start_scheduler

__all__ = [
    "start_scheduler",
]
