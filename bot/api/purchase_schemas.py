"""Request and response bodies of the purchase routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from bot.api.schemas import NO_NUL, ApiDateTime, Money, OrderId, RequestModel


class PurchaseCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member": "M000123",
                    "order_id": "POS-2026-0001",
                    "amount": "1280.50",
                    "occurred_at": "2026-03-05T12:00:00+08:00",
                    "category": "coffee",
                }
            ]
        },
    )

    member: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="The member number (M000123), the brand's customer reference, or phone.",
    )
    order_id: OrderId = Field(description="The brand's own order id; a purchase is kept once.")
    amount: Money
    occurred_at: ApiDateTime | None = Field(default=None, description="Default: now.")
    category: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_NUL)


class PurchaseRecorded(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "POS-2026-0001",
                    "member": "M000123",
                    "amount": "1280.50",
                    "points": 1280,
                    "pending": False,
                    "multiplier": "1",
                    "promotions": [],
                    "tier": "regular",
                    "upgraded_to": None,
                    "stage": "action",
                    "balance": 1280,
                }
            ]
        }
    )

    order_id: str
    member: str = Field(description="The member number.")
    amount: Decimal
    points: int = Field(description="Points earned by this purchase.")
    pending: bool = Field(description="Whether the points wait out the return window.")
    multiplier: Decimal
    promotions: list[str]
    tier: str
    upgraded_to: str | None
    stage: str
    balance: int = Field(description="The member's balance right after the purchase.")


class RefundCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "280.50", "refund_id": "RMA-77"}, {}]},
    )

    amount: Money | None = Field(default=None, description="Default: all that is left.")
    refund_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The brand's refund id, so a retried request refunds once. Without it, "
        "a refund is kept once per `Idempotency-Key` header, else per order and amount.",
    )


class RefundRecorded(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "POS-2026-0001",
                    "member": "M000123",
                    "amount": "1280.50",
                    "points_reversed": 1280,
                    "points_shortfall": 0,
                    "balance": 0,
                }
            ]
        }
    )

    order_id: str
    member: str
    amount: Decimal
    points_reversed: int
    points_shortfall: int = Field(
        description="Points that could not be taken back because they were already spent."
    )
    balance: int


class RefundLine(BaseModel):
    amount: Decimal
    points_reversed: int
    points_shortfall: int
    created_at: datetime


class PurchasePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "POS-2026-0001",
                    "member": "M000123",
                    "amount": "1280.50",
                    "refunded": "0.00",
                    "category": "coffee",
                    "occurred_at": "2026-03-05T04:00:00Z",
                    "recorded_at": "2026-03-05T04:00:02Z",
                    "points_earned": 1280,
                    "points_reversed": 0,
                    "source": "api",
                    "refunds": [],
                }
            ]
        }
    )

    order_id: str
    member: str
    amount: Decimal
    refunded: Decimal
    category: str | None
    occurred_at: datetime
    recorded_at: datetime
    points_earned: int
    points_reversed: int
    source: str
    refunds: list[RefundLine]
