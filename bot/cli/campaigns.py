"""`loyalty campaign …`: create, preview, launch, report, list and cancel campaigns.

Launching writes the outbox; the senders in `loyalty serve` (or `launch --send` here, or
`python -m bot.delivery`) deliver it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.app import Services, build_channels
from bot.cli import setup
from core.campaigns import (
    CampaignReport,
    audience_by_channel,
    audience_count,
    campaign_report,
    cancel_campaign,
    create_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
)
from core.kernel import DomainError

campaign_app = typer.Typer(help="Campaigns: create, preview, launch, report.", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")
Many = Annotated[list[str] | None, typer.Option()]


@campaign_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the campaign is called (for you).")],
    text: Annotated[str, typer.Option(help="The message in zh-TW (or in every language).")],
    text_en: Annotated[str | None, typer.Option(help="The message in English.")] = None,
    stage: Many = None,
    tier: Many = None,
    risk: Many = None,
    tag: Many = None,
    channel: Many = None,
    birthday_month: Annotated[int | None, typer.Option(min=1, max=12)] = None,
    inactive_days: Annotated[int | None, typer.Option(help="At least N days inactive.")] = None,
    audience: Annotated[str | None, typer.Option(help="Any segment filters as JSON.")] = None,
    coupon: Annotated[str | None, typer.Option(help="A coupon code to attach.")] = None,
    at: Annotated[str | None, typer.Option(help="Send at (ISO time; local if no zone).")] = None,
    every_days: Annotated[int | None, typer.Option(help="Run again every N days.")] = None,
    ab_split: Annotated[int | None, typer.Option(help="Share of variant A, in %.")] = None,
    text_b: Annotated[str | None, typer.Option(help="Variant B's message (zh-TW).")] = None,
    text_b_en: Annotated[str | None, typer.Option(help="Variant B's message in English.")] = None,
    metric: Annotated[str, typer.Option(help="clicked, claimed, redeemed, purchased")] = "redeemed",
    attribution_days: Annotated[int, typer.Option()] = 7,
) -> None:
    """Create a campaign (a draft, or scheduled with --at / --every-days)."""
    segment = _audience(audience)
    for key, values in (("stages", stage), ("tiers", tier), ("risk", risk), ("tags", tag),
                        ("channels", channel)):  # fmt: skip
        if values:
            segment[key] = values
    if birthday_month is not None:
        segment["birthday_month"] = birthday_month
    if inactive_days is not None:
        segment["inactive_days_min"] = inactive_days
    variants = [{"name": "A", "weight": 100, "text": _text(text, text_en), "coupon": coupon}]
    if text_b is not None or ab_split is not None:
        split = 50 if ab_split is None else ab_split
        variants[0]["weight"] = split
        variants.append({"name": "B", "weight": 100 - split,
                         "text": _text(text_b or text, text_b_en), "coupon": coupon})  # fmt: skip
    with setup.opened() as services:
        spec = {
            "name": name,
            "audience": segment,
            "variants": variants,
            "metric": metric,
            "send_at": _when(at, services) if at else None,
            "every_days": every_days,
            "attribution_days": attribution_days,
        }
        campaign = _use_case(services, lambda session: create_campaign(
            session, clock=services.clock, programme=services.programme, spec=spec,
            created_by="cli"))  # fmt: skip
    out.print(f"campaign {campaign.id} created ({campaign.status})")


@campaign_app.command("preview")
def preview(campaign_id: int) -> None:
    """How many members the campaign would reach now, per channel, and for LINE the share
    of this month's message quota it would use."""
    with setup.opened() as services:
        channels = list(build_channels(services.settings))
        campaign = _use_case(services, lambda session: get_campaign(session, campaign_id))
        now = services.clock.now()
        with services.database.reader() as session:
            total = audience_count(session, campaign.segment, now, channels)
            by_channel = audience_by_channel(session, campaign.segment, now, channels)
        out.print(f"campaign {campaign.id} “{escape(campaign.name)}”: {total:,} members")
        for name, count in sorted(by_channel.items()):
            out.print(f"  {name}: {count:,} messages")
        if by_channel.get("line"):
            out.print("  " + _quota_line(services, by_channel["line"]))


@campaign_app.command("launch")
def launch(
    campaign_id: int,
    send: Annotated[bool, typer.Option(help="Also send it from here, until it is out.")] = False,
) -> None:
    """Launch now: one delivery per member of the segment (repeating it adds none)."""
    with setup.opened() as services:
        channels = build_channels(services.settings, database=services.database)
        result = _use_case(
            services,
            lambda session: launch_campaign(
                session, clock=services.clock, campaign_id=campaign_id, channels=list(channels)
            ),
        )
        state = "launched" if result.started else "already launched"
        out.print(f"campaign {campaign_id} {state}: run {result.run}, {result.targeted:,} targeted")
        if send and channels:
            asyncio.run(_send(services, channels))
            out.print("sent; `loyalty campaign report` has the figures")


@campaign_app.command("report")
def report(campaign_id: int) -> None:
    """Per variant: targeted, sent, failed, blocked, skipped, clicked, claimed, redeemed,
    purchased; for A/B, the test on the campaign's metric."""
    with setup.opened() as services:
        found = _use_case(
            services, lambda session: campaign_report(session, campaign_id=campaign_id)
        )
    _show_report(found)


@campaign_app.command("list")
def list_() -> None:
    """The newest campaigns first, with their status."""
    with setup.opened() as services, services.database.reader() as session:
        campaigns = list_campaigns(session)
    table = Table("id", "name", "status", "runs", "targeted", "next run")
    for campaign in campaigns:
        table.add_row(str(campaign.id), escape(campaign.name), campaign.status,
                      str(campaign.runs), f"{campaign.targeted:,}",
                      _local(campaign.next_run_at, services))  # fmt: skip
    out.print(table)


@campaign_app.command("cancel")
def cancel(campaign_id: int) -> None:
    """Stop a campaign: what is still queued is not sent."""
    with setup.opened() as services:
        campaign = _use_case(services, lambda session: cancel_campaign(
            session, clock=services.clock, campaign_id=campaign_id))  # fmt: skip
    out.print(f"campaign {campaign.id} {campaign.status}")


def _show_report(found: CampaignReport) -> None:
    campaign = found.campaign
    out.print(
        f"campaign {campaign.id} “{escape(campaign.name)}” — {campaign.status}, "
        f"metric {campaign.metric}, attribution {campaign.attribution_days} days"
    )
    columns = ["targeted", "sent", "failed", "blocked", "queued", "clicked", "claimed",
               "redeemed", "purchased"]  # fmt: skip
    table = Table("variant", *columns, "skipped")
    for variant in found.variants:
        skipped = ", ".join(f"{reason} {count:,}" for reason, count in variant.skipped.items())
        table.add_row(variant.name, *(f"{getattr(variant, c):,}" for c in columns), skipped or "–")
    out.print(table)
    if doubt := sum(variant.in_doubt for variant in found.variants):
        out.print(
            f"{doubt:,} of the sent are in doubt: a Telegram send whose answer never came "
            "(a crash or a timeout); most likely delivered, not sent again."
        )
    out.print(found.verdict.text)


def _quota_line(services: Services, messages: int) -> str:
    channel = build_channels(services.settings)["line"]

    async def quota() -> tuple[int | None, int]:
        await channel.start()
        try:
            return await channel.message_quota()  # type: ignore[attr-defined, no-any-return]
        finally:
            await channel.close()

    try:
        limit, used = asyncio.run(quota())
    except Exception as exc:  # the preview still stands without it
        return f"LINE quota unknown ({escape(str(exc))[:120]})"
    if limit is None:
        return f"LINE quota: unlimited ({used:,} used this month)"
    share = messages / limit if limit else float("inf")
    left = max(limit - used, 0)
    short = " — not enough" if messages > left else ""
    return (
        f"LINE quota: {messages:,} of this month's {limit:,} messages ({share:.1%}); "
        f"{used:,} used, {left:,} left{short}"
    )


async def _send(services: Services, channels: dict[str, Any]) -> None:
    from bot.delivery import DeliveryWorker

    for channel in channels.values():
        await channel.start()
    try:
        await DeliveryWorker(services, channels).drain(timeout=24 * 3600)
    finally:
        for channel in channels.values():
            await channel.close()


def _audience(raw: str | None) -> dict[str, Any]:
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise setup.usage_error(
            'give a JSON object, e.g. {"tiers": ["gold"]}', label="bad --audience"
        )
    return found


def _text(zh: str, en: str | None) -> str | dict[str, str]:
    return {"zh-TW": zh, "en": en} if en else zh


def _when(value: str, services: Services) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise setup.usage_error(
            f"{value}: use ISO, e.g. 2026-05-01T10:00", label="bad time"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(services.programme.timezone))


def _local(value: datetime | None, services: Services) -> str:
    if value is None:
        return "–"
    return value.astimezone(ZoneInfo(services.programme.timezone)).strftime("%Y-%m-%d %H:%M")


def _use_case(services: Services, work: Callable[[Any], T]) -> T:
    try:
        with services.database.session() as session:
            return work(session)
    except DomainError as exc:
        raise setup.refusal(exc, exc.message, label="refused") from None
