"""A fake clock in seconds for the rate limiters: tests move it, or sleep on it, and never
wait in real time."""

from __future__ import annotations

import asyncio
import math


class FakeSeconds:
    """Seconds (monotonic or wall clock alike) that move only when a test moves them or
    something sleeps on them. A sleep returns at once with the clock moved on by the seconds
    asked (no earlier than that for sleepers that overlap), and is recorded in `sleeps`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        # A real clock moves on by a tick at least, also over a wait shorter than a tick (a
        # limiter may ask for one when its float arithmetic leaves it a hair short of a token).
        wake = max(self.now + seconds, math.nextafter(self.now, math.inf))
        await asyncio.sleep(0)  # other tasks run meanwhile, as they would in a real sleep
        self.now = max(self.now, wake)
