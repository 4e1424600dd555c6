"""Fitting both models on a purchase summary, and the report `loyalty model` prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.prediction.bgnbd import BgNbdFit, fit_bgnbd
from core.prediction.gamma_gamma import (
    GammaGammaFit,
    fit_gamma_gamma,
    spend_frequency_correlation,
)
from core.prediction.scoring import MemberPredictions, segment_summary
from core.prediction.summary import WEEK_THRESHOLD_DAYS, PurchaseSummary

# Below this many repeat buyers the Gamma-Gamma estimates are mostly noise (q and gamma
# trade off almost freely), so values fall back to each member's own mean spend.
MIN_REPEAT_BUYERS_FOR_VALUE = 20


@dataclass(frozen=True)
class FittedModels:
    summary: PurchaseSummary
    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    spend_frequency_correlation: float


def fit_models(summary: PurchaseSummary) -> FittedModels:
    """Fit the BG/NBD on every member and the Gamma-Gamma on the repeat buyers.

    Raises ValueError when nobody has a repeat purchase (nothing to learn churn from).
    """
    bgnbd = fit_bgnbd(summary.x, summary.t_x, summary.T)
    gamma_gamma = None
    if int(summary.repeaters.sum()) >= MIN_REPEAT_BUYERS_FOR_VALUE:
        gamma_gamma = fit_gamma_gamma(summary.x, summary.m)
    return FittedModels(
        summary=summary,
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        spend_frequency_correlation=spend_frequency_correlation(summary.x, summary.m),
    )


def model_report(models: FittedModels, predictions: MemberPredictions) -> dict[str, Any]:
    """The `loyalty model --json` document: parameters with their time unit, fit quality
    and a per-segment summary. `gamma_gamma` is null when it could not be fitted."""
    summary = models.summary
    gamma_gamma = models.gamma_gamma
    return {
        "time_unit": summary.unit,
        "bgnbd": _rounded(models.bgnbd.as_dict()),
        "gamma_gamma": _rounded(gamma_gamma.model.as_dict()) if gamma_gamma else None,
        "members": len(summary),
        "repeat_buyers": int((summary.x >= 1).sum()),
        "as_of": summary.as_of_day.isoformat(),
        "median_age_days": _median_age_days(summary),
        "week_threshold_days": WEEK_THRESHOLD_DAYS,
        "converged": {
            "bgnbd": models.bgnbd.converged,
            "gamma_gamma": gamma_gamma.converged if gamma_gamma else None,
        },
        "standard_errors": {
            "bgnbd": _rounded(models.bgnbd.standard_errors),
            "gamma_gamma": _rounded(gamma_gamma.standard_errors) if gamma_gamma else None,
        },
        "gamma_gamma_log_likelihood": round(gamma_gamma.log_likelihood, 4) if gamma_gamma else None,
        "spend_frequency_correlation": _finite_or_none(models.spend_frequency_correlation),
        "horizon_months": predictions.horizon_months,
        "segments": segment_summary(predictions),
    }


def _median_age_days(summary: PurchaseSummary) -> float | None:
    if not len(summary):
        return None
    return float(np.median(summary.T) * summary.unit_days)


def _rounded(values: dict[str, float]) -> dict[str, float | None]:
    return {key: _finite_or_none(value) for key, value in values.items()}


def _finite_or_none(value: float, digits: int = 6) -> float | None:
    return round(value, digits) if np.isfinite(value) else None
