"""The funnel and KPIs as Rich tables, for `loyalty stats`."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from core.stats import Funnel, Kpis

BAR_WIDTH = 20
EMPTY = "no members yet — try `loyalty demo`"


def is_empty(funnel: Funnel, kpis: Kpis) -> bool:
    return funnel.empty and kpis.empty


def render_stats(
    console: Console, funnel: Funnel, kpis: Kpis, *, days: int | None, currency: str
) -> None:
    if is_empty(funnel, kpis):
        console.print(EMPTY)
        return
    console.print(funnel_table(funnel, days=days))
    console.print(drop_line(funnel))
    console.print(channel_table(funnel))
    console.print(kpi_table(kpis, days=days or 30, currency=currency))
    if kpis.best_campaigns:
        console.print(campaign_table(kpis, currency=currency))


def funnel_table(funnel: Funnel, *, days: int | None) -> Table:
    period = f"entered in the last {days} days" if days else "all time"
    table = Table(title=f"Funnel ({period})", title_justify="left")
    if days:
        table.caption = "now here: every member at the stage today"
        table.caption_justify = "left"
    table.add_column("stage")
    table.add_column("entered", justify="right")
    table.add_column("now here", justify="right")
    table.add_column("from previous", justify="right")
    table.add_column("", min_width=BAR_WIDTH)
    top = max((stage.entered for stage in funnel.stages), default=0)
    for stage in funnel.stages:
        table.add_row(
            stage.stage,
            f"{stage.entered:,}",
            f"{stage.current:,}",
            percent(stage.conversion_from_previous),
            bar(stage.entered, top),
        )
    return table


def drop_line(funnel: Funnel) -> RenderableType:
    if funnel.biggest_drop is None:
        return Text("biggest drop-off: none yet")
    before, after = funnel.biggest_drop.split("→")
    kept = next(s.conversion_from_previous for s in funnel.stages if s.stage == after)
    lost = None if kept is None else 1 - kept
    return Text.assemble(
        "biggest drop-off: ",
        (f"{before} → {after}", "bold"),
        f" ({percent(lost)} do not go on)",
    )


def channel_table(funnel: Funnel) -> Table:
    table = Table(title="New members by channel", title_justify="left")
    table.add_column("channel")
    table.add_column("signed up", justify="right")
    table.add_column("share", justify="right")
    total = sum(funnel.new_members_by_channel.values())
    for channel, count in funnel.new_members_by_channel.items():
        table.add_row(channel, f"{count:,}", percent(count / total if total else None))
    if not funnel.new_members_by_channel:
        table.add_row("—", "0", "—")
    return table


def kpi_table(kpis: Kpis, *, days: int, currency: str) -> Table:
    table = Table(title=f"KPIs (purchases and coupons: last {days} days)", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = (
        ("members (signed up)", f"{kpis.members:,}"),
        ("active in 7 days", f"{kpis.active_7d:,}"),
        ("active in 30 days", f"{kpis.active_30d:,}"),
        ("purchases", f"{kpis.purchases:,}"),
        ("revenue", money(kpis.revenue, currency)),
        ("average order value", money(kpis.average_order_value, currency)),
        ("repeat rate (buyers with 2+ purchases)", percent(kpis.repeat_rate)),
        ("coupons claimed", f"{kpis.coupons_claimed:,}"),
        ("coupons redeemed", f"{kpis.coupons_redeemed:,}"),
        ("coupon redemption rate", percent(kpis.redemption_rate)),
        *more_rows(kpis, currency=currency),
    )
    for name, value in rows:
        table.add_row(name, value)
    return table


def more_rows(kpis: Kpis, *, currency: str) -> tuple[tuple[str, str], ...]:
    answers = kpis.nps_promoters + kpis.nps_passives + kpis.nps_detractors
    nps = "—" if kpis.nps is None else f"{kpis.nps:+.0f} ({answers:,} answers)"
    return (
        ("first-time buyers", f"{kpis.new_buyers:,}"),
        ("refunds", f"{kpis.refunds:,} ({money(kpis.refunded, currency)})"),
        (
            "bought again within 30 days (all time)",
            f"{percent(kpis.retention_30d)} of {kpis.retention_30d_buyers:,}",
        ),
        (
            "bought again within 90 days (all time)",
            f"{percent(kpis.retention_90d)} of {kpis.retention_90d_buyers:,}",
        ),
        ("NPS", nps),
        ("surveys completed", f"{kpis.surveys_completed:,}"),
        ("check-ins", f"{kpis.checkins:,}"),
    )


def campaign_table(kpis: Kpis, *, currency: str) -> Table:
    table = Table(title="Best campaigns launched in the window", title_justify="left")
    for name in ("campaign", "targeted", "claimed", "redeemed", "redeemed / targeted"):
        table.add_column(name, justify="left" if name == "campaign" else "right")
    table.add_column("purchases", justify="right")
    table.add_column("revenue", justify="right")
    for figure in kpis.best_campaigns:
        table.add_row(
            figure.name,
            f"{figure.targeted:,}",
            f"{figure.claimed:,}",
            f"{figure.redeemed:,}",
            percent(figure.redemption_rate),
            f"{figure.purchases:,}",
            money(figure.revenue, currency),
        )
    return table


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    if currency == "TWD":
        return f"NT${amount:,.0f}"
    return f"{currency} {amount:,.2f}"


def bar(value: int, top: int) -> str:
    if not top:
        return ""
    filled = round(BAR_WIDTH * value / top)
    return "█" * filled + "·" * (BAR_WIDTH - filled)
