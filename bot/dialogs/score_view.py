"""The prediction lines of the /member card: churn risk, expected value, RFM segment and
the reason, in plain words from the catalogs (bot/locales/*/scores.toml)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from bot.dialogs.admin.views import percent
from bot.i18n import Translator
from core.chat import Card
from core.models import MemberScore


def with_score(t: Translator, card: Card, score: MemberScore | None) -> Card:
    """The member card with the latest scores added; unchanged when the member has none."""
    if score is None:
        return card
    return dataclasses.replace(card, fields=card.fields + score_fields(t, score))


def score_fields(t: Translator, score: MemberScore) -> tuple[tuple[str, str], ...]:
    months = t.number(score.horizon_months)
    return (
        (t("score.churn_risk"), percent(t, score.churn_risk)),
        (
            t("score.value"),
            t(
                "score.value_text",
                per_purchase=_money(t, score.expected_value),
                lifetime=_money(t, score.lifetime_value),
                months=months,
            ),
        ),
        (
            t("score.segment"),
            t(
                "score.segment_text",
                segment=segment_name(t, score.segment),
                rfm=f"{score.recency_score}{score.frequency_score}{score.monetary_score}",
                date=t.date(score.as_of),
            ),
        ),
        (t("score.why"), reason(t, score)),
    )


def segment_name(t: Translator, code: str) -> str:
    """A segment's name, e.g. "at risk"; an unknown (newer) code shows as it is."""
    key = f"score.segments.{code}"
    return t(key) if t.has(key) else code


def reason(t: Translator, score: MemberScore) -> str:
    """Why the risk is what it is, from the facts stored with the score."""
    facts = score.facts
    key = f"score.reason.{score.reason}"
    if not t.has(key):
        key = "score.reason.other"
    return t(
        key,
        days=t.number(facts.get("days_since_last") or 0),
        gap=t.number(round(facts.get("typical_gap_days") or 0)),
        purchases=t.number(facts.get("purchase_days") or 0),
        chance=percent(t, float(facts.get("p_purchase_in_horizon") or 0.0)),
        months=t.number(score.horizon_months),
    )


def _money(t: Translator, value: float) -> str:
    return t.money(Decimal(str(round(value))))
