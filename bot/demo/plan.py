"""Planning demo members' lives: when they found us, signed up, bought, checked in, invited.

A plan is a list of timed actions; `demo_history` replays it through the programme's rules.
Shares are tuned so the funnel reads about 100% awareness, 80% interest, 50% decision, 35%
action and 15% loyalty once recent joiners' unfinished stories are cut at now (the planned
shares are a little higher for that)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

from bot.demo.context import DemoContext
from bot.demo.data import display_name, pick_category
from core.kernel import start_of_local_day

HISTORY_DAYS = 540  # about 18 months
# Cumulative: the deepest stage planned is awareness, interest, decision, action, else loyalty.
DEPTH_SHARES = (0.19, 0.49, 0.64, 0.83)
REGULAR_SHARE = 0.06  # of loyal members
BIG_BASKET_SHARE = 0.05
# Local hours a café sees people, weighted (morning coffee, lunch, afternoon, evening).
HOURS = (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
HOUR_ODDS = tuple(accumulate((3, 8, 7, 5, 5, 9, 8, 5, 7, 6, 5, 5, 6, 4, 2)))
Action = tuple[datetime, int, str, Any]
"""(time, order within the same time, kind, details)."""


@dataclass
class Plan:
    member_id: int
    channel: str
    locale: str
    name: str
    contact_at: datetime
    signup_at: datetime | None = None
    first_purchase_at: datetime | None = None
    referrer_id: int | None = None
    wants_phone: bool = False
    birthday: date | None = None
    wants_email: bool = False
    actions: list[Action] = field(default_factory=list)

    def add(self, at: datetime, kind: str, details: Any = None, order: int = 5) -> None:
        self.actions.append((at, order, kind, details))


class Planner:
    def __init__(self, ctx: DemoContext, rng: random.Random) -> None:
        self.ctx = ctx
        self.rng = rng
        self.today = ctx.local_day(ctx.now)
        self._day_starts: dict[date, datetime] = {}

    def plan_batch(self, first_id: int, count: int) -> list[Plan]:
        """`count` plans with ids from `first_id`, in the order the members found us."""
        rng = self.rng
        days_ago = sorted(
            (int(HISTORY_DAYS * rng.random() ** 1.3) for _ in range(count)), key=lambda d: -d
        )
        plans = [self._plan(first_id + index, ago) for index, ago in enumerate(days_ago)]
        plans.sort(key=lambda plan: plan.contact_at)
        for index, plan in enumerate(plans):  # member numbers follow the order of joining
            plan.member_id = first_id + index
        self._link_referrals(plans)
        for plan in plans:
            plan.actions = [action for action in plan.actions if action[0] <= self.ctx.now]
            plan.actions.sort(key=lambda action: (action[0], action[1]))
            self._maybe_block(plan)
        return plans

    def at_hour(self, day: date) -> datetime:
        """A believable moment of a local day, at café hours. It may lie after now: what
        would happen then is cut from the plan, and so is everything after it."""
        start = self._day_starts.get(day)
        if start is None:
            start = start_of_local_day(day, self.ctx.zone).replace(tzinfo=None)
            self._day_starts[day] = start
        hour = self.rng.choices(HOURS, cum_weights=HOUR_ODDS)[0]
        return start + timedelta(hours=hour, seconds=self.rng.randrange(3600))

    def _plan(self, member_id: int, days_ago: int) -> Plan:
        rng = self.rng
        locale = "en" if rng.random() < 0.12 else "zh-TW"
        plan = Plan(
            member_id=member_id,
            channel="line" if rng.random() < 0.7 else "telegram",
            locale=locale,
            name=display_name(rng, locale),
            contact_at=self._first_contact(days_ago),
        )
        roll = rng.random()
        depth = sum(roll >= share for share in DEPTH_SHARES)
        if depth >= 1:
            self._sign_up(plan)
        if depth >= 1 and rng.random() < 0.25:
            self._checkins(plan)
        after = plan.signup_at
        if after and (depth == 2 or (depth >= 3 and rng.random() < 0.55)):
            after += timedelta(days=min(28.0, rng.expovariate(1 / 4)))
            plan.add(after, "decide")
        if after and depth >= 3:
            self._purchases(plan, after, repeat=depth == 4)
        return plan

    def _sign_up(self, plan: Plan) -> None:
        rng = self.rng
        delay = rng.uniform(60, 1800) if rng.random() < 0.8 else rng.expovariate(1 / 3) * 86400
        plan.signup_at = plan.contact_at + timedelta(seconds=delay)
        plan.add(plan.signup_at, "signup", order=0)
        plan.wants_phone = rng.random() < 0.35
        if rng.random() < 0.6:
            plan.birthday = date(rng.randint(1965, 2006), rng.randint(1, 12), rng.randint(1, 28))
        plan.wants_email = plan.locale == "en" and rng.random() < 0.3
        if rng.random() < 0.06:
            plan.add(self._between(plan.signup_at, self.ctx.now), "opt_out")

    def _purchases(self, plan: Plan, after: datetime, *, repeat: bool) -> None:
        """A first visit; for loyal members more, at their own rhythm, until they drift away.
        A few regulars come every few days, and a few buy for the office (big baskets):
        they are who reaches the upper tiers."""
        rng = self.rng
        regular = repeat and rng.random() < REGULAR_SHARE
        level = rng.lognormvariate(0, 0.35)  # how much this member spends per visit
        if repeat and rng.random() < BIG_BASKET_SHARE:
            level *= rng.uniform(2.5, 6)
        typical_gap = 5 if regular else 14
        gap_days = min(150.0, max(1.5, rng.lognormvariate(math.log(typical_gap), 0.8)))
        churn = 0.03 if regular else 0.1  # chance of not coming back after each visit
        at = self._visit(after + timedelta(days=rng.expovariate(1 / 8)))
        plan.first_purchase_at = at
        count = 0
        while at <= self.ctx.now and count < 200:
            amount = max(40, 5 * round(level * rng.lognormvariate(math.log(260), 0.45) / 5))
            plan.add(at, "purchase", (amount, pick_category(rng)), order=1)
            count += 1
            if count == 1 and rng.random() < 0.3:
                plan.add(self._visit(at + timedelta(days=1)), "survey")
            if not repeat or (count > 1 and rng.random() < churn):
                break
            wait = rng.expovariate(1 / gap_days)
            if count == 1:  # the visit that makes a loyal member: inside the loyalty window
                wait = min(wait, self.ctx.programme.funnel.loyalty_window_days * 0.9)
            at = self._visit(at + timedelta(days=max(0.3, wait)))

    def _first_contact(self, days_ago: int) -> datetime:
        moment = self.at_hour(self.today - timedelta(days=days_ago))
        return min(moment, self.ctx.now - timedelta(seconds=self.rng.randrange(60, 3600)))

    def _visit(self, after: datetime) -> datetime:
        """A café-hours moment later than `after`: that day, else the next."""
        day = self.ctx.local_day(after)
        moment = self.at_hour(day)
        return moment if moment > after else self.at_hour(day + timedelta(days=1))

    def _checkins(self, plan: Plan) -> None:
        rng = self.rng
        assert plan.signup_at is not None
        day = self.ctx.local_day(plan.signup_at) + timedelta(days=rng.randint(1, 20))
        done = 0
        for _ in range(1 + int(rng.expovariate(1 / 1.2))):
            length = 1 + int(rng.expovariate(1 / 3.5))
            for offset in range(length):
                if day + timedelta(days=offset) >= self.today or done >= 90:
                    return
                plan.add(self.at_hour(day + timedelta(days=offset)), "checkin", order=3)
                done += 1
            day += timedelta(days=length + rng.randint(2, 45))

    def _link_referrals(self, plans: list[Plan]) -> None:
        """About one in eight members who signed up came through a friend's invite; some
        members share their code a lot. A referrer signed up before the invitee."""
        rng, rule = self.rng, self.ctx.programme.referral
        sharers: list[Plan] = []
        for plan in plans:
            if plan.signup_at is None:
                continue
            if sharers and rng.random() < 0.12:
                referrer = rng.choice(sharers)
                if referrer.signup_at and referrer.signup_at < plan.signup_at:
                    self._refer(plan, referrer, "signup", plan.signup_at, rule.reward_on)
            if rng.random() < 0.1:
                sharers.append(plan)

    def _refer(self, plan: Plan, referrer: Plan, moment: str, at: datetime, reward_on: str) -> None:
        plan.referrer_id = referrer.member_id
        moments = []
        if reward_on in ("signup", "both"):
            moments.append(("signup", at))
        if reward_on in ("first_purchase", "both") and plan.first_purchase_at:
            moments.append(("purchase", plan.first_purchase_at))
        for name, when in moments:
            plan.add(when, "referral", (plan.member_id, name, "invitee"), order=2)
            referrer.add(when, "referral", (plan.member_id, name, "referrer"), order=2)

    def _maybe_block(self, plan: Plan) -> None:
        """Some who went quiet a while ago also blocked or unfollowed the bot."""
        last = plan.actions[-1][0] if plan.actions else plan.contact_at
        if self.ctx.now - last > timedelta(days=30) and self.rng.random() < 0.15:
            plan.add(self._between(last, self.ctx.now), "block")

    def _between(self, start: datetime, end: datetime) -> datetime:
        return start + (end - start) * self.rng.random()
