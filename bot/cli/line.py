"""`loyalty line …`: the LINE rich menus (the default one and one per tier) and the month's
message quota.

Talks to LINE_API_URL (LINE's own by default, a fake one in tests) with
LINE_CHANNEL_ACCESS_TOKEN, through the same channel the app uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from adapters.line import LineApiError, LineChannel
from bot.app import Settings, line_channel
from bot.cli import setup

line_app = typer.Typer(
    help="Connect the LINE Official Account: rich menus, quota.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MAX_IMAGE_BYTES = 1_000_000  # LINE's limit for a rich menu image


@line_app.command("richmenu")
def richmenu(
    image: Annotated[
        Path | None,
        typer.Option(
            help="Your own 2500×843 PNG or JPEG (under 1 MB) for every menu: a 90 px title "
            "strip over a 3×2 grid of buttons (points, coupons, tier, check-in, survey, "
            "invite). Without it, a plain image is drawn.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Make new menus even if menus were made before.")
    ] = False,
) -> None:
    """Create the default rich menu and one per tier, then link every LINE member to the
    menu of their tier (the running app keeps them linked as tiers change)."""
    from bot.line import RichMenuLinker, create_rich_menus
    from core.tiers import saved_menus

    picture, image_type = _image(image) if image else (None, "image/png")
    with setup.opened(_settings()) as services:
        with services.database.reader() as session:
            existing = saved_menus(session, channel="line")
        if existing and not replace:
            _show(existing)
            out.print("rich menus exist already; --replace makes new ones")
            return

        async def work(channel: LineChannel) -> tuple[dict[str, str], int]:
            menus = await create_rich_menus(services, channel, image=picture, image_type=image_type)
            linked = await RichMenuLinker(services, channel).catch_up()
            return menus, linked

        menus, linked = _run(services.settings, work)
    _show(menus)
    out.print(f"default menu set; members linked to their tier's menu ({linked} tier changes read)")


@line_app.command("quota")
def quota() -> None:
    """This month's message quota and how much of it is used (replies are free)."""
    limit, used = _run(_settings(), lambda channel: channel.message_quota())
    shown = "unlimited" if limit is None else f"{limit:,}"
    left = "" if limit is None else f", {max(limit - used, 0):,} left"
    out.print(f"messages this month: {used:,} used of {shown}{left}")


def _show(menus: dict[str, str]) -> None:
    for key, menu_id in sorted(menus.items()):
        out.print(f"{key}: {escape(menu_id)}")


def _image(path: Path) -> tuple[bytes, str]:
    image_type = IMAGE_TYPES.get(path.suffix.lower())
    data = path.read_bytes()
    if image_type is None or len(data) > MAX_IMAGE_BYTES:
        raise setup.usage_error("use a PNG or JPEG file under 1 MB", label="bad image")
    return data, image_type


def _settings() -> Settings:
    settings = setup.settings()
    if not settings.line_enabled:
        raise setup.configuration_error("set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN")
    return settings


def _run(settings: Settings, work: Callable[[LineChannel], Awaitable[T]]) -> T:
    channel = line_channel(settings)

    async def session() -> T:
        await channel.start()
        try:
            return await work(channel)
        finally:
            await channel.close()

    try:
        return asyncio.run(session())
    except LineApiError as exc:
        raise setup.refused(str(exc), label="LINE refused") from None
