"""Texts from the catalogs (bot/locales/<locale>/*.toml); numbers, money and dates by locale."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal

from core.kernel import as_utc
from core.programme import Text, pick_text

LOCALES = ("zh-TW", "en")
DEFAULT_LOCALE = "zh-TW"
CATALOG_DIR = Path(__file__).parent / "locales"
_BABEL = {"zh-TW": "zh_Hant_TW", "en": "en_US"}


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat catalog for a locale, from every bot/locales/<locale>/*.toml file; nested
    tables become dotted keys. A key defined in two files is an error."""
    merged: dict[str, str] = {}
    for path in sorted((CATALOG_DIR / locale).glob("*.toml")):
        with open(path, "rb") as handle:
            for key, value in _flatten(tomllib.load(handle)):
                if key in merged:
                    raise ValueError(f"catalog key {key!r} is defined twice ({path.name})")
                merged[key] = value
    return merged


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flatten(value, name + "."))
        else:
            items.append((name, str(value)))
    return items


def supported(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


class Translator:
    """Texts and formats for one member: their language, time zone and the currency."""

    def __init__(
        self, locale: str | None, *, timezone: str | ZoneInfo = "Asia/Taipei", currency: str = "TWD"
    ) -> None:
        self.locale = supported(locale)
        self.zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self.currency = currency
        self._babel = _BABEL[self.locale]

    def __call__(self, key: str, /, **params: Any) -> str:
        """The catalog text for `key` with `{placeholders}` filled; a missing key in this
        locale falls back to the default locale, so a member never sees a raw key."""
        template = catalog(self.locale).get(key) or catalog(DEFAULT_LOCALE).get(key)
        if template is None:
            raise KeyError(f"no text for {key!r} in the catalogs")
        return template.format(**params)

    def has(self, key: str) -> bool:
        return key in catalog(self.locale) or key in catalog(DEFAULT_LOCALE)

    def pick(self, text: Text | dict[str, str]) -> str:
        return pick_text(text, self.locale)

    def number(self, value: int | Decimal | float) -> str:
        return format_decimal(value, locale=self._babel)

    def money(self, amount: Decimal | int | float) -> str:
        whole = Decimal(str(amount)) == Decimal(str(amount)).to_integral_value()
        return format_currency(
            amount,
            self.currency,
            locale=self._babel,
            format="¤#,##0" if whole else None,
            currency_digits=not whole,
        )

    def date(self, value: datetime) -> str:
        return format_date(as_utc(value).astimezone(self.zone), "medium", locale=self._babel)

    def datetime(self, value: datetime) -> str:
        local = as_utc(value).astimezone(self.zone)
        return format_datetime(local, "yyyy-MM-dd HH:mm", tzinfo=self.zone, locale=self._babel)

    def countdown(self, until: datetime, now: datetime) -> str:
        """Time left, e.g. "3 天" / "5 hours"; the expired case is the caller's to word."""
        left = as_utc(until) - as_utc(now)
        if left <= timedelta(0):
            left = timedelta(0)
        return format_timedelta(left, threshold=1.5, locale=self._babel)
