"""The whole programme (`loyalty.toml`): every section, with the built-in defaults where the
file says nothing, and the checks that span sections (codes unique, references known)."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from core.programme import defaults
from core.programme.sections import (
    Automation,
    Caps,
    CheckinRule,
    Consent,
    CouponRule,
    Earn,
    Expiry,
    FrequencyCap,
    FunnelRule,
    Promotion,
    QuietHours,
    ReferralRule,
    Section,
    SurveyRule,
    Text,
    Tiers,
)


class Programme(Section):
    name: Text = {"zh-TW": "會員中心", "en": "Members' Club"}
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "TWD"
    timezone: str = "Asia/Taipei"
    """Set from LOYALTY_TIMEZONE: the programme's days (check-ins, member day, stats)."""
    locale: Literal["zh-TW", "en"] = "zh-TW"
    """Set from LOYALTY_LOCALE: the language of members who have not chosen one."""
    earn: Earn = Earn()
    expiry: Expiry = Expiry()
    pending_days: Annotated[int, Field(ge=0, le=365)] = 0
    caps: Caps = Caps()
    tiers: Tiers = Field(default_factory=defaults.tiers)
    promotions: list[Promotion] = Field(default_factory=defaults.promotions)
    checkin: CheckinRule = CheckinRule()
    referral: ReferralRule = ReferralRule()
    funnel: FunnelRule = FunnelRule()
    consent: Consent = Consent()
    coupons: list[CouponRule] = Field(default_factory=defaults.coupons)
    surveys: list[SurveyRule] = Field(default_factory=defaults.surveys)
    automations: list[Automation] = Field(default_factory=defaults.automations)
    quiet_hours: QuietHours = QuietHours()
    frequency_cap: FrequencyCap = FrequencyCap()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _references(self) -> Programme:
        tier_codes = {tier.code for tier in self.tiers.levels}
        coupon_codes = [coupon.code for coupon in self.coupons]
        survey_codes = [survey.code for survey in self.surveys]
        if len(coupon_codes) != len(set(coupon_codes)):
            raise ValueError("coupons: codes must be unique")
        if len(survey_codes) != len(set(survey_codes)):
            raise ValueError("surveys: codes must be unique")
        for coupon in self.coupons:
            unknown = set(coupon.eligibility.tiers) - tier_codes
            if unknown:
                raise ValueError(f"coupon {coupon.code}: unknown tiers {sorted(unknown)}")
        for promotion in self.promotions:
            unknown = set(promotion.tiers) - tier_codes
            if unknown:
                raise ValueError(f"promotion {promotion.code}: unknown tiers {sorted(unknown)}")
        for automation in self.automations:
            if automation.coupon and automation.coupon not in coupon_codes:
                raise ValueError(
                    f"automation {automation.code}: unknown coupon {automation.coupon!r}"
                )
            if automation.survey and automation.survey not in survey_codes:
                raise ValueError(
                    f"automation {automation.code}: unknown survey {automation.survey!r}"
                )
        return self

    def coupon(self, code: str) -> CouponRule | None:
        return next((coupon for coupon in self.coupons if coupon.code == code), None)

    def survey(self, code: str) -> SurveyRule | None:
        return next((survey for survey in self.surveys if survey.code == code), None)
