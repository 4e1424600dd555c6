"""A campaign's report per variant — targeted, sent, failed, blocked, skipped by reason,
clicked, claimed, redeemed, purchased — and, for an A/B campaign, a two-proportion z-test
on its metric with a plain verdict.

Outcomes count per sent delivery: a claim, redemption or purchase attributed to the
campaign (see core.campaigns.attribution) counts when it happened within the campaign's attribution
window after that delivery was sent. Rates are per sent message.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel
from scipy.stats import norm
from sqlmodel import Session

from core.campaigns.definitions import CampaignView, get_campaign
from core.models import Delivery, Event
from core.outbox import IN_DOUBT

SIGNIFICANCE = 0.05
OUTCOME_EVENTS = {
    "coupon_claimed": "claimed",
    "coupon_redeemed": "redeemed",
    "purchase": "purchased",
}
METRIC_WORDS = {
    "clicked": "clicks",
    "claimed": "claims",
    "redeemed": "redemption",
    "purchased": "purchases",
}
_T = Delivery.__table__  # type: ignore[attr-defined]
_E = Event.__table__  # type: ignore[attr-defined]


class VariantReport(BaseModel):
    name: str
    weight: int
    targeted: int = 0
    queued: int = 0
    sending: int = 0
    sent: int = 0
    in_doubt: int = 0
    """Of `sent`: Telegram messages whose answer never came (a crash, a timeout after the
    request left); most likely delivered, and not sent again so as not to show twice."""
    failed: int = 0
    blocked: int = 0
    skipped: dict[str, int] = {}
    clicked: int = 0
    claimed: int = 0
    redeemed: int = 0
    purchased: int = 0

    def successes(self, metric: str) -> int:
        return int(getattr(self, metric))

    def rate(self, metric: str) -> float | None:
        return self.successes(metric) / self.sent if self.sent else None


class ZTest(BaseModel):
    """Two-proportion z-test with the pooled standard error, two-sided: the same as
    statsmodels' proportions_ztest([a, b], [n_a, n_b]); z > 0 when A's rate is higher."""

    z: float
    p_value: float


class Verdict(BaseModel):
    """The A/B outcome as figures; `text` says it in plain English for logs and the CLI
    (the chat renders its own words from the catalogs)."""

    kind: Literal["not_ab", "too_early", "no_difference", "winner"]
    metric: str
    winner: str | None = None
    loser: str | None = None
    rate_a: float | None = None
    rate_b: float | None = None
    p_value: float | None = None
    z: float | None = None
    text: str


class CampaignReport(BaseModel):
    campaign: CampaignView
    variants: list[VariantReport]
    verdict: Verdict


def two_proportion_z_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> ZTest | None:
    """None when a group has no trials; z = 0, p = 1 when both rates are 0 % or 100 %."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    rate_a, rate_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return ZTest(z=0.0, p_value=1.0)
    z = (rate_a - rate_b) / error
    return ZTest(z=z, p_value=float(2 * norm.sf(abs(z))))


def campaign_report(session: Session, *, campaign_id: int) -> CampaignReport:
    """The campaign's figures per variant, and its A/B verdict."""
    campaign = get_campaign(session, campaign_id)
    variants = {
        str(spec["name"]): VariantReport(name=str(spec["name"]), weight=int(spec["weight"]))
        for spec in campaign.variants
    }
    _count_statuses(session, campaign_id, variants)
    _count_outcomes(session, campaign, variants)
    report = list(variants.values())
    return CampaignReport(
        campaign=campaign, variants=report, verdict=verdict(report, campaign.metric)
    )


def _count_statuses(session: Session, campaign_id: int, variants: dict[str, VariantReport]) -> None:
    rows = session.execute(
        sa.select(
            _T.c.variant, _T.c.status, _T.c.reason, sa.func.count(), sa.func.count(_T.c.clicked_at)
        )
        .where(_T.c.campaign_id == campaign_id)
        .group_by(_T.c.variant, _T.c.status, _T.c.reason)
    )
    for name, status, reason, count, clicked in rows:
        variant = variants.setdefault(name, VariantReport(name=name, weight=0))
        variant.targeted += count
        variant.clicked += clicked
        if status == "skipped":
            variant.skipped[reason or "other"] = variant.skipped.get(reason or "other", 0) + count
        elif status in ("queued", "sending", "sent", "failed", "blocked"):
            setattr(variant, status, getattr(variant, status) + count)
            if status == "sent" and reason == IN_DOUBT:
                variant.in_doubt += count


def _count_outcomes(
    session: Session, campaign: CampaignView, variants: dict[str, VariantReport]
) -> None:
    window = timedelta(days=campaign.attribution_days)
    sends: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for member_id, variant, sent_at in session.execute(
        sa.select(_T.c.member_id, _T.c.variant, _T.c.sent_at).where(
            _T.c.campaign_id == campaign.id, _T.c.status == "sent"
        )
    ):
        sends[member_id].append((sent_at, variant))
    counted: set[tuple[int, datetime, str]] = set()
    for member_id, kind, at in session.execute(
        sa.select(_E.c.member_id, _E.c.type, _E.c.created_at).where(
            _E.c.campaign_id == campaign.id, _E.c.type.in_(list(OUTCOME_EVENTS))
        )
    ):
        metric = OUTCOME_EVENTS[kind]
        for sent_at, variant in sends.get(member_id, []):
            if not sent_at <= at <= sent_at + window or (member_id, sent_at, metric) in counted:
                continue
            counted.add((member_id, sent_at, metric))
            if variant in variants:
                report = variants[variant]
                setattr(report, metric, getattr(report, metric) + 1)


def verdict(variants: list[VariantReport], metric: str) -> Verdict:
    word = METRIC_WORDS.get(metric, metric)
    if len(variants) != 2:
        return Verdict(kind="not_ab", metric=metric, text="one variant: no A/B test")
    a, b = variants
    test = two_proportion_z_test(a.successes(metric), a.sent, b.successes(metric), b.sent)
    rate_a, rate_b = a.rate(metric), b.rate(metric)
    if test is None:
        return Verdict(
            kind="too_early", metric=metric, rate_a=rate_a, rate_b=rate_b,
            text="no significant difference yet (nothing sent to both variants)",
        )  # fmt: skip
    figures = {"metric": metric, "rate_a": rate_a, "rate_b": rate_b, "p_value": test.p_value,
               "z": test.z}  # fmt: skip
    if test.p_value >= SIGNIFICANCE or rate_a == rate_b:
        return Verdict(
            kind="no_difference",
            text=f"no significant difference yet ({_p(test.p_value)})",
            **figures,
        )
    winner, loser = (a, b) if (rate_a or 0) > (rate_b or 0) else (b, a)
    return Verdict(
        kind="winner",
        winner=winner.name,
        loser=loser.name,
        text=(
            f"{winner.name} beats {loser.name} on {word} "
            f"({_percent(winner.rate(metric))} vs {_percent(loser.rate(metric))}), "
            f"{_p(test.p_value)}"
        ),
        **figures,
    )


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2f}"
