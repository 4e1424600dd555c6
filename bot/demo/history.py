"""Replaying a demo member's plan through the programme's rules into rows.

The rules are the use cases' own (earn rule and tier multipliers, forward-only stages with
skipped stages entered together, lots drawn down oldest first, daily activity caps, tier
upgrades over the rolling window), applied in memory so 100,000 members take seconds."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.demo.context import DemoContext
from bot.demo.coupons import CouponHolder
from bot.demo.data import DEMO_PREFIX, DEMO_TAG, phone
from bot.demo.member import SYSTEM
from bot.demo.plan import Plan
from bot.demo.rows import STAFF, BatchRows, Row, purchase_row
from bot.demo.survey import SurveyTaker
from core.purchases import earn_points


class MemberHistory(CouponHolder, SurveyTaker):
    """One member, from first contact to now."""

    def __init__(self, ctx: DemoContext, rows: BatchRows, rng: random.Random, plan: Plan) -> None:
        super().__init__(ctx, rows, rng, plan)
        self.referral: Row | None = None
        self.identity: Row = {}

    def replay(self) -> Row:
        self._contact(self.plan.contact_at)
        handlers: dict[str, Callable[[datetime, Any], None]] = {
            "signup": self._signup,
            "decide": self.decide,
            "purchase": self._purchase,
            "checkin": self._checkin,
            "survey": self.answer_survey,
            "referral": self._referral_reward,
            "opt_out": self._opt_out,
            "block": self._block,
        }
        for at, _, kind, details in self.plan.actions:
            self._catch_up(at)
            handlers[kind](at, details)
        self._catch_up(self.ctx.now)
        self._finish()
        return self.member

    # What the member did

    def _contact(self, at: datetime) -> None:
        base = self.ctx.programme.tiers.levels[0].code
        self.rows.add("member", self.member)
        self.identity = self.rows.add(
            "channel_identity",
            {
                "member_id": self.id,
                "channel": self.channel,
                "platform_user_id": f"{DEMO_PREFIX}{self.channel}-{self.id}",
                "display_name": self.plan.name,
                "language": self.plan.locale,
                "unreachable": False,
                "created_at": at,
                "last_seen_at": at,
            },
        )
        self.rows.add("member_tag", {"member_id": self.id, "tag": DEMO_TAG})
        self.tier_row(None, base, "join", at)
        self.advance("awareness", at)
        self.event("contact", at)

    def _signup(self, at: datetime, _: Any) -> None:
        plan, member = self.plan, self.member
        member["consent_version"] = self.ctx.programme.consent.version
        member["consent_at"] = at
        member["birthday"] = plan.birthday
        if plan.wants_email:
            member["email"] = f"member{self.id}@example.com"
        if plan.wants_phone:
            member["phone"] = phone(self.id)  # the batch drops it should another member have it
        if plan.referrer_id is not None:
            member["referrer_id"] = plan.referrer_id
            self.referral = self.rows.add(
                "referral",
                {
                    "invitee_id": self.id,
                    "referrer_id": plan.referrer_id,
                    "created_at": at,
                    "signup_rewarded_at": None,
                    "purchase_rewarded_at": None,
                },
            )
        self.advance("interest", at)
        self.event("signup", at, {"consent_version": member["consent_version"]})

    def _purchase(self, at: datetime, details: tuple[int, str]) -> None:
        """A sale at the counter (a coupon used with it now and then), as record_purchase."""
        amount, category = details
        member = self.member
        previous = member["last_purchase_at"]
        if previous is not None:
            self._note_risk(previous, at)
        purchase_id = self.ctx.take_ids("purchase")
        order_id = f"DEMO-{purchase_id:08d}"
        self.redeem_at_counter(at, amount, order_id)
        points = self._earn(at, amount, category, purchase_id, order_id)
        member["purchase_count"] += 1
        member["spent_cents"] += amount * 100
        member["first_purchase_at"] = member["first_purchase_at"] or at
        member["last_purchase_at"] = at
        member["risk"] = "active"
        window = timedelta(days=self.ctx.programme.funnel.loyalty_window_days)
        self.advance("loyalty" if previous and at - previous <= window else "action", at)
        payload = {"order_id": order_id, "amount": f"{amount}.00", "points": points}
        self.event("purchase", at, payload)
        self.qualify(at, amount, "purchase")
        self.claim_after_purchase(at)

    def _earn(
        self, at: datetime, amount: int, category: str, purchase_id: int, order_id: str
    ) -> int:
        """The purchase row and its points by the earn rule at the member's tier."""
        points, _, _ = earn_points(
            amount=Decimal(amount),
            tier=self.member["tier"],
            category=category,
            day=at,
            programme=self.ctx.programme,
        )
        self.rows.add(
            "purchase",
            purchase_row(
                purchase_id,
                order_id=order_id,
                member_id=self.id,
                amount=amount,
                category=category,
                at=at,
                points=points,
            ),
        )
        if points > 0:
            self.wallet.credit(
                at,
                points,
                source="purchase",
                reason=f"purchase {order_id}",
                key=f"purchase:{order_id}",
                actor=STAFF,
                purchase_id=purchase_id,
            )
        return int(points)

    def _checkin(self, at: datetime, _: Any) -> None:
        member, rule = self.member, self.ctx.programme.checkin
        day = self.ctx.local_day(at)
        streak = (
            member["checkin_streak"] + 1
            if member["last_checkin_on"] == day - timedelta(days=1)
            else 1
        )
        bonus = (
            rule.streak_bonus_points
            if rule.streak_bonus_every and streak % rule.streak_bonus_every == 0
            else 0
        )
        points = self.wallet.activity_room(at, rule.points + bonus)
        self.rows.add(
            "checkin",
            {
                "member_id": self.id,
                "local_date": day,
                "streak": streak,
                "points": points,
                "created_at": at,
            },
        )
        if points:
            key = f"checkin:{self.id}:{day.isoformat()}"
            self.wallet.credit(at, points, source="checkin", reason=f"check-in {day}", key=key)
        member["checkin_streak"], member["last_checkin_on"] = streak, day
        self.event("checkin", at, {"day": day.isoformat(), "streak": streak, "points": points})
        self.qualify(at, self.ctx.programme.tiers.growth_per_checkin, "checkin")

    def _referral_reward(self, at: datetime, details: tuple[int, str, str]) -> None:
        invitee_id, moment, side = details
        rule = self.ctx.programme.referral
        wanted = rule.referrer_points if side == "referrer" else rule.invitee_points
        points = self.wallet.activity_room(at, wanted)
        if points:
            key = f"referral:{invitee_id}:{moment}:{side}"
            self.wallet.credit(at, points, source="referral", reason=f"referral {moment}", key=key)
        if self.referral is not None and side == "invitee":
            self.referral[f"{moment}_rewarded_at"] = at
        payload = {"side": side, "moment": moment, "points": points, "invitee_id": invitee_id}
        self.event("referral_reward", at, payload)
        if side == "referrer":
            self.qualify(at, self.ctx.programme.tiers.growth_per_referral, "referral")

    def _opt_out(self, at: datetime, _: Any) -> None:
        self.member.update(opted_out=True, opted_out_at=at)
        self.event("opted_out", at)

    def _block(self, at: datetime, _: Any) -> None:
        self.member["unreachable"] = True
        self.identity["unreachable"] = True
        self.event("blocked", at)

    def _catch_up(self, until: datetime) -> None:
        """What the scheduled jobs did up to `until`: expire points and coupons, review tiers."""
        while True:
            due = [
                (self.wallet.next_expiry(), 0),
                (self.member["tier_expires_at"], 1),
                (self.next_coupon_expiry(), 2),
            ]
            pending = [(at, job) for at, job in due if at is not None and at <= until]
            if not pending:
                return
            at, job = min(pending)
            if job == 0:
                points = self.wallet.expire_next()
                self.event("points_expired", at, {"points": points}, channel=SYSTEM)
            elif job == 1:
                self.review_tier(at)
            else:
                self.expire_coupon(at)

    def _note_risk(self, last_purchase: datetime, until: datetime) -> None:
        """What the risk job said of a buyer who had not come back by `until`."""
        rule = self.ctx.programme.funnel
        for risk, days in (("at_risk", rule.at_risk_days), ("lapsed", rule.lapsed_days)):
            moment = last_purchase + timedelta(days=days)
            if moment <= until:
                self.event(risk, moment, {"risk": risk}, channel=SYSTEM)
                self.member["risk"] = risk

    def _finish(self) -> None:
        member = self.member
        if member["last_purchase_at"] is not None:
            self._note_risk(member["last_purchase_at"], self.ctx.now)
        member["points_balance"] = self.wallet.balance
        member["points_pending"] = self.wallet.pending()
        member["points_earned_total"] = self.wallet.earned
        member["last_activity_at"] = self.last_activity
        self.identity["last_seen_at"] = self.last_activity or self.plan.contact_at
