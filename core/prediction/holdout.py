"""Holdout validation: a model's predicted repeat purchases after calibration against what
members then did, in total and by calibration frequency (the papers' conditional-expectation
tables: Fader, Hardie & Lee 2005, figure 5; Schmittlein & Peterson 1994).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# (t, x, t_x, T) -> E[Y(t) | x, t_x, T], e.g. BgNbd.conditional_expected_purchases or
# ParetoNbd.expected_purchases.
ConditionalExpectation = Callable[[FloatArray, FloatArray, FloatArray, FloatArray], ArrayLike]

TOP_GROUP = 7  # the papers' last group: 7 or more repeat purchases in calibration


@dataclass(frozen=True)
class HoldoutGroup:
    """Members with `label` repeat purchases in calibration ("7+" for the last group)."""

    label: str
    members: int
    actual: float  # their repeat purchases in the holdout, in total
    predicted: float

    @property
    def mean_actual(self) -> float:
        return self.actual / self.members if self.members else float("nan")

    @property
    def mean_predicted(self) -> float:
        return self.predicted / self.members if self.members else float("nan")


@dataclass(frozen=True)
class HoldoutValidation:
    horizon: float
    members: int
    actual: float
    predicted: float
    groups: tuple[HoldoutGroup, ...]

    @property
    def relative_error(self) -> float:
        """(predicted − actual) / actual over everyone: +0.02 is 2 % too many."""
        return (self.predicted - self.actual) / self.actual if self.actual else float("nan")

    def as_dict(self) -> dict[str, object]:
        return {
            "horizon": self.horizon,
            "members": self.members,
            "actual": self.actual,
            "predicted": self.predicted,
            "relative_error": self.relative_error,
            "groups": [
                {
                    "repeat_purchases": g.label,
                    "members": g.members,
                    "actual": g.actual,
                    "predicted": g.predicted,
                    "mean_actual": g.mean_actual,
                    "mean_predicted": g.mean_predicted,
                }
                for g in self.groups
            ],
        }


def validate_holdout(
    expected: ConditionalExpectation,
    *,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    holdout_purchases: ArrayLike,
    horizon: float,
    top_group: int = TOP_GROUP,
) -> HoldoutValidation:
    """Compare `expected(horizon, x, t_x, T)` with the repeat purchases each member made in
    the `horizon` time units after the calibration end (the same unit as t_x and T).

    Groups run 0, 1, …, top_group−1 and "top_group+"; a group nobody falls in is kept
    with zero members, so tables from different models line up row by row.
    """
    x, t_x, T, actual = (np.asarray(v, dtype=float) for v in (x, t_x, T, holdout_purchases))
    if not (x.shape == t_x.shape == T.shape == actual.shape) or x.ndim != 1:
        raise ValueError("x, t_x, T and holdout_purchases must be equal-length 1-D arrays")
    if horizon <= 0 or top_group < 1:
        raise ValueError("the horizon must be positive and top_group at least 1")
    predicted = np.broadcast_to(
        np.asarray(expected(np.full_like(T, horizon), x, t_x, T), dtype=float), x.shape
    )
    group = np.minimum(x, top_group).astype(np.int64)
    size = top_group + 1
    members = np.bincount(group, minlength=size)
    actual_by_group = np.bincount(group, weights=actual, minlength=size)
    predicted_by_group = np.bincount(group, weights=predicted, minlength=size)
    labels = [str(k) for k in range(top_group)] + [f"{top_group}+"]
    return HoldoutValidation(
        horizon=float(horizon),
        members=int(x.size),
        actual=float(actual.sum()),
        predicted=float(predicted.sum()),
        groups=tuple(
            HoldoutGroup(label, int(n), float(a), float(p))
            for label, n, a, p in zip(
                labels, members, actual_by_group, predicted_by_group, strict=True
            )
        ),
    )


def predicted_cohort_purchases(
    expected_unconditional: Callable[[FloatArray], ArrayLike], *, T: ArrayLike, horizon: float
) -> float:
    """Σ E[X(T_i + horizon)] − E[X(T_i)]: the holdout's repeat purchases as forecast for the
    cohort from each member's age alone, ignoring their history (the papers' tracking plots;
    `expected_unconditional` is E[X(t)] of a new member, e.g.
    ParetoNbd.expected_purchases_unconditional or BgNbd.expected_purchases).
    """
    T = np.asarray(T, dtype=float)
    later = np.asarray(expected_unconditional(T + horizon), dtype=float)
    return float(np.sum(later - np.asarray(expected_unconditional(T), dtype=float)))
