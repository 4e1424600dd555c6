"""Members drawn from the BG/NBD, Pareto/NBD and Gamma-Gamma generative models, for tests.

Parametrisation (numpy's gamma takes shape and *scale* = 1/rate):
  λ ~ Gamma(shape r, rate alpha)      -> rng.gamma(r, 1 / alpha)
  p ~ Beta(a, b)                      (BG/NBD)
  μ ~ Gamma(shape s, rate beta)       -> rng.gamma(s, 1 / beta)   (Pareto/NBD)
  ν ~ Gamma(shape q, rate gamma)      -> rng.gamma(q, 1 / gamma)
  z ~ Gamma(shape p, rate ν)          -> rng.gamma(p, 1 / ν), mean p/ν
(r, alpha, a, b from a BgNbd; p, q, gamma from a GammaGamma.)
Each member's first purchase is at time 0. While active they buy as a Poisson process of
rate λ; right after each repeat purchase they drop out with probability p (the first
purchase never ends a membership, as in the BG/NBD likelihood); under the Pareto/NBD they
die instead at τ ~ Exponential(μ), possibly before any repeat purchase. Every purchase, the
first included, has a value z.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.prediction.bgnbd import BgNbd
from core.prediction.gamma_gamma import GammaGamma
from core.prediction.pareto_nbd import ParetoNbd

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Simulation:
    """Repeat purchases of every member, flattened and ordered by (member, time).

    `member[k]`, `time[k]`, `value[k]` describe the k-th repeat purchase; `first_value` is
    each member's first (time 0) purchase value. Times are in the unit alpha was given in.
    """

    T: FloatArray
    horizon: float
    member: IntArray
    time: FloatArray
    value: FloatArray
    first_value: FloatArray
    # When the member left: BG/NBD, the purchase after which they did (inf if never);
    # Pareto/NBD, their death time τ.
    dropout_time: FloatArray
    rate: FloatArray  # each member's λ
    mean_value: FloatArray  # each member's p/ν

    def __len__(self) -> int:
        return len(self.T)

    def calibration(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(x, t_x, T, m) over each member's window [0, T]; m is NaN when x = 0."""
        n, seen = len(self), self.time <= self.T[self.member]
        x = np.bincount(self.member[seen], minlength=n).astype(float)
        t_x = np.zeros(n)
        np.maximum.at(t_x, self.member[seen], self.time[seen])
        spent = np.bincount(self.member[seen], weights=self.value[seen], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(x > 0, spent / x, np.nan)
        return x, t_x, self.T.copy(), m

    def holdout_purchases(self) -> FloatArray:
        """Repeat purchases in (T, T + horizon] per member."""
        later = (self.time > self.T[self.member]) & (
            self.time <= self.T[self.member] + self.horizon
        )
        return np.bincount(self.member[later], minlength=len(self)).astype(float)

    def alive_at_T(self) -> NDArray[np.bool_]:
        return self.dropout_time > self.T

    def purchase_records(
        self, first_purchases: list[datetime], unit_days: float
    ) -> dict[Hashable, list[tuple[datetime, float]]]:
        """Purchases as (datetime, amount) records, member i starting at first_purchases[i]."""
        records: dict[Hashable, list[tuple[datetime, float]]] = {
            i: [(first_purchases[i], float(self.first_value[i]))] for i in range(len(self))
        }
        for i, t, v in zip(self.member, self.time, self.value, strict=True):
            when = first_purchases[i] + timedelta(days=float(t) * unit_days)
            records[int(i)].append((when, float(v)))
        return records


def simulate(
    *,
    n: int,
    bgnbd: BgNbd,
    gamma_gamma: GammaGamma,
    T: ArrayLike,
    horizon: float = 0.0,
    rng: np.random.Generator,
) -> Simulation:
    """Draw n members observed for T (a scalar or one value each) plus `horizon` after it.

    Vectorised: each member's purchase count over the whole span is Poisson(λ·span) with
    times uniform on the span, and the member keeps only those up to their dropout (after
    the K-th repeat purchase, K ~ Geometric(p)).
    """
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    p, q, gamma = gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma
    window = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    span = window + horizon
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    drop = rng.beta(a, b, size=n)
    nu = rng.gamma(q, 1.0 / gamma, size=n)
    counts = rng.poisson(rate * span)
    lifetime = rng.geometric(drop)  # the repeat purchase after which the member drops out
    member = np.repeat(np.arange(n), counts)
    time = rng.uniform(0.0, span[member])
    order = np.lexsort((time, member))
    member, time = member[order], time[order]
    position = np.arange(member.size) - np.repeat(np.cumsum(counts) - counts, counts)
    kept = position < lifetime[member]
    last = kept & (position == lifetime[member] - 1)
    dropout_time = np.full(n, np.inf)
    dropout_time[member[last]] = time[last]
    member, time = member[kept], time[kept]
    return Simulation(
        T=window,
        horizon=float(horizon),
        member=member.astype(np.int64),
        time=time,
        value=rng.gamma(p, 1.0 / nu[member]),
        first_value=rng.gamma(p, 1.0 / nu),
        dropout_time=dropout_time,
        rate=rate,
        mean_value=p / nu,
    )


def simulate_pareto_nbd(
    *,
    n: int,
    pareto_nbd: ParetoNbd,
    gamma_gamma: GammaGamma,
    T: ArrayLike,
    horizon: float = 0.0,
    rng: np.random.Generator,
) -> Simulation:
    """Draw n Pareto/NBD members observed for T (a scalar or one value each) plus `horizon`.

    Vectorised: a member alive for min(τ, span) buys Poisson(λ·min(τ, span)) times, at
    times uniform on that stretch.
    """
    r, alpha, s, beta = pareto_nbd.r, pareto_nbd.alpha, pareto_nbd.s, pareto_nbd.beta
    p, q, gamma = gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma
    window = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    span = window + horizon
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    death = rng.gamma(s, 1.0 / beta, size=n)
    nu = rng.gamma(q, 1.0 / gamma, size=n)
    with np.errstate(divide="ignore"):
        lifetime = rng.standard_exponential(n) / death  # inf if μ underflowed to 0
    active = np.minimum(lifetime, span)
    counts = rng.poisson(rate * active)
    member = np.repeat(np.arange(n), counts)
    time = rng.uniform(0.0, active[member])
    order = np.lexsort((time, member))
    member, time = member[order], time[order]
    return Simulation(
        T=window,
        horizon=float(horizon),
        member=member.astype(np.int64),
        time=time,
        value=rng.gamma(p, 1.0 / nu[member]),
        first_value=rng.gamma(p, 1.0 / nu),
        dropout_time=lifetime,
        rate=rate,
        mean_value=p / nu,
    )
