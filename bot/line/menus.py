"""LINE rich menus: the default menu and one per tier (`loyalty line richmenu`), and the
linker that gives each member the menu of their tier whenever their tier changes.

The linker follows the tier_change table rather than hooking into each use case: a tier
changes on a purchase over the API, a staff member's /sale, a review job or joining, and
all of them write a TierChange row. The app runs the linker next to the inbox worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from adapters.line import drawable, menu_image
from bot.app import Services
from bot.i18n import Translator
from core.chat import MEMBER_MENU, Button, member_menu
from core.programme import Tier
from core.tiers import (
    DEFAULT_MENU,
    TierChanges,
    advance_menu_cursor,
    menu_cursor,
    menu_for,
    replace_menus,
    saved_menus,
    tier_changes_after,
    tier_menu_key,
)

if TYPE_CHECKING:
    from adapters.line import LineChannel

log = logging.getLogger(__name__)

CHANNEL = "line"  # the channel name the menus and the linker's cursor are stored under
# Tier menus get these accents in order (LINE green first), so each tier looks its own.
ACCENTS = [(6, 199, 85), (134, 142, 150), (176, 141, 43), (112, 72, 232), (28, 126, 214)]


def menu_buttons(services: Services) -> list[Button]:
    """The member menu: postbacks `cmd:<name>`, labelled in the programme's language; a
    tap shows the label in the chat as if the member had typed it."""
    return member_menu(Translator(services.programme.locale))


async def create_rich_menus(
    services: Services,
    channel: LineChannel,
    *,
    image: bytes | None = None,
    image_type: str = "image/png",
) -> dict[str, str]:
    """Create the default menu and one per tier, make the default LINE's default, store
    the ids (members are relinked by the linker) and delete the menus they replace.
    `image` replaces the generated pictures (same layout: see adapters.line.rich_menu)."""
    programme = services.programme
    t, en = Translator(programme.locale), Translator("en")
    buttons = menu_buttons(services)
    labels = [en(f"menu.{name}") for name in MEMBER_MENU]
    created: dict[str, str] = {}

    async def make(key: str, name: str, bar: str, title: str, accent: Any) -> None:
        picture = image or menu_image(labels, title=title, accent=accent)
        created[key] = await channel.create_rich_menu(
            name=name, chat_bar_text=bar, buttons=buttons, image=picture, image_type=image_type
        )

    try:
        await make(
            DEFAULT_MENU, "loyalty default", t("line.menu_bar"), en.pick(programme.name), ACCENTS[0]
        )
        for index, tier in enumerate(programme.tiers.levels):
            bar = t("line.menu_bar_tier", tier=t.pick(tier.name))
            accent = ACCENTS[index % len(ACCENTS)]
            await make(
                tier_menu_key(tier.code), f"loyalty tier {tier.code}", bar, tier_title(tier), accent
            )
        await channel.set_default_rich_menu(created[DEFAULT_MENU])
    except Exception:
        for menu_id in created.values():
            await _delete_quietly(channel, menu_id)
        raise
    with services.database.session() as session:
        replaced = replace_menus(session, channel=CHANNEL, menus=created, now=services.clock.now())
    for menu_id in replaced:
        await _delete_quietly(channel, menu_id)
    return created


def tier_title(tier: Tier) -> str:
    name = Translator("en").pick(tier.name)
    return f"{name} member" if drawable(name) else tier.code.upper()


async def _delete_quietly(channel: LineChannel, menu_id: str) -> None:
    try:
        await channel.delete_rich_menu(menu_id)
    except Exception as exc:  # an old menu left behind is harmless; say so and go on
        log.warning("could not delete LINE rich menu %s: %s", menu_id, exc)


@runtime_checkable
class RichMenuLinking(Protocol):
    """A channel that shows each user a menu of their own (LINE's rich menus)."""

    async def link_rich_menu_to_users(self, user_ids: Sequence[str], menu_id: str) -> None: ...


class RichMenuLinker:
    """Links each LINE member to the rich menu of their tier, following tier changes.

    A cursor in the database says how far it got. Rows are read again a little behind the
    cursor (`lookback`), because on PostgreSQL a tier change with a lower id can commit
    after one with a higher id; the ones already linked in this process are skipped."""

    def __init__(
        self,
        services: Services,
        channel: RichMenuLinking,
        *,
        batch: int = 500,
        lookback: int = 200,
    ) -> None:
        self.services = services
        self.channel = channel
        self.batch = batch
        self.lookback = lookback
        self._linked: set[int] = set()

    async def sync_once(self) -> int:
        """Link the members of the next batch of tier changes; returns how many tier
        changes were read (0 when caught up, or when no menus were made yet)."""
        menus, cursor, changes = await asyncio.to_thread(self._read)
        if not menus or not changes.change_ids:
            return 0
        pending = [i for i in changes.change_ids if i not in self._linked]
        by_menu: dict[str, set[str]] = defaultdict(set)
        for change_id in pending:
            for user_id, tier in changes.users.get(change_id, []):
                menu_id = menu_for(menus, tier)
                if menu_id:
                    by_menu[menu_id].add(user_id)
        for menu_id, users in by_menu.items():
            await self.channel.link_rich_menu_to_users(sorted(users), menu_id)
        self._linked.update(pending)
        newest = changes.change_ids[-1]
        if newest > cursor:
            await asyncio.to_thread(self._advance, newest)
        self._linked = {i for i in self._linked if i > newest - self.lookback}
        return len(changes.change_ids) if newest > cursor else 0

    async def catch_up(self) -> int:
        """Sync until no tier change is left; returns how many were read."""
        total = 0
        while read := await self.sync_once():
            total += read
        return total

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Keep members' menus in line with their tiers until cancelled."""
        while True:
            try:
                await self.catch_up()
            except Exception:  # LINE or the database is down: try again next round
                log.exception("linking LINE rich menus failed")
            await asyncio.sleep(poll_seconds)

    def _read(self) -> tuple[Mapping[str, str], int, TierChanges]:
        with self.services.database.reader() as session:
            menus = saved_menus(session, channel=CHANNEL)
            cursor = menu_cursor(session, channel=CHANNEL)
            changes = tier_changes_after(
                session,
                channel=CHANNEL,
                after_id=max(0, cursor - self.lookback),
                limit=self.batch,
            )
        return menus, cursor, changes

    def _advance(self, last_id: int) -> None:
        with self.services.database.session() as session:
            advance_menu_cursor(
                session, channel=CHANNEL, last_id=last_id, now=self.services.clock.now()
            )


def start_menu_linker(services: Services, channels: Mapping[str, Any]) -> asyncio.Task[None] | None:
    """Run the linker in the background when a channel links rich menus (LINE, when on)."""
    linking = [channel for channel in channels.values() if isinstance(channel, RichMenuLinking)]
    if not linking:
        return None
    linker = RichMenuLinker(services, linking[0])
    return asyncio.create_task(linker.run(), name="line-rich-menus")
