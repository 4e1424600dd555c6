"""Coupons over the admin API: define or update a coupon, list them, redeem a member's code."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import col, select

from bot.api.deps import AuditOnCommit, ClockDep, ProgrammeDep, ReaderDep, SessionDep, TokenDep
from bot.api.errors import ApiRoute, errors
from bot.api.schemas import NO_NUL, ApiDateTime, Money, OrderId, RequestModel, money, storable
from core.coupons import (
    MAX_VALID_DAYS,
    CouponValue,
    define_coupon,
    find_definition,
    redeem_coupon,
    remaining_stock,
)
from core.kernel import MAX_INT, InvalidInput
from core.models import CouponDefinition
from core.programme import CouponRule

router = APIRouter(tags=["coupons"], route_class=ApiRoute)

CODE = r"^[A-Za-z0-9_-]{1,64}$"
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
CodePath = Annotated[str, Path(pattern=CODE, examples=["WELCOME50"])]


class CouponDefinitionIn(CouponRule):
    """A coupon rule as in `loyalty.toml`; the code comes from the path."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "title": {"zh-TW": "新會員折50元", "en": "NT$50 off for new members"},
                    "kind": "amount_off",
                    "value": 50,
                    "min_spend": 300,
                    "stock": 500,
                    "per_member_limit": 1,
                    "valid_days": 30,
                    "eligibility": {"new_members_days": 30},
                }
            ]
        },
    )

    code: str | None = Field(  # type: ignore[assignment]
        default=None, pattern=CODE, description="Optional; if given, the path's code."
    )
    value: Count = 0
    min_spend: Count = 0
    stock: Count | None = None
    per_member_limit: Annotated[int, Field(ge=1, le=MAX_INT)] = 1
    points_cost: Count = 0
    valid_from: ApiDateTime | None = None
    valid_until: ApiDateTime | None = None
    valid_days: Annotated[int, Field(ge=1, le=MAX_VALID_DAYS)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)

    @model_validator(mode="after")
    def _bounded_audience(self) -> CouponDefinitionIn:
        days = self.eligibility.new_members_days
        if days is not None and days > MAX_VALID_DAYS:
            raise ValueError(f"eligibility.new_members_days must be at most {MAX_VALID_DAYS}")
        return self


class CouponPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "WELCOME50",
                    "title": {"zh-TW": "新會員折50元", "en": "NT$50 off for new members"},
                    "description": {},
                    "kind": "amount_off",
                    "value": 50,
                    "min_spend": 300,
                    "stock": 500,
                    "claimed": 12,
                    "remaining": 488,
                    "per_member_limit": 1,
                    "valid_from": None,
                    "valid_until": None,
                    "valid_days": 30,
                    "points_cost": 0,
                    "eligibility": {"new_members_days": 30},
                    "active": True,
                    "source": "api",
                    "created_at": "2026-03-02T02:00:00Z",
                    "updated_at": "2026-03-02T02:00:00Z",
                }
            ]
        }
    )

    code: str
    title: dict[str, str] = Field(description="Per locale; `*` is the text for every locale.")
    description: dict[str, str]
    kind: str
    value: int
    min_spend: int
    stock: int | None = Field(description="null: unlimited.")
    claimed: int
    remaining: int | None
    per_member_limit: int
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    points_cost: int
    eligibility: dict[str, Any]
    active: bool
    source: str = Field(description="`config` (loyalty.toml), `api` or `demo`.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: CouponDefinition) -> CouponPublic:
        return cls(
            **row.model_dump(include=set(cls.model_fields) - {"remaining"}),
            remaining=remaining_stock(row),
        )


class RedeemRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "K7QX-M2PA", "order_amount": "420", "order_id": "POS-2026-0002"}]
        },
    )

    code: str = Field(
        min_length=1, max_length=32, pattern=NO_NUL, description="The member's coupon code."
    )
    order_amount: Money | None = Field(
        default=None, description="Checked against the minimum spend when given."
    )
    order_id: OrderId | None = None
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="A retried request with the same key answers the first result.",
    )


MONEY_FIELDS = {"order_amount", "discount"}


class RedeemedCoupon(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "K7QX-M2PA",
                    "coupon_code": "WELCOME50",
                    "title": {"zh-TW": "新會員折50元"},
                    "value": {"kind": "amount_off", "value": 50, "min_spend": 300},
                    "member": "M000123",
                    "redeemed_at": "2026-03-05T04:00:00Z",
                    "redeemed_by": "api:pos",
                    "order_id": "POS-2026-0002",
                    "order_amount": "420.00",
                    "discount": "50",
                    "campaign_id": None,
                    "variant": None,
                }
            ]
        }
    )

    code: str
    coupon_code: str
    title: dict[str, str]
    value: CouponValue
    member: str
    redeemed_at: datetime
    redeemed_by: str
    order_id: str | None
    order_amount: Decimal | None
    discount: Decimal | None = Field(description="Money off the order; null for gifts.")
    campaign_id: int | None
    variant: str | None


@router.get(
    "/coupons",
    response_model=list[CouponPublic],
    summary="List coupon definitions",
    responses=errors(422),
)
def list_coupons(
    reader: ReaderDep,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones.")] = None,
) -> list[CouponPublic]:
    """Every coupon definition with its stock taken and left, oldest first."""
    query = select(CouponDefinition).order_by(col(CouponDefinition.id))
    if active is not None:
        query = query.where(CouponDefinition.active == active)
    return [CouponPublic.of(row) for row in reader.exec(query).all()]


@router.put(
    "/coupons/{code}",
    response_model=CouponPublic,
    status_code=200,
    summary="Define or update a coupon",
    responses={
        201: {"model": CouponPublic, "description": "A new coupon was defined."},
        **errors(422),
    },
)
def put_coupon(
    code: CodePath,
    body: CouponDefinitionIn,
    session: SessionDep,
    clock: ClockDep,
    caller: TokenDep,
    response: Response,
) -> CouponPublic:
    """Create the coupon with this code (201), or update it (200). Stock already claimed
    stays claimed. Coupons defined here are left alone by config syncs only if their
    code is not in `loyalty.toml`."""
    if body.code is not None and body.code != code:
        raise InvalidInput("the body's code differs from the path's", code=body.code)
    try:
        rule = CouponRule.model_validate(body.model_dump(exclude={"code"}) | {"code": code})
    except ValidationError as exc:  # cannot happen after the body's own checks; be safe
        raise InvalidInput(str(exc.errors()[0]["msg"])) from None
    AuditOnCommit(session, clock=clock, caller=caller, action="coupon.define", target=code)
    result = define_coupon(session, clock=clock, rule=rule, source="api")
    if result.created:
        response.status_code = 201
    return CouponPublic.of(find_definition(session, code))


@router.post(
    "/coupons/redeem",
    response_model=RedeemedCoupon,
    summary="Redeem a member's coupon code",
    responses=errors(404, 409, 422),
)
def redeem(
    body: RedeemRequest,
    session: SessionDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    caller: TokenDep,
) -> RedeemedCoupon:
    """Use a member's coupon code once, at the counter or online. Unknown code: 404;
    already used, expired, or below the minimum spend: 409."""
    AuditOnCommit(
        session, clock=clock, caller=caller, action="coupon.redeem", target=body.code[:32]
    )
    result = redeem_coupon(
        session,
        clock=clock,
        programme=programme,
        code=body.code,
        actor=caller.actor,
        channel="api",
        order_amount=body.order_amount,
        order_id=body.order_id,
        idempotency_key=body.idempotency_key,
    )
    return RedeemedCoupon(
        **result.model_dump(
            exclude={"grant_id", "member_id", "number", "order_amount", "discount"}
        ),
        member=result.number,
        order_amount=money(result.order_amount) if result.order_amount is not None else None,
        discount=money(result.discount) if result.discount is not None else None,
    )
