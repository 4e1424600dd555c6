"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

A member's transaction values are z ~ Gamma(shape p, rate ν), so their mean spend is p/ν;
across members ν ~ Gamma(shape q, rate gamma). The population's mean spend is then
p·gamma/(q−1) (finite only for q > 1). The model is fitted on the members with x ≥ 1,
using m, the mean of their x repeat-day totals, which is Gamma(shape p·x, rate ν·x).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from core.prediction._mle import maximise

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def individual_log_likelihood(self, x: ArrayLike, m: ArrayLike) -> FloatArray:
        """ln f(m | x): Γ(px+q)/(Γ(px)Γ(q)) · γ^q · m^(px−1) · x^(px) / (γ + m·x)^(px+q)."""
        p, q, gamma = self.p, self.q, self.gamma
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        px = p * x
        return np.asarray(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(gamma + m * x),
            dtype=float,
        )

    def log_likelihood(self, x: ArrayLike, m: ArrayLike) -> float:
        return float(np.sum(self.individual_log_likelihood(x, m)))

    def conditional_expected_value(self, x: ArrayLike, m: ArrayLike) -> FloatArray:
        """E[Z | x, m] = p·(gamma + m·x)/(p·x + q − 1).

        A weighted average of the population mean p·gamma/(q−1) and the member's own m,
        the member's weight growing with x. For x = 0 (m unknown, may be NaN) it is the
        population mean.
        """
        x = np.asarray(x, dtype=float)
        m = np.where(x > 0, np.asarray(m, dtype=float), 0.0)
        return np.asarray(self.p * (self.gamma + m * x) / (self.p * x + self.q - 1), dtype=float)

    @property
    def population_mean(self) -> float:
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


@dataclass(frozen=True)
class GammaGammaFit:
    model: GammaGamma
    log_likelihood: float
    converged: bool
    standard_errors: dict[str, float]
    members: int
    message: str

    @property
    def p(self) -> float:
        return self.model.p

    @property
    def q(self) -> float:
        return self.model.q

    @property
    def gamma(self) -> float:
        return self.model.gamma

    def as_dict(self) -> dict[str, float]:
        return {**self.model.as_dict(), "log_likelihood": self.log_likelihood}


def fit_gamma_gamma(x: ArrayLike, m: ArrayLike) -> GammaGammaFit:
    """Fit p, q, gamma by maximum likelihood on the members with x ≥ 1 and m > 0.

    Other rows (x = 0, or a non-positive repeat value after refunds) carry no information
    for this model and are skipped. Starts: p = 1, q = 2 and gamma making the population
    mean equal the observed mean, then a second, more concentrated start.
    """
    all_x, all_m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    if all_x.shape != all_m.shape or all_x.ndim != 1:
        raise ValueError("x and m must be one-dimensional arrays of the same length")
    keep = (all_x >= 1) & np.isfinite(all_m) & (all_m > 0)
    repeat_x, repeat_m = all_x[keep], all_m[keep]
    if repeat_x.size < 2:
        raise ValueError("the Gamma-Gamma model needs at least two members with repeat purchases")
    mean = float(np.mean(repeat_m))

    def log_likelihood(theta: FloatArray) -> float:
        return GammaGamma(*theta).log_likelihood(repeat_x, repeat_m)

    estimate = maximise(
        log_likelihood, starts=[(1.0, 2.0, mean), (5.0, 3.0, 0.4 * mean)], n=len(repeat_x)
    )
    names = ("p", "q", "gamma")
    return GammaGammaFit(
        model=GammaGamma(*estimate.values),
        log_likelihood=estimate.log_likelihood,
        converged=estimate.converged,
        standard_errors=dict(zip(names, estimate.standard_errors, strict=True)),
        members=len(repeat_x),
        message=estimate.message,
    )


def spend_frequency_correlation(x: ArrayLike, m: ArrayLike) -> float:
    """Pearson correlation of x and m over repeat buyers.

    The Gamma-Gamma model assumes spend is independent of frequency; a strong correlation
    (|ρ| above ~0.3) means its value predictions deserve less trust. NaN when undefined.
    """
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x >= 1) & np.isfinite(m)
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(m[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], m[keep])[0, 1])
