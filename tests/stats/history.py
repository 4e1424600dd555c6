"""Random member histories played through the real use cases with a fixed clock: first
contacts and sign-ups on several channels, enrolments with a past consent, coupon claims
and redemptions, purchases (repeats, back-dated ones, campaign-attributed ones) and
refunds, survey answers with NPS scores, check-ins, erasures, and time passing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st

from bot.app import Services, Settings
from bot.app.services import sync_programme
from core.coupons import claim_coupon, redeem_coupon
from core.kernel import Database, DomainError
from core.kernel.clock import FixedClock
from core.members import enrol_member, register_contact, sign_up
from core.models import metadata
from core.privacy import erase_member
from core.programme import CouponRule, Programme
from core.purchases import record_purchase, refund_purchase
from core.rewards import check_in
from core.surveys import answer_question, start_survey
from tests.support.databases import truncate_all
from tests.support.surveys import TASTE

CHANNELS = ("telegram", "line", "console")
COUPONS = ("WELCOME50", "AGAIN", "COMEBACK100")
AGAIN = CouponRule(
    code="AGAIN",
    title={"zh-TW": "再來一次", "en": "Again"},
    kind="amount_off",
    value=10,
    per_member_limit=20,
)


def stats_programme(timezone: str) -> Programme:
    base = Programme()
    return base.model_copy(
        update={
            "timezone": timezone,
            "coupons": [*base.coupons, AGAIN],
            "surveys": [*base.surveys, TASTE],
        }
    )


def empty_database(db: Database) -> None:
    """Every table emptied, so an example's stats are its own."""
    if db.dialect == "postgresql":
        truncate_all(db.url)
        return
    with db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(sa.delete(table))


@dataclass
class World:
    db: Database
    clock: FixedClock
    programme: Programme
    members: dict[int, int] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)

    def prepare(self) -> None:
        empty_database(self.db)
        settings = Settings(database_url=self.db.url)
        sync_programme(
            Services(
                settings=settings, database=self.db, programme=self.programme, clock=self.clock
            )
        )

    def call(self, use_case: Any, **arguments: Any) -> Any:
        """One use case in its own session; a refusal (a DomainError) changes nothing."""
        with self.db.session() as session:
            try:
                return use_case(session, clock=self.clock, **arguments)
            except DomainError:
                return None

    def member(self, user: int, channel: str = "console") -> int:
        if user not in self.members:
            contact = self.call(
                register_contact,
                programme=self.programme,
                channel=channel,
                platform_user_id=f"user{user}",
            )
            self.members[user] = contact.member_id
        return self.members[user]


@dataclass(frozen=True)
class Contact:
    user: int
    channel: str

    def apply(self, world: World) -> None:
        world.member(self.user, self.channel)


@dataclass(frozen=True)
class SignUp:
    user: int
    channel: str

    def apply(self, world: World) -> None:
        member_id = world.member(self.user, self.channel)
        world.call(
            sign_up,
            programme=world.programme,
            member_id=member_id,
            consent_version=world.programme.consent.version,
            channel=self.channel,
        )


@dataclass(frozen=True)
class Enrol:
    ref: int
    consented_days_ago: int | None

    def apply(self, world: World) -> None:
        days = self.consented_days_ago
        world.call(
            enrol_member,
            programme=world.programme,
            external_ref=f"pos-{self.ref}",
            consent_version=world.programme.consent.version if days is not None else None,
            consent_at=world.clock.now() - timedelta(days=days) if days else None,
        )


@dataclass(frozen=True)
class Claim:
    user: int
    coupon: str
    campaign: int | None

    def apply(self, world: World) -> None:
        result = world.call(
            claim_coupon,
            programme=world.programme,
            member_id=world.member(self.user),
            coupon_code=self.coupon,
            channel="console",
            campaign_id=self.campaign,
            variant="B" if self.campaign else None,
        )
        if result is not None:
            world.codes.append(result.code)


@dataclass(frozen=True)
class Redeem:
    which: int

    def apply(self, world: World) -> None:
        if world.codes:
            code = world.codes[self.which % len(world.codes)]
            world.call(
                redeem_coupon,
                programme=world.programme,
                code=code,
                actor="staff",
                channel="console",
            )


@dataclass(frozen=True)
class Buy:
    user: int
    amount: int
    minutes_ago: int
    campaign: int | None

    def apply(self, world: World) -> None:
        order_id = f"order-{len(world.orders)}"
        result = world.call(
            record_purchase,
            programme=world.programme,
            member_id=world.member(self.user),
            amount=f"{self.amount / 100:.2f}",
            order_id=order_id,
            occurred_at=world.clock.now() - timedelta(minutes=self.minutes_ago),
            source="api",
            campaign_id=self.campaign,
        )
        if result is not None:
            world.orders.append(order_id)


@dataclass(frozen=True)
class Refund:
    which: int
    cents: int | None

    def apply(self, world: World) -> None:
        if world.orders:
            world.call(
                refund_purchase,
                programme=world.programme,
                order_id=world.orders[self.which % len(world.orders)],
                amount=f"{self.cents / 100:.2f}" if self.cents else None,
            )


@dataclass(frozen=True)
class Survey:
    user: int
    code: str
    answers: tuple[int | None, ...]

    def apply(self, world: World) -> None:
        member_id = world.member(self.user)
        question = world.call(
            start_survey, member_id=member_id, survey_code=self.code, channel="console"
        )
        for value in self.answers:
            if question is None:
                return
            skip = value is None and not question.required
            answer = value if value is not None else 1
            if question.kind == "text":
                answer = "fine"
            elif question.kind != "nps":
                answer = 1
            result = world.call(
                answer_question,
                programme=world.programme,
                member_id=member_id,
                survey_code=self.code,
                position=question.position,
                value=None if skip else answer,
                channel="console",
                skip=skip,
            )
            question = result.next_question if result is not None else None


@dataclass(frozen=True)
class CheckIn:
    user: int

    def apply(self, world: World) -> None:
        world.call(
            check_in, programme=world.programme, member_id=world.member(self.user), channel="line"
        )


@dataclass(frozen=True)
class Erase:
    user: int

    def apply(self, world: World) -> None:
        if self.user in world.members:
            world.call(erase_member, member_id=world.members[self.user], actor="staff")


@dataclass(frozen=True)
class Wait:
    hours: int

    def apply(self, world: World) -> None:
        world.clock.advance(hours=self.hours)


DAY = 24 * 60
# Back-dated purchases (an import): around the 30- and 90-day retention boundaries too.
BACK_DATED = [0, 3 * DAY, 30 * DAY - 1, 30 * DAY, 30 * DAY + 1, 45 * DAY, 90 * DAY, 90 * DAY + 1]
users = st.integers(0, 5)
campaigns = st.one_of(st.none(), st.integers(1, 2))
buys = st.builds(Buy, users, st.integers(100, 90_000), st.just(0), st.none())
OPERATIONS = st.one_of(
    st.builds(Contact, users, st.sampled_from(CHANNELS)),
    st.builds(SignUp, users, st.sampled_from(CHANNELS)),
    st.builds(SignUp, users, st.sampled_from(CHANNELS)),
    st.builds(Enrol, st.integers(0, 2), st.one_of(st.none(), st.integers(0, 40))),
    st.builds(Claim, users, st.sampled_from(COUPONS), campaigns),
    st.builds(Claim, users, st.sampled_from(COUPONS), campaigns),
    st.builds(Redeem, st.integers(0, 20)),
    st.builds(Buy, users, st.integers(100, 90_000), st.sampled_from(BACK_DATED), campaigns),
    buys,
    buys,
    buys,
    st.builds(Refund, st.integers(0, 20), st.one_of(st.none(), st.integers(1, 5_000))),
    st.builds(
        Survey,
        users,
        st.sampled_from(["nps", "taste"]),
        st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=1, max_size=4).map(tuple),
    ),
    st.builds(CheckIn, users),
    st.builds(CheckIn, users),
    st.builds(Erase, users),
    st.builds(Wait, st.sampled_from([1, 7, 20, 24 * 3, 24 * 16, 24 * 35])),
)
histories = st.lists(OPERATIONS, min_size=20, max_size=50)
