"""Running the delivery worker against the fake LINE and Telegram servers in a test."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from adapters.line import LineChannel
from adapters.telegram import TelegramChannel
from bot.app import Services
from bot.delivery import DeliveryWorker
from core.campaigns import CampaignView, LaunchResult, create_campaign, launch_campaign
from core.chat import Channel
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET, TELEGRAM_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI

WEBHOOK_SECRET = "campaign-tests-webhook-secret"


def channels_for(
    telegram: FakeTelegramBotAPI | None = None,
    line: FakeLineAPI | None = None,
    *,
    telegram_rate: float = 5_000,
) -> dict[str, Channel]:
    """Channels pointed at the fakes; Telegram's own limiter set high (tests are about
    exactly-once, not about waiting), LINE retrying quickly."""
    channels: dict[str, Channel] = {}
    if telegram is not None:
        channels["telegram"] = TelegramChannel(
            token=TELEGRAM_TOKEN,
            webhook_secret=WEBHOOK_SECRET,
            api_url=f"{telegram.url}/bot",
            global_rate=telegram_rate,
            per_chat_rate=1.0,
            network_backoff=0.01,
        )
    if line is not None:
        channels["line"] = LineChannel(
            channel_secret=LINE_CHANNEL_SECRET,
            access_token=LINE_ACCESS_TOKEN,
            api_url=line.url,
            backoff=0.01,
        )
    return channels


def deliver(
    services: Services,
    channels: Callable[[], dict[str, Channel]],
    *,
    timeout: float = 120,
    **options: Any,
) -> None:
    """Build the channels, drain the outbox once (everything due now), close them."""

    async def scenario() -> None:
        built = channels()
        for channel in built.values():
            await channel.start()
        try:
            await DeliveryWorker(services, built, **options).drain(timeout=timeout)
        finally:
            for channel in built.values():
                await channel.close()

    asyncio.run(scenario())


def new_campaign(services: Services, **spec: Any) -> CampaignView:
    spec.setdefault("name", "Spring sale")
    spec.setdefault("variants", [{"text": {"zh-TW": "春季特賣", "en": "Spring sale"}}])
    with services.database.session() as session:
        return create_campaign(
            session,
            clock=services.clock,
            programme=services.programme,
            spec=spec,
            created_by="test",
        )


def launch(services: Services, campaign_id: int, channels: tuple[str, ...] = ("telegram", "line"),
           **options: Any) -> LaunchResult:  # fmt: skip
    with services.database.session() as session:
        return launch_campaign(
            session,
            clock=services.clock,
            campaign_id=campaign_id,
            channels=channels,
            **options,
        )


def telegram_counts(fake: FakeTelegramBotAPI) -> Counter[str]:
    """Messages each Telegram chat received (sendMessage calls answered 200)."""
    return Counter(str(call.params.get("chat_id")) for call in fake.calls("sendMessage") if call.ok)


def line_counts(fake: FakeLineAPI) -> Counter[str]:
    """Messages each LINE user received (one delivery per recipient and request)."""
    return Counter(delivery.to for delivery in fake.deliveries())
