"""Generating the demo's batches, in this process or one batch ahead in a second process.

Writing a batch keeps one core busy (SQLite and the value conversion); generating the next
one meanwhile in a worker process uses the second core. One maker, handed from process to
process, so the batches come out exactly as in one process: same seed, same members."""

from __future__ import annotations

import gc
import multiprocessing
import random
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from bot.demo.context import DemoContext
from bot.demo.history import MemberHistory
from bot.demo.plan import Planner
from bot.demo.rows import BatchRows

Batch = tuple[dict[str, int], BatchRows]
"""The first id of each id table the batch used, and its rows."""


class BatchMaker:
    def __init__(self, ctx: DemoContext, seed: int) -> None:
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.planner = Planner(ctx, self.rng)

    def make(self, count: int) -> Batch:
        first_ids = dict(self.ctx.next_ids)
        rows = BatchRows()
        for plan in self.planner.plan_batch(self.ctx.take_ids("member", count), count):
            MemberHistory(self.ctx, rows, self.rng, plan).replay()
        return first_ids, rows.pack()


def batches(ctx: DemoContext, *, seed: int, sizes: list[int], ahead: bool) -> Iterator[Batch]:
    """One batch per size, in order. With `ahead`, this process makes the first batch while
    a worker process starts, then hands the maker over: the worker makes each next batch
    while the caller writes the previous one (at most one batch waits in memory)."""
    maker = BatchMaker(ctx, seed)
    if not ahead or len(sizes) < 2:
        for size in sizes:
            yield maker.make(size)
        return
    # Spawned, not forked: the parent has database connections and a progress-bar thread.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        pool.submit(_warm_up)  # the worker's interpreter starts while the first batch is made
        first = maker.make(sizes[0])
        waiting: deque[Future[Batch]] = deque([pool.submit(_adopt_and_make, maker, sizes[1])])
        yield first
        for size in sizes[2:]:
            waiting.append(pool.submit(_make_in_worker, size))
            yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Millions of row dicts, none in a reference cycle: the cycle collector would walk them
    over and over for nothing (a quarter of the generation time). Plain refcounting frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_worker_maker: BatchMaker | None = None


def _warm_up() -> None:
    gc.disable()  # as no_cycle_collection: this process only makes batches


def _adopt_and_make(maker: BatchMaker, count: int) -> Batch:
    """Take over the maker (its random state, next ids and stock left) and make a batch."""
    global _worker_maker
    _worker_maker = maker
    return maker.make(count)


def _make_in_worker(count: int) -> Batch:
    assert _worker_maker is not None, "the worker has no maker yet"
    return _worker_maker.make(count)
