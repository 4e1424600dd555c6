"""Maximum likelihood over positive parameters: optimise on logs, retry, standard errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeResult, minimize

LogLikelihood = Callable[[NDArray[np.float64]], float]

# exp(±12) spans 6e-6 .. 1.6e5: wide enough for any sensible parameter in days or weeks,
# narrow enough that gammaln and the power terms never overflow during a line search.
LOG_BOUND = 12.0
HESSIAN_STEP = 1e-3  # on log-parameters: a 0.1 % relative step


@dataclass(frozen=True)
class Estimate:
    values: tuple[float, ...]
    log_likelihood: float
    converged: bool
    standard_errors: tuple[float, ...]
    message: str


def maximise(log_likelihood: LogLikelihood, starts: Sequence[Sequence[float]], n: int) -> Estimate:
    """Maximise `log_likelihood` (a function of the positive parameters) from each start.

    Each start runs L-BFGS-B on the log-parameters and, should that fail, Nelder-Mead from
    the same point; the best finite optimum wins and is `converged` when its optimiser
    reported success. The objective is divided by `n` so tolerances mean the same for 50
    members as for 50,000.
    """
    scale = max(n, 1)

    def objective(log_theta: NDArray[np.float64]) -> float:
        value = log_likelihood(np.exp(log_theta))
        return -value / scale if np.isfinite(value) else np.inf

    found: list[OptimizeResult] = []
    for start in starts:
        x0 = np.log(np.asarray(start, dtype=float))
        for result in _attempts(objective, x0):
            if np.isfinite(result.fun):
                found.append(result)
            if result.success:
                break
    if not found:
        raise ArithmeticError("the likelihood is not finite anywhere the optimiser looked")
    best = min(found, key=lambda result: float(result.fun))
    succeeded = [result for result in found if result.success]
    if succeeded and min(float(r.fun) for r in succeeded) <= float(best.fun) + 1e-7:
        best = min(succeeded, key=lambda result: float(result.fun))
    fun, log_theta, converged = float(best.fun), best.x, bool(best.success)
    theta = np.exp(log_theta)
    return Estimate(
        values=tuple(float(v) for v in theta),
        log_likelihood=-fun * scale,
        converged=converged,
        standard_errors=_standard_errors(log_likelihood, log_theta),
        message=str(best.message),
    )


def _attempts(
    objective: Callable[[NDArray[np.float64]], float], x0: NDArray[np.float64]
) -> Iterator[OptimizeResult]:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
    yield minimize(objective, x0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
    yield minimize(
        objective,
        x0,
        method="Nelder-Mead",
        bounds=bounds,
        options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10},
    )


def _standard_errors(
    log_likelihood: LogLikelihood, log_theta: NDArray[np.float64]
) -> tuple[float, ...]:
    """Asymptotic standard errors from the inverse observed information.

    The Hessian is taken on log-parameters (better conditioned), then mapped back with the
    delta method: se(θ) = θ · se(log θ). NaN when the Hessian is not negative definite.
    """
    k = len(log_theta)
    hessian = _numerical_hessian(lambda v: log_likelihood(np.exp(v)), log_theta)
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return (float("nan"),) * k
    variances = np.diag(covariance)
    if not np.all(np.isfinite(variances)) or np.any(variances <= 0):
        return (float("nan"),) * k
    return tuple(float(v) for v in np.exp(log_theta) * np.sqrt(variances))


def _numerical_hessian(
    f: Callable[[NDArray[np.float64]], float], at: NDArray[np.float64]
) -> NDArray[np.float64]:
    k, h = len(at), HESSIAN_STEP
    steps = np.eye(k) * h
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            value = (
                f(at + steps[i] + steps[j])
                - f(at + steps[i] - steps[j])
                - f(at - steps[i] + steps[j])
                + f(at - steps[i] - steps[j])
            ) / (4 * h * h)
            hessian[i, j] = hessian[j, i] = value
    return hessian
