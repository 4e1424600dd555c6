"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), as written out by Fader,
Hardie & Lee (2005, "A note on deriving the Pareto/NBD model and related expressions").

While alive, a member buys at rate λ (a Poisson process) and dies at an unseen time
τ ~ Exponential(μ), which may come before any repeat purchase: unlike the BG/NBD, a
one-time buyer can be gone. Across members λ ~ Gamma(shape r, rate alpha) and
μ ~ Gamma(shape s, rate beta), independent. alpha and beta carry the summary's time unit;
r and s are unit-free.

Everything reduces to one integral, I(t₀, t₁; a, p, b, q) = ∫ (a+u)^(−p) (b+u)^(−q) du over
[t₀, t₁]. Its tail from t is (A+t)^(−P) (B+t)^(1−Q) · ₂F₁(1, P; P+Q; z) / (P+Q−1) with
(A, P) the pair of the larger of a and b, (B, Q) the other, z = (A−B)/(A+t): Euler's
transformation of the paper's ₂F₁(P+Q−1, Q; P+Q; z), covering its two branches α ≥ β and
α < β. This ₂F₁ is a mean of 1/(1−zτ) over τ ~ Beta(P, Q), so it lies in [1, 1/(1−z)] and
its logarithm stays finite for any frequency or age.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import exprel, gammaln, hyp2f1

from core.prediction._mle import Estimate, maximise

FloatArray = NDArray[np.float64]

# scipy's hyp2f1 overflows or drifts (1e-7) when z is within 1e-3 of 1 and P is large;
# there (α/β ≥ 1000 at t = 0, mostly seen by the optimiser) the integral is used instead.
TRUSTED_DISTANCE_FROM_ONE = 1e-3
# Exp-sinh quadrature: 321 nodes, step 1/32 — ≤ 1e-8 absolute on ln ₂F₁ against mpmath
# over P ≤ 3000, Q ≤ 20, 1 − z ≥ 1e-9 (and ~1e-12 away from those extremes).
_STEPS = np.arange(-160, 161) / 32
_NODES = np.exp(np.pi / 2 * np.sinh(_STEPS))
_LOG_WEIGHTS = np.log(np.pi / 2 / 32 * np.cosh(_STEPS)) + np.pi / 2 * np.sinh(_STEPS)
_CHUNK = 20_000  # rows per quadrature block: 20,000 × 321 floats ≈ 51 MB
WARM_START_ROWS = 20_000


@dataclass(frozen=True)
class ParetoNbd:
    r: float
    alpha: float
    s: float
    beta: float

    def individual_log_likelihood(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
        """ln L_i = ln[Γ(r+x) α^r β^s / Γ(r)] + ln(e^ℓ₁ + e^ℓ₂), where

        ℓ₁ = −(r+x) ln(α+T) − s ln(β+T)   (alive at T, no purchase after t_x), and
        ℓ₂ = ln s + ln ∫_{t_x}^T (α+τ)^(−(r+x)) (β+τ)^(−(s+1)) dτ   (died at τ in (t_x, T]),
        which is the paper's s/(r+s+x) · A₀ with A₀ in its α ≥ β or α < β form.
        """
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        constant = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        return np.asarray(constant + np.logaddexp(*self._log_alive_dead(x, t_x, T)), dtype=float)

    def log_likelihood(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> float:
        return float(np.sum(self.individual_log_likelihood(x, t_x, T)))

    def probability_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(alive at T | x, t_x, T) = e^ℓ₁ / (e^ℓ₁ + e^ℓ₂).

        Below 1 for everyone observed for a while, one-time buyers (x = 0) included, and
        falling as the silence T − t_x grows.
        """
        alive, dead = self._log_alive_dead(*_arrays(x, t_x, T))
        return np.asarray(np.exp(alive - np.logaddexp(alive, dead)), dtype=float)

    def churn_risk(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
        return 1.0 - self.probability_alive(x, t_x, T)

    def expected_purchases(
        self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t time units,

        (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive),
        the bracket over (s−1) taken as ln(1+t/(β+T)) · exprel, finite through s = 1.
        """
        x, t_x, T = _arrays(x, t_x, T)
        t = np.asarray(t, dtype=float)
        log_growth = np.log1p(t / (self.beta + T))
        bracket_over_s_minus_1 = log_growth * exprel(-(self.s - 1.0) * log_growth)
        while_alive = (self.r + x) / (self.alpha + T) * (self.beta + T) * bracket_over_s_minus_1
        return np.asarray(while_alive * self.probability_alive(x, t_x, T), dtype=float)

    # The BG/NBD's name for the same quantity, so either model serves the same callers.
    conditional_expected_purchases = expected_purchases

    def expected_purchases_unconditional(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a new member: rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)]."""
        t = np.asarray(t, dtype=float)
        zero = np.zeros_like(t)
        return self.expected_purchases(t, zero, zero, zero)

    def probability_of_purchase(
        self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(at least one purchase in (T, T+t] | x, t_x, T).

        Alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T) a posteriori, and the next
        purchase comes before death at u with density E[λ e^(−(λ+μ)u)]; integrated:
        (r+x)(α+T)^(r+x) (β+T)^s ∫_T^{T+t} (α+u)^(−(r+x+1)) (β+u)^(−s) du, times P(alive).
        """
        x, t_x, T = _arrays(x, t_x, T)
        t = np.asarray(t, dtype=float)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        log_buys_if_alive = (
            np.log(r + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + _log_integral(alpha, r + x + 1, beta, s, T, T + t)
        )
        alive = self.probability_alive(x, t_x, T)
        return np.asarray(alive * np.minimum(np.exp(log_buys_if_alive), 1.0), dtype=float)

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}

    def _log_alive_dead(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """(ℓ₁, ℓ₂) of the likelihood, without the constant."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        dead = np.log(s) + _log_integral(alpha, r + x, beta, s + 1, t_x, T)
        return np.asarray(alive, dtype=float), np.asarray(dead, dtype=float)


@dataclass(frozen=True)
class ParetoNbdFit:
    """A maximum-likelihood fit; standard errors are asymptotic (inverse observed information)."""

    model: ParetoNbd
    log_likelihood: float
    converged: bool
    standard_errors: dict[str, float]
    members: int
    message: str

    @property
    def r(self) -> float:
        return self.model.r

    @property
    def alpha(self) -> float:
        return self.model.alpha

    @property
    def s(self) -> float:
        return self.model.s

    @property
    def beta(self) -> float:
        return self.model.beta

    def as_dict(self) -> dict[str, float]:
        return {**self.model.as_dict(), "log_likelihood": self.log_likelihood}


def fit_pareto_nbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> ParetoNbdFit:
    """Fit r, alpha, s, beta by maximum likelihood.

    Members with equal (x, t_x, T) share one likelihood term, weighted by their count:
    summaries on a day grid repeat a lot (every one-time buyer of a day is the same row).
    Two starts: a neutral one (r = s = 1, alpha matching the purchase rate, beta the mean
    age) and one shaped like typical retail fits (strong heterogeneity in both rates).
    Above WARM_START_ROWS distinct rows, both starts run on every k-th row (sorted by x,
    so every frequency is represented) and the full data refine that optimum only: half
    the time for the same estimate. Raises ValueError when there is nothing to fit (no
    members, or no repeat purchase).
    """
    x, t_x, T = _arrays(x, t_x, T)
    _check_summary(x, t_x, T)
    rows, counts = np.unique(np.column_stack((x, t_x, T)), axis=0, return_counts=True)
    rate = max(float(np.sum(x)) / max(float(np.sum(T)), 1e-9), 1e-9)
    age = max(float(np.mean(T)), 1e-9)
    starts: list[tuple[float, ...]] = [(1.0, 1.0 / rate, 1.0, age), (0.5, 0.5 / rate, 0.5, age / 2)]
    if len(rows) > WARM_START_ROWS:
        step = -(-len(rows) // WARM_START_ROWS)
        rough = _maximise_weighted(rows[::step], counts[::step], starts)
        starts = [rough.values]
    estimate = _maximise_weighted(rows, counts, starts)
    names = ("r", "alpha", "s", "beta")
    return ParetoNbdFit(
        model=ParetoNbd(*estimate.values),
        log_likelihood=estimate.log_likelihood,
        converged=estimate.converged,
        standard_errors=dict(zip(names, estimate.standard_errors, strict=True)),
        members=len(x),
        message=estimate.message,
    )


def _maximise_weighted(
    rows: FloatArray, counts: NDArray[np.int64], starts: list[tuple[float, ...]]
) -> Estimate:
    x, t_x, T = rows.T.copy()
    weights = counts.astype(float)

    def log_likelihood(theta: FloatArray) -> float:
        return float(weights @ ParetoNbd(*theta).individual_log_likelihood(x, t_x, T))

    return maximise(log_likelihood, starts=starts, n=int(counts.sum()))


def _log_integral(
    a: float, p: ArrayLike, b: float, q: ArrayLike, t0: ArrayLike, t1: ArrayLike
) -> FloatArray:
    """ln ∫_{t0}^{t1} (a+u)^(−p) (b+u)^(−q) du (−inf for an empty interval), p + q > 1.

    The difference of two tails, taken as ln tail(t0) + ln(1 − tail(t1)/tail(t0)): both
    are positive and tail(t1) ≤ tail(t0), so nothing cancels badly in the sum it joins.
    """
    start, end = _log_tail(a, p, b, q, t0), _log_tail(a, p, b, q, t1)
    with np.errstate(divide="ignore"):
        return np.asarray(start + _log1mexp(np.minimum(end - start, 0.0)), dtype=float)


def _log_tail(a: float, p: ArrayLike, b: float, q: ArrayLike, t: ArrayLike) -> FloatArray:
    """ln ∫_t^∞ (a+u)^(−p) (b+u)^(−q) du in the Euler form of the module docstring."""
    p, q, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, t)))
    first = a >= b
    big, power = (a, p) if first else (b, q)
    small, other = (b, q) if first else (a, p)
    log_big, log_small = np.log(big + t), np.log(small + t)
    z = (big - small) / (big + t)
    return np.asarray(
        -power * log_big
        - (other - 1) * log_small
        + _log_hyp2f1_one(power, other, z, log_small - log_big)
        - np.log(power + other - 1),
        dtype=float,
    )


def _log_hyp2f1_one(P: FloatArray, Q: FloatArray, z: FloatArray, log_eps: FloatArray) -> FloatArray:
    """ln ₂F₁(1, P; P+Q; z) for 0 ≤ z = 1 − e^log_eps < 1: scipy where it is trustworthy
    (z not too near 1, and the value finite and inside [1, 1/(1−z)]), else
    `_log_hyp2f1_one_by_quadrature`. Near 1 scipy is also slow, so it is not asked there.
    """
    shape = np.shape(z)
    P, Q, z, log_eps = (np.ravel(v).astype(float) for v in np.broadcast_arrays(P, Q, z, log_eps))
    log_value = np.full(z.shape, np.nan)
    asked = log_eps > np.log(TRUSTED_DISTANCE_FROM_ONE)
    with np.errstate(all="ignore"):
        log_value[asked] = np.log(hyp2f1(1.0, P[asked], P[asked] + Q[asked], z[asked]))
        trusted = np.isfinite(log_value) & (log_value >= 0.0) & (log_value <= 1e-12 - log_eps)
    if not np.all(trusted):
        untrusted = ~trusted
        log_value[untrusted] = _log_hyp2f1_one_by_quadrature(
            P[untrusted], Q[untrusted], log_eps[untrusted]
        )
    return log_value.reshape(shape)


def _log_hyp2f1_one_by_quadrature(P: FloatArray, Q: FloatArray, log_eps: FloatArray) -> FloatArray:
    """ln ₂F₁(1, P; P+Q; z) = (Q−1) ln ε + ln n + ln ∫_0^∞ e^(−ny) (1 − z e^(−y))^(−Q) dy,

    with ε = 1 − z and n = P+Q−1 (from ₂F₁(n, Q; n+1; z) = n ∫_0^1 v^(n−1) (1−zv)^(−Q) dv,
    v = e^(−y)). The integrand falls on two scales, 1/(n + Q/ε) near 0 and 1/n later; the
    exp-sinh rule, centred between them, resolves both and any ε down to 1e-300.
    """
    out = np.empty(P.shape)
    for block in (slice(i, i + _CHUNK) for i in range(0, P.size, _CHUNK)):
        p, q, log_e = P[block, None], Q[block, None], log_eps[block, None]
        n, eps = p + q - 1, np.exp(log_e)
        centre = np.sqrt(1.0 / (n * (n + q * -np.expm1(log_e) / eps)))
        y = centre * _NODES
        inner = eps * np.exp(-y) - np.expm1(-y)  # 1 − z e^(−y), without cancellation
        terms = -n * y - q * np.log(inner) + _LOG_WEIGHTS
        peak = terms.max(axis=1, keepdims=True)
        log_sum = peak + np.log(np.exp(terms - peak).sum(axis=1, keepdims=True))
        out[block] = ((q - 1) * log_e + np.log(n) + np.log(centre) + log_sum)[:, 0]
    return out


def _log1mexp(d: FloatArray) -> FloatArray:
    """ln(1 − e^d) for d ≤ 0, accurate at both ends (Mächler 2012)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _arrays(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[FloatArray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in (x, t_x, T))


def _check_summary(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1:
        raise ValueError("x, t_x and T must be one-dimensional arrays of the same length")
    if x.size == 0 or not np.any(x > 0):
        raise ValueError("the Pareto/NBD needs members with at least one repeat purchase")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T) or not np.all(np.isfinite(T)):
        raise ValueError("a summary needs x ≥ 0 and 0 ≤ t_x ≤ T")
