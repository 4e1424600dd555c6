"""Request and response bodies of the admin API shared across routes, and the members' and
purchases' own. Response models list their fields, so internal columns never leak."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.models import Member
from core.purchases import MAX_AMOUNT, ORDER_ID_MAX

MEMBER_NUMBER = r"^[Mm][0-9]{1,12}$"
NO_NUL = r"^[^\x00]*$"
CENT = Decimal("0.01")
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def storable(value: Any) -> Any:
    """Refuse text neither database can store (NUL characters, lone surrogates), anywhere
    in a body, before a use case sees it: otherwise the driver fails with a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item)
    return value


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, and so is text a database cannot store."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


def money(value: Decimal) -> Decimal:
    """Money as the API shows it: always two decimals ("1000.00")."""
    return value.quantize(CENT)


def _in_range(value: datetime) -> datetime:
    """Aware UTC, within years a loyalty programme can mean (and Python can convert)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1900 and 2200")
    return value.astimezone(UTC)


ApiDateTime = Annotated[
    datetime,
    AfterValidator(_in_range),
    Field(description="ISO 8601; without an offset it is taken as UTC."),
]
Money = Annotated[
    Decimal,
    Field(
        gt=0,
        le=MAX_AMOUNT,
        decimal_places=2,
        description="A positive amount with at most two decimals, as a number or a string "
        '(`"1280.50"`).',
    ),
]
MemberNumber = Annotated[str, Field(pattern=MEMBER_NUMBER, examples=["M000123"])]
OrderId = Annotated[str, Field(min_length=1, max_length=ORDER_ID_MAX, pattern=NO_NUL)]


class MemberPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "M000123",
                    "external_ref": "POS-CUST-9",
                    "display_name": "王小明",
                    "phone": "+886912345678",
                    "email": None,
                    "birthday": "1990-05-17",
                    "locale": "zh-TW",
                    "timezone": "Asia/Taipei",
                    "source_channel": "line",
                    "signed_up": True,
                    "consent_version": "2026-01",
                    "consent_at": "2026-03-02T02:00:00Z",
                    "opted_out": False,
                    "unreachable": False,
                    "stage": "action",
                    "stage_at": "2026-03-05T04:00:00Z",
                    "risk": "active",
                    "segment": None,
                    "tier": "regular",
                    "tier_since": "2026-03-02T02:00:00Z",
                    "tier_review_at": None,
                    "points_balance": 1280,
                    "points_pending": 0,
                    "points_earned_total": 1280,
                    "purchase_count": 1,
                    "spent": "1280.00",
                    "first_purchase_at": "2026-03-05T04:00:00Z",
                    "last_purchase_at": "2026-03-05T04:00:00Z",
                    "last_activity_at": "2026-03-05T04:00:00Z",
                    "created_at": "2026-03-02T02:00:00Z",
                }
            ]
        }
    )

    number: str
    external_ref: str | None
    display_name: str | None
    phone: str | None
    email: str | None
    birthday: date | None
    locale: str
    timezone: str
    source_channel: str
    signed_up: bool
    consent_version: str | None
    consent_at: datetime | None
    opted_out: bool
    unreachable: bool
    stage: str
    stage_at: datetime
    risk: str
    segment: str | None
    tier: str
    tier_since: datetime | None
    tier_review_at: datetime | None
    points_balance: int
    points_pending: int
    points_earned_total: int
    purchase_count: int
    spent: Decimal
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    last_activity_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, member: Member) -> MemberPublic:
        return cls(
            number=member.number,
            external_ref=member.external_ref,
            display_name=member.display_name,
            phone=member.phone,
            email=member.email,
            birthday=member.birthday,
            locale=member.locale,
            timezone=member.timezone,
            source_channel=member.source_channel,
            signed_up=member.signed_up,
            consent_version=member.consent_version,
            consent_at=member.consent_at,
            opted_out=member.opted_out,
            unreachable=member.unreachable,
            stage=member.stage,
            stage_at=member.stage_at,
            risk=member.risk,
            segment=member.segment,
            tier=member.tier,
            tier_since=member.tier_since,
            tier_review_at=member.tier_expires_at,
            points_balance=member.points_balance,
            points_pending=member.points_pending,
            points_earned_total=member.points_earned_total,
            purchase_count=member.purchase_count,
            spent=money(Decimal(member.spent_cents).scaleb(-2)),
            first_purchase_at=member.first_purchase_at,
            last_purchase_at=member.last_purchase_at,
            last_activity_at=member.last_activity_at,
            created_at=member.created_at,
        )


class MemberPage(BaseModel):
    items: list[MemberPublic]
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


class ConsentGiven(RequestModel):
    version: str = Field(
        min_length=1,
        max_length=32,
        description="Must be the programme's current consent version.",
        examples=["2026-01"],
    )
    given_at: ApiDateTime | None = Field(
        default=None, description="When the customer consented; default: now."
    )


class MemberCreate(RequestModel):
    """A customer the brand's own system (POS, CRM) already knows."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_ref": "POS-CUST-9",
                    "display_name": "王小明",
                    "phone": "0912345678",
                    "locale": "zh-TW",
                    "consent": {"version": "2026-01", "given_at": "2026-03-01T10:00:00+08:00"},
                }
            ]
        },
    )

    external_ref: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="The brand's own customer reference; one member per reference.",
    )
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, pattern=r"^(zh-TW|en)$")
    consent: ConsentGiven | None = Field(
        default=None,
        description="Given when the customer agreed to the programme's terms at the brand; "
        "without it the member is known (awareness) but not signed up.",
    )


class ErasurePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": "M000123",
                    "erased_at": "2026-03-09T02:00:00Z",
                    "identities": 1,
                    "tags": 0,
                    "answers": 2,
                    "events": 14,
                }
            ]
        }
    )

    number: str
    erased_at: datetime
    identities: int = Field(description="Chat accounts whose ids were replaced by hashes.")
    tags: int
    answers: int = Field(description="Free-text survey answers blanked.")
    events: int = Field(description="Events whose personal details were removed.")
