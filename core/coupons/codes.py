"""Coupon codes members show at the counter, and a coupon's value as structured data."""

from __future__ import annotations

import secrets
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

from core.kernel import CouponCodeUnknown
from core.models import CouponDefinition
from core.programme import Text

# No 0/O or 1/I: staff type these by hand from a phone screen.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_ANY_LOCALE = "*"  # one text for every locale; pick_text falls back to any key


class CouponValue(BaseModel):
    """What a coupon is worth, for dialogs and the API to phrase in the member's language."""

    kind: str
    value: int
    min_spend: int
    pays_percent: int | None = None
    """For percent_off: the share of the price the member pays (15% off → 85, i.e. 85 折)."""


def new_code() -> str:
    """A fresh random code shown as XXXX-XXXX (32⁸ ≈ 10¹² codes, so guessing is hopeless)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    half = CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def normalise_code(text: str) -> str:
    """The stored form of a typed code: any case, with or without the dash or spaces, and
    full-width characters from a Chinese keyboard folded to ASCII.

    Raises CouponCodeUnknown when it cannot be one of our codes."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    raw = "".join(ch for ch in folded if not ch.isspace() and ch not in "-_‐‑–—")
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        raise CouponCodeUnknown("no coupon has that code", code=(text or "")[:32])
    return format_code(raw)


def stored_text(text: Text) -> dict[str, str]:
    """A config text as stored: per locale, or one text under a catch-all key."""
    if isinstance(text, str):
        return {_ANY_LOCALE: text} if text else {}
    return dict(text)


def describe_value(definition: CouponDefinition) -> CouponValue:
    pays = 100 - definition.value if definition.kind == "percent_off" else None
    return CouponValue(
        kind=definition.kind,
        value=definition.value,
        min_spend=definition.min_spend,
        pays_percent=pays,
    )


def discount_for(value: CouponValue, order_amount: Decimal) -> Decimal | None:
    """The money a coupon takes off an order; None for free items and gifts."""
    if value.kind == "amount_off":
        return min(Decimal(value.value), order_amount)
    if value.kind == "spend_save":
        return Decimal(value.value) if order_amount >= value.min_spend else Decimal(0)
    if value.kind == "percent_off":
        off = order_amount * value.value / 100
        return off.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return None
