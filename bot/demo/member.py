"""What every part of a demo member's history shares: the member's row, the batch's rows,
and the rules for stages, events and tiers, as the use cases apply them."""

from __future__ import annotations

import random
from collections import Counter, deque
from datetime import datetime
from typing import Any

from bot.demo.context import CouponOffer, DemoContext
from bot.demo.plan import Plan
from bot.demo.rows import BatchRows, Row, member_row
from bot.demo.wallet import Wallet
from core.funnel import STAGE_RANK
from core.kernel import add_months
from core.programme import STAGES

SYSTEM = "system"


class MemberRecord:
    def __init__(self, ctx: DemoContext, rows: BatchRows, rng: random.Random, plan: Plan) -> None:
        self.ctx, self.rows, self.rng, self.plan = ctx, rows, rng, plan
        self.id = plan.member_id
        self.channel = plan.channel
        self.wallet = Wallet(ctx, rows.tables["ledger_entry"], self.id)
        self.rank = -1  # no stage yet
        self.window: deque[tuple[datetime, int]] = deque()
        self.last_activity: datetime | None = None
        self.held: list[tuple[Row, CouponOffer]] = []
        self.claims: Counter[int] = Counter()
        self.member = member_row(
            self.id,
            name=plan.name,
            locale=plan.locale,
            channel=plan.channel,
            at=plan.contact_at,
            programme=ctx.programme,
        )

    def advance(self, to: str, at: datetime) -> None:
        """Forward only; stages skipped on the way are entered at the same moment."""
        target = STAGE_RANK[to]
        if target <= self.rank:
            return
        for stage in STAGES[self.rank + 1 : target + 1]:
            self.rows.add(
                "stage_entry",
                {"member_id": self.id, "stage": stage, "channel": self.channel, "entered_at": at},
            )
        self.rank = target
        self.member["stage"], self.member["stage_at"] = to, at

    def event(
        self, type: str, at: datetime, payload: dict[str, Any] | None = None, channel: str = ""
    ) -> None:
        channel = channel or self.channel
        self.rows.add(
            "event",
            {
                "member_id": self.id,
                "channel": channel,
                "type": type,
                "stage": self.member["stage"],
                "campaign_id": None,
                "variant": None,
                "payload": payload or {},
                "created_at": at,
            },
        )
        if channel != SYSTEM:  # what the system did for the member is not their activity
            self.last_activity = at

    def qualify(self, at: datetime, amount: int, source: str) -> None:
        """Count value toward the tier (spend; activity too on a growth basis); upgrade at once."""
        tiers = self.ctx.programme.tiers
        if not amount or (source != "purchase" and tiers.basis != "growth"):
            return
        self.rows.add(
            "qualifying_entry",
            {"member_id": self.id, "amount": amount, "source": source, "created_at": at},
        )
        self.window.append((at, amount))
        reached = tiers.for_value(self._window_value(at))
        if tiers.rank(reached.code) > tiers.rank(self.member["tier"]):
            self._change_tier(reached.code, "upgrade", at, self.channel)

    def _window_value(self, at: datetime) -> int:
        start = add_months(at, -self.ctx.programme.tiers.window_months)
        while self.window and self.window[0][0] <= start:
            self.window.popleft()
        return sum(amount for _, amount in self.window)

    def review_tier(self, at: datetime) -> None:
        """The periodic tier review at the end of the tier's period."""
        tiers = self.ctx.programme.tiers
        qualified = tiers.for_value(self._window_value(at))
        if tiers.rank(qualified.code) >= tiers.rank(self.member["tier"]):
            self.member["tier_expires_at"] = add_months(at, tiers.window_months)
        else:
            self._change_tier(qualified.code, "review", at, SYSTEM)

    def _change_tier(self, to: str, reason: str, at: datetime, channel: str) -> None:
        member, tiers = self.member, self.ctx.programme.tiers
        self.tier_row(member["tier"], to, reason, at)
        kind = "tier_up" if reason == "upgrade" else "tier_down"
        self.event(kind, at, {"from": member["tier"], "to": to}, channel=channel)
        base = tiers.levels[0].code
        expires = None if to == base else add_months(at, tiers.window_months)
        member.update(tier=to, tier_since=at, tier_expires_at=expires, tier_warned_at=None)

    def tier_row(self, before: str | None, to: str, reason: str, at: datetime) -> None:
        self.rows.add(
            "tier_change",
            {
                "member_id": self.id,
                "from_tier": before,
                "to_tier": to,
                "reason": reason,
                "created_at": at,
            },
        )
