"""Purchases and refunds: points by the earn rule, stage moves, tier upgrades,
referral rewards and reversals.
"""

from core.purchases.orders import (
    MAX_AMOUNT,
    ORDER_ID_MAX,
    PurchaseResult,
    earn_points,
    parse_amount,
    record_purchase,
    refund_purchase,
)

__all__ = [
    "MAX_AMOUNT",
    "ORDER_ID_MAX",
    "PurchaseResult",
    "earn_points",
    "parse_amount",
    "record_purchase",
    "refund_purchase",
]
