"""Coupons members claim and staff redeem: stock and per-member limits that hold under
any concurrency, points costs, unique codes, expiry and reminders.
"""

from core.coupons.claims import ClaimResult, claim_coupon
from core.coupons.codes import CODE_ALPHABET, CouponValue, format_code
from core.coupons.expiry import expire_coupons
from core.coupons.offers import AvailableCoupon, MemberCoupon, available_coupons, member_coupons
from core.coupons.redemption import RedeemResult, redeem_coupon
from core.coupons.rules import (
    MAX_VALID_DAYS,
    define_coupon,
    find_definition,
    remaining_stock,
    sync_coupon_definitions,
)

__all__ = [
    "AvailableCoupon",
    "CODE_ALPHABET",
    "ClaimResult",
    "CouponValue",
    "MAX_VALID_DAYS",
    "MemberCoupon",
    "RedeemResult",
    "available_coupons",
    "claim_coupon",
    "define_coupon",
    "expire_coupons",
    "find_definition",
    "format_code",
    "member_coupons",
    "redeem_coupon",
    "remaining_stock",
    "sync_coupon_definitions",
]
