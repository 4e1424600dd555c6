"""`loyalty model`: fit the churn / lifetime-value models, store every member's score, and
print the parameters with their time unit, the fit's quality and a per-segment summary."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from bot.cli import setup
from core.kernel import InvalidInput, as_utc

if TYPE_CHECKING:  # numpy and SciPy load only when the command runs
    from core.prediction import ScoringRun

out = Console(highlight=False)

BGNBD_MEANING = {
    "r": "shape of the purchase rates across members",
    "alpha": "scale of the purchase rates (per {unit})",
    "a": "dropout chance after a purchase: Beta a",
    "b": "dropout chance after a purchase: Beta b",
}
SPEND_MEANING = {
    "p": "shape of a member's spend per purchase day",
    "q": "shape of the spend levels across members",
    "gamma": "scale of the spend levels across members",
}


def model(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Fit on purchases up to this date (its end, programme time) or ISO date-time;"
            " default now.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the fitted model as one JSON document.")
    ] = False,
) -> None:
    """Fit the churn / lifetime-value model (BG/NBD with Gamma-Gamma) on the purchases up to
    the as-of date, store every member's churn risk, value and RFM segment, and print the
    parameters with their time unit and a per-segment summary."""
    from core.prediction import NotEnoughPurchases, score_members

    with setup.opened() as services:
        try:
            cutoff = parse_as_of(as_of, zone=services.programme.zone, now=services.clock.now())
            with services.database.session() as session:
                run = score_members(
                    session, clock=services.clock, programme=services.programme, as_of=cutoff
                )
        except InvalidInput as exc:  # a bad or future --as-of
            _fail(exc.message, as_json=as_json, code=setup.USAGE_ERROR)
        except NotEnoughPurchases as exc:
            found = (
                f"; found {exc.params['members']} members, {exc.params['repeat_buyers']} of"
                " them repeat buyers"
                if "members" in exc.params
                else ""
            )
            _fail(
                f"not enough purchase history: {exc.message}{found}. Import past purchases "
                "with `loyalty import purchases FILE.csv`, or try again when more members "
                "have bought.",
                as_json=as_json,
                code=setup.REFUSED,
            )
    if as_json:
        typer.echo(json.dumps({**run.report, "scored": run.scored}))
        return
    render(out, run, currency=services.programme.currency)


def parse_as_of(text: str | None, *, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A date means the end of that local day (today: now); a date-time without an offset
    is programme local time. Later than now is refused."""
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            cutoff = as_utc(datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone))
            cutoff -= timedelta(microseconds=1)
            if day == now.astimezone(zone).date():
                cutoff = min(cutoff, now)
        else:
            moment = datetime.fromisoformat(value)
            cutoff = as_utc(moment if moment.tzinfo else moment.replace(tzinfo=zone))
    except ValueError:
        raise InvalidInput(
            f"--as-of {value!r} is not an ISO date (2026-03-01) or date-time"
        ) from None
    if cutoff > now:
        raise InvalidInput(f"--as-of {value} is in the future")
    return cutoff


def render(console: Console, run: ScoringRun, *, currency: str) -> None:
    report = run.report
    unit = report["time_unit"]
    console.print(
        f"Fitted on purchases up to {report['as_of']}: {report['members']:,} members, "
        f"{report['repeat_buyers']:,} of them repeat buyers. Time unit: [bold]{unit}[/bold] "
        f"(median member age {report['median_age_days']:.0f} days; weeks beyond "
        f"{report['week_threshold_days']} days)."
    )
    console.print(_bgnbd_table(report, unit))
    console.print(_spend_table(report, run, currency))
    console.print(_segment_table(report, currency))
    console.print(f"Scores stored for {run.scored:,} members; `/member` shows them with reasons.")


def _bgnbd_table(report: dict[str, Any], unit: str) -> Table:
    fit = report["bgnbd"]
    errors = report["standard_errors"]["bgnbd"]
    table = Table(
        title=f"BG/NBD: purchases and churn (time unit: {unit})",
        title_justify="left",
        caption=f"log-likelihood {fit['log_likelihood']:,.2f} · "
        f"{_converged(report['converged']['bgnbd'])}",
        caption_justify="left",
    )
    for column in ("parameter", "estimate", "std. error", "meaning"):
        table.add_column(
            column, justify="right" if column in ("estimate", "std. error") else "left"
        )
    for name, meaning in BGNBD_MEANING.items():
        table.add_row(name, _number(fit[name]), _number(errors[name]), meaning.format(unit=unit))
    return table


def _spend_table(report: dict[str, Any], run: ScoringRun, currency: str) -> Table | str:
    fit = report["gamma_gamma"]
    if fit is None:
        return (
            "Gamma-Gamma (spend per purchase): not fitted, too few repeat buyers; each "
            "member's expected value is their own mean spend per purchase day."
        )
    errors = report["standard_errors"]["gamma_gamma"]
    assert run.models.gamma_gamma is not None
    mean = run.models.gamma_gamma.model.population_mean
    correlation = report["spend_frequency_correlation"]
    table = Table(
        title="Gamma-Gamma: spend per purchase day",
        title_justify="left",
        caption=f"log-likelihood {report['gamma_gamma_log_likelihood']:,.2f} · "
        f"{_converged(report['converged']['gamma_gamma'])} · population mean "
        f"{_money(mean, currency)} · spend–frequency correlation "
        f"{'n/a' if correlation is None else f'{correlation:.2f}'}",
        caption_justify="left",
    )
    for column in ("parameter", "estimate", "std. error", "meaning"):
        table.add_column(
            column, justify="right" if column in ("estimate", "std. error") else "left"
        )
    for name, meaning in SPEND_MEANING.items():
        table.add_row(name, _number(fit[name]), _number(errors[name]), meaning)
    return table


def _segment_table(report: dict[str, Any], currency: str) -> Table:
    from core.prediction import SEGMENTS

    months = report["horizon_months"]
    table = Table(
        title=f"Segments: churn risk now; the next {months} months' chance to buy, value per"
        f" purchase and lifetime value (LTV), in {currency}",
        title_justify="left",
        caption="Churn risk is 0 for one-time buyers: in the BG/NBD a member can drop out only"
        " after a repeat purchase. For them, the chance to buy again tells more.",
        caption_justify="left",
    )
    table.add_column("segment", no_wrap=True)
    for column in ("members", "churn", "buys again", "value", "LTV", "total LTV"):
        table.add_column(column, justify="right", no_wrap=True)
    segments = report["segments"]
    for name in SEGMENTS:
        if name not in segments:
            continue
        row = segments[name]
        table.add_row(
            name.replace("_", " "),
            f"{row['members']:,}",
            f"{row['churn_risk']:.0%}",
            f"{row['p_purchase']:.0%}",
            f"{row['expected_value']:,.0f}",
            f"{row['lifetime_value']:,.0f}",
            f"{row['total_lifetime_value']:,.0f}",
        )
    return table


def _converged(flag: bool | None) -> str:
    return "converged" if flag else "[yellow]did not converge[/yellow]"


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _fail(message: str, *, as_json: bool, code: int) -> NoReturn:
    """Exit with `code`; with --json the reason is a JSON document on stdout."""
    if as_json:
        typer.echo(json.dumps({"error": message}))
        raise typer.Exit(code)
    fail = setup.refused if code == setup.REFUSED else setup.usage_error
    raise fail(message, soft_wrap=True)
