"""Sending to chat users and members over whichever channel reaches them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.app import Services
from core.chat import Channel, Incoming, Reply, SendResult
from core.members import mark_unreachable, reaching_account

log = logging.getLogger(__name__)


class Messenger:
    def __init__(self, services: Services, channels: Mapping[str, Channel]) -> None:
        self.services = services
        self.channels = channels

    async def reply(
        self, channel: Channel, incoming: Incoming, reply: Reply, *, retry_key: str | None = None
    ) -> SendResult:
        result = await channel.send(
            incoming.address, reply, reply_token=incoming.reply_token, retry_key=retry_key
        )
        self.services.metrics.reply(channel.name, result.status)
        if result.status == "blocked":
            await asyncio.to_thread(self._unreachable, channel.name, incoming.user_id)
        return result

    async def send_to_member(
        self, member_id: int, reply: Reply, *, retry_key: str | None = None
    ) -> SendResult:
        """Push to the member on the channel they used most recently that can reach them."""
        target = await asyncio.to_thread(self._target, member_id)
        if target is None:
            self.services.metrics.send("none", "failed")
            return SendResult("failed", "no reachable chat account on a configured channel")
        channel_name, user_id = target
        channel = self.channels[channel_name]
        result = await channel.send(user_id, reply, retry_key=retry_key)
        self.services.metrics.send(channel_name, result.status)
        if result.status == "blocked":
            await asyncio.to_thread(self._unreachable, channel_name, user_id)
        return result

    def _target(self, member_id: int) -> tuple[str, str] | None:
        with self.services.database.reader() as session:
            account = reaching_account(session, member_id=member_id, channels=self.channels)
        return (account.channel, account.platform_user_id) if account else None

    def _unreachable(self, channel: str, user_id: str) -> None:
        try:
            with self.services.database.session() as session:
                mark_unreachable(
                    session, clock=self.services.clock, channel=channel, platform_user_id=user_id
                )
        except Exception:
            log.exception("could not mark %s:%s unreachable", channel, user_id)
