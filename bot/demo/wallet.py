"""One demo member's points, kept as ledger rows the way core.points.ledger keeps them.

Positive entries are lots; spends and expiry draw them down oldest-expiring first, so the
member's cached balance equals both the ledger sum and what is left of the lots."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.demo.context import DemoContext
from bot.demo.rows import Row
from core.kernel import add_months
from core.points import ACTIVITY_SOURCES


class Wallet:
    def __init__(self, ctx: DemoContext, ledger: list[Row], member_id: int) -> None:
        self._ctx = ctx
        self._ledger = ledger
        self._member_id = member_id
        self._lots: list[Row] = []
        self._next_to_expire = 0
        self._activity: dict[date, int] = {}
        self.balance = 0
        self.earned = 0

    def credit(
        self,
        at: datetime,
        amount: int,
        *,
        source: str,
        reason: str,
        key: str,
        actor: str = "system",
        purchase_id: int | None = None,
    ) -> None:
        """A lot of `amount` earned points; purchase points wait out the return window."""
        programme = self._ctx.programme
        months = programme.expiry.months
        hold = programme.pending_days if source == "purchase" else 0
        available_at = at + timedelta(days=hold)
        lot = self._entry(at, amount, "earn", source, reason, actor, key)
        lot.update(
            remaining=amount,
            pending=available_at > self._ctx.now,
            available_at=available_at,
            expires_at=add_months(at, months) if months else None,
            purchase_id=purchase_id,
        )
        self._lots.append(lot)
        self.balance += amount
        self.earned += amount
        if source in ACTIVITY_SOURCES:
            day = self._ctx.local_day(at)
            self._activity[day] = self._activity.get(day, 0) + amount

    def debit(
        self,
        at: datetime,
        amount: int,
        *,
        kind: str,
        source: str,
        reason: str,
        key: str,
        actor: str,
    ) -> None:
        """Take `amount` spendable points; the caller checked `spendable` first."""
        left = amount
        for lot in self._lots:
            if lot["remaining"] and lot["available_at"] <= at:
                taken = min(lot["remaining"], left)
                lot["remaining"] -= taken
                left -= taken
                if not left:
                    break
        assert not left, "debit beyond the spendable balance"
        self._entry(at, -amount, kind, source, reason, actor, key)
        self.balance -= amount

    def spendable(self, at: datetime) -> int:
        return sum(lot["remaining"] for lot in self._lots if lot["available_at"] <= at)

    def pending(self) -> int:
        return sum(lot["remaining"] for lot in self._lots if lot["pending"])

    def activity_room(self, at: datetime, wanted: int) -> int:
        """How much of `wanted` activity points the programme's daily cap still allows."""
        day = self._ctx.local_day(at)
        room = self._ctx.programme.caps.activity_points_per_day - self._activity.get(day, 0)
        return max(0, min(wanted, room))

    def next_expiry(self) -> datetime | None:
        """When the oldest lot with points left expires (lots expire in the order earned)."""
        while self._next_to_expire < len(self._lots):
            lot = self._lots[self._next_to_expire]
            if lot["remaining"] and lot["expires_at"] is not None:
                return lot["expires_at"]  # type: ignore[no-any-return]
            self._next_to_expire += 1
        return None

    def expire_next(self) -> int:
        """Write the expiry entry of the lot `next_expiry` named, as the expiry job does."""
        lot = self._lots[self._next_to_expire]
        amount = lot["remaining"]
        lot["remaining"] = 0
        lot["pending"] = False
        self._next_to_expire += 1
        reason = f"points earned {lot['created_at']:%Y-%m-%d} expired"
        self._entry(lot["expires_at"], -amount, "expire", "expiry", reason, "system")
        self._ledger[-1]["idempotency_key"] = f"expire:{lot['id']}"
        self.balance -= amount
        return int(amount)

    def _entry(
        self,
        at: datetime,
        amount: int,
        kind: str,
        source: str,
        reason: str,
        actor: str,
        key: str = "",
    ) -> Row:
        entry = {
            "id": self._ctx.take_ids("ledger_entry"),
            "member_id": self._member_id,
            "amount": amount,
            "kind": kind,
            "source": source,
            "reason": reason[:200],
            "actor": actor,
            "idempotency_key": key,
            "remaining": 0,
            "pending": False,
            "available_at": None,
            "expires_at": None,
            "purchase_id": None,
            "created_at": at,
        }
        self._ledger.append(entry)
        return entry
