"""`loyalty import purchases FILE.csv`: past purchases from a POS export, idempotently."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import setup
from core.imports import HEADER, OPTIONAL, BadHeader, ImportReport, read_rows

import_app = typer.Typer(help="Import data from the brand's other systems.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
SHOWN_PROBLEMS = 200


@import_app.command()
def purchases(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            exists=True,
            dir_okay=False,
            readable=True,
            help=f"UTF-8 CSV with the header {','.join(HEADER)}[,{OPTIONAL[0]}].",
        ),
    ],
    award_points: Annotated[
        bool,
        typer.Option(
            "--award-points/--no-award-points",
            help="Earn points for the imported purchases by today's earn rules. Off by "
            "default: history usually predates the programme, and its points would all "
            "expire at once a period from now.",
        ),
    ] = False,
    batch_rows: Annotated[
        int, typer.Option(min=1, max=10_000, help="Rows per database transaction.")
    ] = 500,
) -> None:
    """Import past purchases (member ref, order id, amount, time; optional category).

    `member` is the brand's own customer reference: members are found by it, or created
    (known to the brand, not signed up: no chat consent, so no promotions). `time` is an ISO
    8601 date (local midnight) or date-time (local time unless it has an offset). An order
    id already imported with the same details is skipped, so the same file can be imported
    again safely. Exit code 0 when every row is fine, 1 when some were refused (each named
    with its line number; the others are imported), 2 for a wrong header."""
    from core.imports import import_rows

    total = _data_lines(file)
    with setup.opened() as services:
        started = time.perf_counter()
        try:
            with open(file, encoding="utf-8-sig", newline="") as handle:
                rows = read_rows(handle, zone=services.programme.zone, now=services.clock.now())
                first = next(rows, None)  # checks the header before anything is written
                with _progress() as progress:
                    task = progress.add_task(file.name, total=total)
                    report = import_rows(
                        services.database,
                        clock=services.clock,
                        programme=services.programme,
                        rows=itertools.chain([] if first is None else [first], rows),
                        award_points=award_points,
                        actor=f"import:{file.name}"[:100],
                        batch_rows=batch_rows,
                        on_progress=lambda done: progress.advance(task, done),
                    )
        except BadHeader as exc:
            found = str(exc.params.get("found", ""))
            raise setup.usage_error(f"{exc.message}; found `{found}`", soft_wrap=True) from None
        except SQLAlchemyError as exc:
            raise setup.refused(
                f"{str(exc).splitlines()[0]}. The batches before it are imported; run the same "
                "file again to go on (imported rows repeat harmlessly).",
                label="database error",
                soft_wrap=True,
            ) from None
    _print_report(report, seconds=time.perf_counter() - started)
    raise typer.Exit(setup.REFUSED if report.refused else setup.DONE)


def _data_lines(file: Path) -> int:
    """Lines after the header, for the progress bar; also proves the file is UTF-8 before
    anything is imported."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except UnicodeDecodeError as exc:
        raise setup.usage_error(f"{file} is not UTF-8 text ({exc})", soft_wrap=True) from None


def _print_report(report: ImportReport, *, seconds: float) -> None:
    problems = report.problems()
    for kind, problem in problems[:SHOWN_PROBLEMS]:
        out.print(f"line {problem.line}: {kind}: {escape(problem.reason)}", soft_wrap=True)
    if len(problems) > SHOWN_PROBLEMS:
        out.print(f"… and {len(problems) - SHOWN_PROBLEMS:,} more refused rows", soft_wrap=True)
    rate = report.rows / seconds if seconds > 0 else 0.0
    out.print(
        f"imported {report.imported:,} · repeated {report.repeated:,} · "
        f"conflicts {len(report.conflicts):,} · malformed {len(report.malformed):,} "
        f"({report.rows:,} rows, new members {report.members_created:,}, "
        f"{seconds:.1f} s, {rate:,.0f} rows/s)",
        soft_wrap=True,
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )
