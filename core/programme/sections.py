"""The programme config (`loyalty.toml`): tiers, earn rules, coupons, surveys, automations.

Built-in defaults describe a Taiwanese retail/café programme; a file overrides any part.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

STAGES = ("awareness", "interest", "decision", "action", "loyalty")
Stage = Literal["awareness", "interest", "decision", "action", "loyalty"]
# A text per locale ({"zh-TW": "…", "en": "…"}), or one string for every locale.
Text = str | dict[str, str]


def pick_text(text: Text, locale: str, fallback: str = "zh-TW") -> str:
    """The text for `locale`, falling back to the programme language, then to any."""
    if isinstance(text, str):
        return text
    for key in (locale, locale.split("-")[0], fallback, "en"):
        if key in text:
            return text[key]
    return next(iter(text.values()), "")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(Section):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    name: Text
    threshold: Annotated[int, Field(ge=0)]
    multiplier: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(1)
    birthday_points: Annotated[int, Field(ge=0)] = 0
    benefits: list[Text] = []


class Tiers(Section):
    basis: Literal["spend", "growth"] = "spend"
    window_months: Annotated[int, Field(ge=1, le=60)] = 12
    review_warning_days: Annotated[int, Field(ge=0, le=365)] = 30
    growth_per_checkin: Annotated[int, Field(ge=0)] = 10
    growth_per_survey: Annotated[int, Field(ge=0)] = 30
    growth_per_referral: Annotated[int, Field(ge=0)] = 50
    levels: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        if self.levels[0].threshold != 0:
            raise ValueError("the first tier must have threshold 0 (every member starts there)")
        thresholds = [tier.threshold for tier in self.levels]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tier thresholds must be strictly increasing")
        codes = [tier.code for tier in self.levels]
        if len(codes) != len(set(codes)):
            raise ValueError("tier codes must be unique")
        return self

    def by_code(self, code: str) -> Tier:
        for tier in self.levels:
            if tier.code == code:
                return tier
        return self.levels[0]

    def for_value(self, value: int) -> Tier:
        """The highest tier whose threshold `value` reaches."""
        reached = self.levels[0]
        for tier in self.levels:
            if value >= tier.threshold:
                reached = tier
        return reached

    def next_after(self, code: str) -> Tier | None:
        codes = [tier.code for tier in self.levels]
        index = codes.index(code) if code in codes else 0
        return self.levels[index + 1] if index + 1 < len(self.levels) else None

    def rank(self, code: str) -> int:
        codes = [tier.code for tier in self.levels]
        return codes.index(code) if code in codes else 0


class Earn(Section):
    points_per_unit: Annotated[Decimal, Field(gt=0, le=1000)] = Decimal(1)
    """Points per one unit of currency spent (1 point per NT$1 by default)."""
    min_amount: Annotated[int, Field(ge=0)] = 0
    category_multipliers: dict[str, Annotated[Decimal, Field(ge=0, le=100)]] = {}


class Expiry(Section):
    months: Annotated[int, Field(ge=0, le=120)] = 12
    """Earned points expire this many months after they were earned; 0 = never."""
    warning_days: Annotated[int, Field(ge=0, le=365)] = 30


class Caps(Section):
    activity_points_per_day: Annotated[int, Field(ge=0)] = 200
    """Points a member can earn per local day from check-ins, referrals and surveys together."""


class Promotion(Section):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    name: Text
    multiplier: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(2)
    days_of_month: list[Annotated[int, Field(ge=1, le=31)]] = []
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = []
    """0 = Monday … 6 = Sunday."""
    starts: date | None = None
    ends: date | None = None
    tiers: list[str] = []

    def applies(self, local_day: date, tier: str) -> bool:
        if self.starts and local_day < self.starts:
            return False
        if self.ends and local_day > self.ends:
            return False
        if self.tiers and tier not in self.tiers:
            return False
        if self.days_of_month and local_day.day not in self.days_of_month:
            return False
        return not (self.weekdays and local_day.weekday() not in self.weekdays)


class CheckinRule(Section):
    points: Annotated[int, Field(ge=0)] = 5
    streak_bonus_every: Annotated[int, Field(ge=0)] = 7
    streak_bonus_points: Annotated[int, Field(ge=0)] = 30


class ReferralRule(Section):
    referrer_points: Annotated[int, Field(ge=0)] = 100
    invitee_points: Annotated[int, Field(ge=0)] = 50
    reward_on: Literal["signup", "first_purchase", "both"] = "signup"


class FunnelRule(Section):
    loyalty_window_days: Annotated[int, Field(ge=1)] = 180
    at_risk_days: Annotated[int, Field(ge=1)] = 60
    lapsed_days: Annotated[int, Field(ge=1)] = 180

    @model_validator(mode="after")
    def _ordered(self) -> FunnelRule:
        if self.lapsed_days <= self.at_risk_days:
            raise ValueError("lapsed_days must be greater than at_risk_days")
        return self


class Eligibility(Section):
    tiers: list[str] = []
    stages: list[Stage] = []
    segments: list[str] = []
    new_members_days: Annotated[int, Field(ge=1)] | None = None
    """Only members who signed up within this many days."""


class CouponRule(Section):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    title: Text
    description: Text = ""
    kind: Literal["amount_off", "percent_off", "spend_save", "free_item", "gift"]
    value: Annotated[int, Field(ge=0)] = 0
    min_spend: Annotated[int, Field(ge=0)] = 0
    stock: Annotated[int, Field(ge=0)] | None = None
    per_member_limit: Annotated[int, Field(ge=1)] = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: Annotated[int, Field(ge=1)] | None = None
    points_cost: Annotated[int, Field(ge=0)] = 0
    eligibility: Eligibility = Eligibility()
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> CouponRule:
        if self.kind == "percent_off" and not 1 <= self.value <= 100:
            raise ValueError("a percent_off coupon needs a value between 1 and 100")
        if self.kind in ("amount_off", "spend_save") and self.value <= 0:
            raise ValueError(f"a {self.kind} coupon needs a positive value")
        if self.kind == "spend_save" and self.min_spend <= self.value:
            raise ValueError("a spend_save coupon needs min_spend greater than its value")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class Question(Section):
    key: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    kind: Literal["nps", "rating", "choice", "text"]
    text: Text
    choices: list[Text] = []
    required: bool = False

    @model_validator(mode="after")
    def _choices(self) -> Question:
        if self.kind == "choice" and len(self.choices) < 2:
            raise ValueError("a choice question needs at least two choices")
        if self.kind != "choice" and self.choices:
            raise ValueError(f"a {self.kind} question takes no choices")
        return self


class SurveyRule(Section):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    title: Text
    reward_points: Annotated[int, Field(ge=0)] = 0
    questions: list[Question] = Field(min_length=1)
    active: bool = True


AutomationKind = Literal[
    "welcome",
    "interest_nudge",
    "coupon_expiry_reminder",
    "post_purchase",
    "birthday",
    "member_day",
    "win_back",
    "tier_downgrade_warning",
]


class Automation(Section):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    kind: AutomationKind
    enabled: bool = True
    stage: Stage | None = None
    """The funnel stage the offer aims at (for reporting)."""
    delay_days: Annotated[int, Field(ge=0)] = 0
    period_days: Annotated[int, Field(ge=1)] = 365
    """At most once per member per this many days."""
    coupon: str | None = None
    survey: str | None = None
    message: Text = ""
    send_at: time = time(10, 0)
    """Local time of day the automation runs."""


class QuietHours(Section):
    start: time = time(21, 0)
    end: time = time(9, 0)


class FrequencyCap(Section):
    max_messages: Annotated[int, Field(ge=0)] = 2
    per_days: Annotated[int, Field(ge=1)] = 7


class Consent(Section):
    version: Annotated[str, Field(min_length=1, max_length=32)] = "2026-01"
