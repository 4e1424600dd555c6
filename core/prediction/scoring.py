"""Per-member predictions from fitted models, lifetime value, and the reasons behind them."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.prediction.bgnbd import BgNbd
from core.prediction.gamma_gamma import GammaGamma
from core.prediction.rfm import SEGMENTS, RfmScores, rfm_scores
from core.prediction.summary import PurchaseSummary

FloatArray = NDArray[np.float64]

DAYS_PER_MONTH = 365.25 / 12
# Reason codes: churn risk at or above HIGH reads as a long silence, above ELEVATED as a
# member quieter than usual. Product thresholds, not model outputs.
HIGH_CHURN_RISK = 0.5
ELEVATED_CHURN_RISK = 0.2


@dataclass(frozen=True)
class MemberPredictions:
    """Arrays aligned with the summary's members; `horizon_months` applies to purchases,
    purchase probability and lifetime value."""

    ids: tuple[Hashable, ...]
    p_alive: FloatArray
    churn_risk: FloatArray
    expected_purchases: FloatArray
    p_purchase: FloatArray
    expected_value: FloatArray
    lifetime_value: FloatArray
    horizon_months: int
    rfm: RfmScores

    def __len__(self) -> int:
        return len(self.ids)


def expected_lifetime_value(
    bgnbd: BgNbd,
    expected_value: ArrayLike,
    *,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    unit_days: float,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.0,
) -> FloatArray:
    """Σ over months k = 1..H of (expected purchases in month k) × value / (1 + d)^k.

    A month is 365.25/12 days and its purchases are discounted as if paid at its end. With
    d = 0 this is just E[purchases in H months] × value. Only repeat purchases count: the
    first one has already happened.
    """
    month = DAYS_PER_MONTH / unit_days
    cumulative = [
        bgnbd.conditional_expected_purchases(k * month, x, t_x, T)
        for k in range(horizon_months + 1)
    ]
    total = np.zeros_like(cumulative[0])
    for k in range(1, horizon_months + 1):
        total += (cumulative[k] - cumulative[k - 1]) / (1.0 + monthly_discount_rate) ** k
    return np.asarray(total * np.asarray(expected_value, dtype=float), dtype=float)


def rfm_from_summary(summary: PurchaseSummary) -> RfmScores:
    """R from days since the last purchase day, F from purchase days, M from spend per day."""
    return rfm_scores(
        days_since_last=summary.recency,
        purchase_days=summary.purchase_days,
        spend_per_day=summary.total / summary.purchase_days,
    )


def predict(
    summary: PurchaseSummary,
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma | None,
    *,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.0,
) -> MemberPredictions:
    """Churn risk, expected purchases and value for every member of `summary`.

    Without a Gamma-Gamma model (too few repeat buyers to fit one) the expected value of a
    purchase falls back to the member's own mean spend per purchase day.
    """
    x, t_x, T = summary.x, summary.t_x, summary.T
    horizon = horizon_months * DAYS_PER_MONTH / summary.unit_days
    if gamma_gamma is not None:
        value = gamma_gamma.conditional_expected_value(x, summary.m)
    else:
        value = summary.total / summary.purchase_days
    p_alive = bgnbd.probability_alive(x, t_x, T)
    return MemberPredictions(
        ids=summary.ids,
        p_alive=p_alive,
        churn_risk=1.0 - p_alive,
        expected_purchases=bgnbd.conditional_expected_purchases(horizon, x, t_x, T),
        p_purchase=bgnbd.probability_of_purchase(horizon, x, t_x, T),
        expected_value=value,
        lifetime_value=expected_lifetime_value(
            bgnbd,
            value,
            x=x,
            t_x=t_x,
            T=T,
            unit_days=summary.unit_days,
            horizon_months=horizon_months,
            monthly_discount_rate=monthly_discount_rate,
        ),
        horizon_months=horizon_months,
        rfm=rfm_from_summary(summary),
    )


def reason_code(repeat_purchases: int, churn_risk: float) -> str:
    """The main driver, as a catalog key: no_repeat_yet, long_silence, quieter_than_usual
    or buying_as_usual. Churn risk is 0 for x = 0 by the model, so that case comes first."""
    if repeat_purchases == 0:
        return "no_repeat_yet"
    if churn_risk >= HIGH_CHURN_RISK:
        return "long_silence"
    if churn_risk >= ELEVATED_CHURN_RISK:
        return "quieter_than_usual"
    return "buying_as_usual"


def explain(summary: PurchaseSummary, predictions: MemberPredictions, i: int) -> dict[str, Any]:
    """The facts behind member i's churn risk and value, as data (texts come from catalogs).

    Times are in days whatever the model's unit; `typical_gap_days` is the member's mean
    time between purchase days (t_x / x), `overdue_ratio` the current silence over it.
    """
    days = summary.unit_days
    x = int(summary.x[i])
    since_last = float(summary.recency[i] * days)
    gap = float(summary.t_x[i] * days / x) if x else None
    rfm = predictions.rfm
    return {
        "reason": reason_code(x, float(predictions.churn_risk[i])),
        "segment": rfm.segments[i],
        "rfm": rfm.code(i),
        "recency_score": int(rfm.recency[i]),
        "frequency_score": int(rfm.frequency[i]),
        "monetary_score": int(rfm.monetary[i]),
        "days_since_last": round(since_last),
        "days_since_first": round(float(summary.T[i] * days)),
        "purchase_days": x + 1,
        "repeat_purchases": x,
        "typical_gap_days": _rounded(gap),
        "overdue_ratio": _rounded(since_last / gap if gap else None),
        "p_alive": _rounded(float(predictions.p_alive[i]), 3),
        "churn_risk": _rounded(float(predictions.churn_risk[i]), 3),
        "horizon_months": predictions.horizon_months,
        "p_purchase_in_horizon": _rounded(float(predictions.p_purchase[i]), 3),
        "expected_purchases": _rounded(float(predictions.expected_purchases[i]), 2),
        "average_repeat_value": _rounded(float(summary.m[i]) if x else None, 2),
        "expected_value_per_purchase": _rounded(float(predictions.expected_value[i]), 2),
        "lifetime_value": _rounded(float(predictions.lifetime_value[i]), 2),
    }


def segment_summary(predictions: MemberPredictions) -> dict[str, dict[str, float | int]]:
    """Per RFM segment (only those with members): count; mean churn risk, chance of a purchase
    and purchases within the horizon, value per purchase and lifetime value; total value."""
    names = np.asarray(predictions.rfm.segments, dtype=object)
    summary: dict[str, dict[str, float | int]] = {}
    for segment in SEGMENTS:
        rows = names == segment
        if not rows.any():
            continue
        summary[segment] = {
            "members": int(rows.sum()),
            "churn_risk": round(float(predictions.churn_risk[rows].mean()), 3),
            "p_purchase": round(float(predictions.p_purchase[rows].mean()), 3),
            "expected_purchases": round(float(predictions.expected_purchases[rows].mean()), 2),
            "expected_value": round(float(predictions.expected_value[rows].mean()), 2),
            "lifetime_value": round(float(predictions.lifetime_value[rows].mean()), 2),
            "total_lifetime_value": round(float(predictions.lifetime_value[rows].sum()), 2),
        }
    return summary


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
