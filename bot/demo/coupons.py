"""Demo members' coupons: claims within stock, limits and eligibility, redemptions at the
counter, expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.demo.context import CouponOffer
from bot.demo.data import coupon_code
from bot.demo.member import SYSTEM, MemberRecord
from bot.demo.rows import STAFF, Row

REDEEM_SHARE = 0.75  # of coupons still valid at a visit, how many get used


class CouponHolder(MemberRecord):
    """The coupon side of a member's history."""

    def decide(self, at: datetime, _: Any = None) -> None:
        """Claim a free coupon (the welcome offer most of all): the decision stage."""
        offers = [o for o in self.ctx.offers if not o.points_cost and self._claimable(o, at)]
        if offers:
            weights = [6 if offer.eligibility.new_members_days else 1 for offer in offers]
            self._claim(self.rng.choices(offers, weights)[0], at)

    def claim_after_purchase(self, at: datetime) -> None:
        """Now and then a member spends points on a reward, or takes a tier-only offer."""
        if self.rng.random() >= 0.15:
            return
        moment = at + timedelta(minutes=2)
        offers = [
            o
            for o in self.ctx.offers
            if (o.points_cost or o.eligibility.tiers) and self._claimable(o, moment)
        ]
        if offers:
            self._claim(self.rng.choice(offers), moment)

    def redeem_at_counter(self, at: datetime, amount: int, order_id: str) -> None:
        for grant, offer in self.held:
            if grant["status"] != "active" or not _valid(grant, at) or amount < offer.min_spend:
                continue
            if self.rng.random() < REDEEM_SHARE:
                grant.update(
                    status="redeemed", redeemed_at=at, redeemed_by=STAFF, redeemed_order_id=order_id
                )
                payload = {"coupon": offer.code, "grant_id": grant["id"], "order_id": order_id}
                payload |= {"order_amount": f"{amount}.00", "actor": STAFF}
                self.event("coupon_redeemed", at, payload)
            return

    def next_coupon_expiry(self) -> datetime | None:
        if not self.held:
            return None
        times = [
            grant["expires_at"]
            for grant, _ in self.held
            if grant["status"] == "active" and grant["expires_at"] is not None
        ]
        return min(times) if times else None

    def expire_coupon(self, at: datetime) -> None:
        for grant, offer in self.held:
            if grant["status"] == "active" and grant["expires_at"] == at:
                grant["status"] = "expired"
                payload = {"coupon": offer.code, "grant_id": grant["id"]}
                self.event("coupon_expired", at, payload, channel=SYSTEM)
                return

    def _claimable(self, offer: CouponOffer, at: datetime) -> bool:
        """As claim_coupon checks: offered, in stock, within the limit, eligible, affordable."""
        member, rule = self.member, offer.eligibility
        consent_at = member["consent_at"]
        stock = self.ctx.stock_left.get(offer.id)
        return (
            consent_at is not None
            and offer.offered_at(at)
            and (stock is None or stock > 0)
            and self.claims[offer.id] < offer.per_member_limit
            and (not rule.tiers or member["tier"] in rule.tiers)
            and (not rule.stages or member["stage"] in rule.stages)
            and not rule.segments  # demo members have no RFM segment yet
            and (
                rule.new_members_days is None
                or at - consent_at <= timedelta(days=rule.new_members_days)
            )
            and (not offer.points_cost or offer.points_cost <= self.wallet.spendable(at))
        )

    def _claim(self, offer: CouponOffer, at: datetime) -> None:
        grant_id = self.ctx.take_ids("coupon_grant")
        grant = self.rows.add(
            "coupon_grant",
            {
                "id": grant_id,
                "definition_id": offer.id,
                "member_id": self.id,
                "code": coupon_code(grant_id),
                "status": "active",
                "claimed_at": at,
                "expires_at": offer.expiry(at),
                "redeemed_at": None,
                "redeemed_by": None,
                "redeemed_order_id": None,
                "points_spent": offer.points_cost,
                "idempotency_key": f"claim:demo-{grant_id}",
                "campaign_id": None,
                "variant": None,
                "reminded_at": None,
            },
        )
        if offer.points_cost:
            self.wallet.debit(
                at,
                offer.points_cost,
                kind="spend",
                source="coupon",
                reason=f"coupon {offer.code}",
                key=f"coupon:claim:demo-{grant_id}",
                actor="member",
            )
        self.held.append((grant, offer))
        self.claims[offer.id] += 1
        self.rows.claimed[offer.id] += 1
        stock = self.ctx.stock_left.get(offer.id)
        if stock is not None:
            self.ctx.stock_left[offer.id] = stock - 1
        self.advance("decision", at)
        payload = {"coupon": offer.code, "grant_id": grant_id, "points": offer.points_cost}
        self.event("coupon_claimed", at, payload)


def _valid(grant: Row, at: datetime) -> bool:
    expires = grant["expires_at"]
    return grant["claimed_at"] <= at and (expires is None or at < expires)
