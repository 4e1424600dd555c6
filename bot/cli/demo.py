"""`loyalty demo` (seed a demo programme and synthetic members) and `loyalty stats`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bot.cli import setup

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
MAX_MEMBERS = 10_000_000


def demo(
    members: Annotated[
        int, typer.Option(min=1, max=MAX_MEMBERS, help="How many synthetic members to add.")
    ] = 1000,
    seed: Annotated[
        int | None, typer.Option(help="Random seed: the same seed gives the same members.")
    ] = None,
) -> None:
    """Seed a demo programme (tiers, coupons, a survey, automations) and N synthetic members
    with 18 months of history across every funnel stage. Run again to add more."""
    from bot.demo import DemoConflict, seed_demo

    with setup.opened() as services:
        try:
            with _progress() as progress:
                task = progress.add_task("demo members", total=members)
                result = seed_demo(
                    services,
                    members=members,
                    seed=seed,
                    on_progress=lambda count: progress.advance(task, count),
                )
        except DemoConflict as exc:
            raise setup.refused(str(exc)) from None
    rate = result.members / result.seconds if result.seconds else 0
    out.print(
        f"added {result.members:,} demo members ({result.rows:,} rows) in "
        f"{result.seconds:.1f} s, {rate:,.0f} members/s (seed {result.seed})"
    )
    out.print("see the funnel with `loyalty stats`")


def stats(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Stages entered in the last N days (default: all time)."),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="First recompute the stats counters from the members, purchases, coupons and"
            " answers (after restoring a backup, or upgrading a database that has data).",
        ),
    ] = False,
) -> None:
    """Print the funnel (five stages, conversion, biggest drop-off), new members per
    channel, and KPIs."""
    from bot.cli.stats_view import render_stats
    from core.stats import funnel, kpis, rebuild_aggregates

    with setup.opened() as services:
        now = services.clock.now()
        if rebuild:
            with services.database.session() as session:
                rows = rebuild_aggregates(session, programme=services.programme)
                session.commit()
            err.print(f"stats counters recomputed ({sum(rows.values()):,} rows)")
        with services.database.reader() as session:
            figures = funnel(session, programme=services.programme, now=now, days=days)
            figures_kpi = kpis(session, now=now, days=days or 30, programme=services.programme)
    render_stats(out, figures, figures_kpi, days=days, currency=services.programme.currency)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
