"""The built-in programme: a Taiwanese retail/café programme (tiers 一般會員/銀卡/金卡/VIP,
1 point per NT$1, member day on the 18th, coupons, an NPS survey, the default automations).
loyalty.example.toml spells out the same values; a test keeps the two equal."""

from __future__ import annotations

from decimal import Decimal

from core.programme.sections import (
    Automation,
    CouponRule,
    Eligibility,
    Promotion,
    Question,
    SurveyRule,
    Tier,
    Tiers,
)


def tiers() -> Tiers:
    return Tiers(
        levels=[
            Tier(
                code="basic",
                name={"zh-TW": "一般會員", "en": "Member"},
                threshold=0,
                benefits=[{"zh-TW": "消費每 NT$1 累積 1 點", "en": "1 point per NT$1"}],
            ),
            Tier(
                code="silver",
                name={"zh-TW": "銀卡", "en": "Silver"},
                threshold=5_000,
                multiplier=Decimal("1.2"),
                birthday_points=100,
                benefits=[
                    {"zh-TW": "點數 1.2 倍", "en": "1.2× points"},
                    {"zh-TW": "生日禮 100 點", "en": "100 birthday points"},
                ],
            ),
            Tier(
                code="gold",
                name={"zh-TW": "金卡", "en": "Gold"},
                threshold=20_000,
                multiplier=Decimal("1.5"),
                birthday_points=300,
                benefits=[
                    {"zh-TW": "點數 1.5 倍", "en": "1.5× points"},
                    {"zh-TW": "生日禮 300 點", "en": "300 birthday points"},
                    {"zh-TW": "金卡專屬優惠券", "en": "Gold-only coupons"},
                ],
            ),
            Tier(
                code="vip",
                name={"zh-TW": "VIP", "en": "VIP"},
                threshold=60_000,
                multiplier=Decimal(2),
                birthday_points=800,
                benefits=[
                    {"zh-TW": "點數 2 倍", "en": "2× points"},
                    {"zh-TW": "生日禮 800 點", "en": "800 birthday points"},
                    {"zh-TW": "VIP 專屬優惠券", "en": "VIP-only coupons"},
                ],
            ),
        ]
    )


def promotions() -> list[Promotion]:
    return [
        Promotion(
            code="member_day",
            name={"zh-TW": "會員日點數加倍", "en": "Member day double points"},
            multiplier=Decimal(2),
            days_of_month=[18],
        ),
    ]


def coupons() -> list[CouponRule]:
    return [
        CouponRule(
            code="WELCOME50",
            title={"zh-TW": "新會員 NT$50 折價券", "en": "NT$50 off for new members"},
            kind="amount_off",
            value=50,
            min_spend=200,
            valid_days=30,
            eligibility=Eligibility(new_members_days=30),
        ),
        CouponRule(
            code="LATTE-FREE",
            title={"zh-TW": "拿鐵兌換券", "en": "Free latte"},
            kind="free_item",
            points_cost=300,
            valid_days=60,
        ),
        CouponRule(
            code="SPEND500SAVE100",
            title={"zh-TW": "滿 NT$500 折 NT$100", "en": "NT$100 off NT$500"},
            kind="spend_save",
            value=100,
            min_spend=500,
            stock=500,
            valid_days=14,
        ),
        CouponRule(
            code="GOLD15",
            title={"zh-TW": "金卡以上 85 折", "en": "15% off for Gold and VIP"},
            kind="percent_off",
            value=15,
            valid_days=30,
            eligibility=Eligibility(tiers=["gold", "vip"]),
        ),
        CouponRule(
            code="COMEBACK100",
            title={"zh-TW": "好久不見 NT$100 折價券", "en": "We miss you: NT$100 off"},
            kind="amount_off",
            value=100,
            min_spend=300,
            valid_days=14,
            active=True,
        ),
    ]


def surveys() -> list[SurveyRule]:
    return [
        SurveyRule(
            code="nps",
            title={"zh-TW": "滿意度調查", "en": "How did we do?"},
            reward_points=20,
            questions=[
                Question(
                    key="recommend",
                    kind="nps",
                    required=True,
                    text={
                        "zh-TW": "您有多大可能向朋友推薦我們？(0–10)",
                        "en": "How likely are you to recommend us to a friend? (0–10)",
                    },
                ),
                Question(
                    key="visit",
                    kind="choice",
                    text={"zh-TW": "您最常什麼時候來店？", "en": "When do you usually visit?"},
                    choices=[
                        {"zh-TW": "早上", "en": "Morning"},
                        {"zh-TW": "中午", "en": "Noon"},
                        {"zh-TW": "晚上", "en": "Evening"},
                    ],
                ),
                Question(
                    key="comment",
                    kind="text",
                    text={
                        "zh-TW": "還有什麼想告訴我們的嗎？",
                        "en": "Anything else you'd like to tell us?",
                    },
                ),
            ],
        ),
    ]


def automations() -> list[Automation]:
    return [
        Automation(
            code="welcome", kind="welcome", stage="interest", coupon="WELCOME50", period_days=3650
        ),
        Automation(
            code="interest_nudge",
            kind="interest_nudge",
            stage="interest",
            delay_days=3,
            coupon="WELCOME50",
            period_days=3650,
        ),
        Automation(
            code="coupon_expiry",
            kind="coupon_expiry_reminder",
            stage="decision",
            delay_days=3,
            period_days=1,
        ),
        Automation(
            code="thank_you",
            kind="post_purchase",
            stage="action",
            delay_days=1,
            survey="nps",
            period_days=30,
        ),
        Automation(code="birthday", kind="birthday", stage="loyalty", period_days=365),
        Automation(code="member_day", kind="member_day", stage="loyalty", period_days=28),
        Automation(
            code="win_back", kind="win_back", stage="loyalty", coupon="COMEBACK100", period_days=90
        ),
        Automation(
            code="tier_warning", kind="tier_downgrade_warning", stage="loyalty", period_days=300
        ),
    ]
