"""`python -m bot.delivery`: a delivery worker as a process of its own, configured
from the same settings as `loyalty serve` (database, channels). `loyalty serve` runs one in
its lifespan; this is for a dedicated sender, and for the crash tests and benchmark that
kill one mid-campaign.

With --until-empty it exits once no row is queued (due) or being sent; rows a killed
predecessor left `sending` are taken again once their lease (--lease-seconds) has passed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta

import sqlalchemy as sa

from bot.app import Services, bootstrap, build_channels
from bot.delivery.senders import DeliveryWorker
from core.chat import Channel
from core.models import Delivery
from core.outbox import LEASE

log = logging.getLogger("bot.delivery")


def build_sending_channels(
    services: Services, *, telegram_rate: float, telegram_per_chat_rate: float
) -> dict[str, Channel]:
    """The configured channels, with Telegram's send limits as given (Telegram allows
    about 30 messages a second, more with paid broadcasts); on PostgreSQL the global one
    is kept with every other process sending for the bot."""
    return build_channels(
        services.settings,
        telegram_rate=telegram_rate,
        telegram_per_chat_rate=telegram_per_chat_rate,
        database=services.database,
    )


def unfinished(services: Services) -> int:
    """Rows due now or being sent (rows held for quiet hours are not waited for)."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    now = services.clock.now()
    with services.database.read_engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(
                    sa.or_(
                        table.c.status == "sending",
                        sa.and_(table.c.status == "queued", table.c.not_before <= now),
                    )
                )
            ).scalar_one()
        )


async def run(options: argparse.Namespace) -> None:
    services = bootstrap()
    channels = build_sending_channels(
        services,
        telegram_rate=options.telegram_rate,
        telegram_per_chat_rate=options.telegram_per_chat_rate,
    )
    if not channels:
        raise SystemExit("no channel is configured (TELEGRAM_BOT_TOKEN, LINE_CHANNEL_*)")
    worker = DeliveryWorker(
        services,
        channels,
        telegram_lanes=options.telegram_lanes,
        line_messages_per_second=options.line_rate,
        lease=timedelta(seconds=options.lease_seconds),
    )
    for channel in channels.values():
        await channel.start()
    try:
        if not options.until_empty:
            await worker.run(poll_seconds=options.poll_seconds)
        while True:
            await worker.drain(timeout=24 * 3600)
            if await asyncio.to_thread(unfinished, services) == 0:
                break
            await asyncio.sleep(options.poll_seconds)  # rows of a dead sender: their lease
        log.info("outbox drained")
    finally:
        for channel in channels.values():
            await channel.close()
        services.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until-empty", action="store_true", help="exit when drained")
    parser.add_argument("--lease-seconds", type=float, default=LEASE.total_seconds())
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--telegram-rate", type=float, default=30.0)
    parser.add_argument("--telegram-per-chat-rate", type=float, default=1.0)
    parser.add_argument("--telegram-lanes", type=int, default=1)
    parser.add_argument("--line-rate", type=float, default=None, help="messages a second")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    asyncio.run(run(options))


if __name__ == "__main__":
    main()
