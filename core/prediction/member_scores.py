"""Scoring every member who has bought: the churn / lifetime-value models fitted on the
purchases up to an as-of time, and each member's prediction, RFM segment and reason stored.

A plain job (session, clock, programme): `loyalty model` runs it, and the scheduler may.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from core.kernel import Clock, DomainError, InvalidInput, as_utc, commit
from core.models import Member, MemberScore, Purchase
from core.prediction.report import FittedModels, fit_models, model_report
from core.prediction.scoring import MemberPredictions, explain, predict
from core.prediction.summary import PurchaseSummary, summarise
from core.programme import Programme

# Four parameters from fewer members than this are noise; and churn is learnt only from
# members who came back, so some of them must have.
MIN_MEMBERS = 20
MIN_REPEAT_BUYERS = 5
HORIZON_MONTHS = 12
READ_BATCH = 5_000
WRITE_BATCH = 1_000


class NotEnoughPurchases(DomainError):
    """Too little purchase history to fit the models; nothing was stored."""

    code = "model.not_enough_data"


@dataclass(frozen=True)
class ScoringRun:
    """What a run fitted and stored; `report` is the `loyalty model --json` document."""

    as_of: datetime
    models: FittedModels
    predictions: MemberPredictions
    report: dict[str, Any]

    @property
    def scored(self) -> int:
        return len(self.predictions)


def score_members(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    as_of: datetime | None = None,
    horizon_months: int = HORIZON_MONTHS,
) -> ScoringRun:
    """Fit BG/NBD (and Gamma-Gamma when enough members bought again) on the purchases up to
    `as_of` (default now), then replace every member's score and set `Member.segment`.

    Purchases count net of refunds (a fully refunded one not at all); erased members are
    left out and keep no score. Members who had not bought by `as_of` get no score and no
    segment. Raises NotEnoughPurchases, storing nothing, when the history is too thin.
    """
    now = clock.now()
    cutoff = as_utc(as_of) if as_of is not None else now
    if cutoff > now:
        raise InvalidInput("the as-of time is in the future", as_of=cutoff.isoformat())
    summary = summarise(_purchases_by_member(session, cutoff), as_of=cutoff, tz=programme.zone)
    # Nothing is written before the fit: end the read so writers need not wait for it.
    session.rollback()
    _check_enough(summary)
    try:
        models = fit_models(summary)
    except (ValueError, ArithmeticError) as exc:
        raise NotEnoughPurchases(f"the models could not be fitted: {exc}") from exc
    gamma_gamma = models.gamma_gamma.model if models.gamma_gamma else None
    predictions = predict(summary, models.bgnbd.model, gamma_gamma, horizon_months=horizon_months)
    _store(session, summary, predictions, as_of=cutoff, now=now)
    commit(session)
    return ScoringRun(
        as_of=cutoff,
        models=models,
        predictions=predictions,
        report=model_report(models, predictions),
    )


def score_members_job(session: Session, *, clock: Clock, programme: Programme) -> dict[str, int]:
    """The scheduled form: score as of now; too little history yet is not a failure."""
    try:
        run = score_members(session, clock=clock, programme=programme)
    except NotEnoughPurchases:
        return {"scored": 0}
    return {"scored": run.scored}


def _purchases_by_member(
    session: Session, cutoff: datetime
) -> Iterator[tuple[int, list[tuple[datetime, float]]]]:
    """(member id, [(time, net amount)]) one member at a time, streamed in member order."""
    purchase: sa.Table = Purchase.__table__  # type: ignore[attr-defined]
    member: sa.Table = Member.__table__  # type: ignore[attr-defined]
    net = purchase.c.amount_cents - purchase.c.refunded_cents
    statement = (
        sa.select(purchase.c.member_id, purchase.c.occurred_at, net)
        .join(member, member.c.id == purchase.c.member_id)
        .where(purchase.c.occurred_at <= cutoff, net > 0, member.c.erased_at.is_(None))
        .order_by(purchase.c.member_id)
        .execution_options(yield_per=READ_BATCH)
    )
    rows = session.execute(statement)
    for member_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        yield member_id, [(at, cents / 100) for _, at, cents in group]


def _check_enough(summary: PurchaseSummary) -> None:
    members = len(summary)
    repeat_buyers = int((summary.x >= 1).sum()) if members else 0
    if members < MIN_MEMBERS or repeat_buyers < MIN_REPEAT_BUYERS:
        raise NotEnoughPurchases(
            f"the model needs purchases from at least {MIN_MEMBERS} members, "
            f"{MIN_REPEAT_BUYERS} of whom bought again on another day",
            members=members,
            repeat_buyers=repeat_buyers,
            min_members=MIN_MEMBERS,
            min_repeat_buyers=MIN_REPEAT_BUYERS,
        )


def _store(
    session: Session,
    summary: PurchaseSummary,
    predictions: MemberPredictions,
    *,
    as_of: datetime,
    now: datetime,
) -> None:
    """Replace the scores in one transaction (readers see the old run until it commits),
    then bring `Member.segment` in line with them in one set-based statement."""
    table: sa.Table = MemberScore.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(table))
    rows = (_score_row(summary, predictions, i, as_of=as_of, now=now) for i in range(len(summary)))
    while batch := list(itertools.islice(rows, WRITE_BATCH)):
        session.execute(sa.insert(table), batch)
    member: sa.Table = Member.__table__  # type: ignore[attr-defined]
    scored = sa.select(table.c.segment).where(table.c.member_id == member.c.id).scalar_subquery()
    session.execute(
        sa.update(member).where(member.c.segment.is_distinct_from(scored)).values(segment=scored)
    )


def _score_row(
    summary: PurchaseSummary,
    predictions: MemberPredictions,
    i: int,
    *,
    as_of: datetime,
    now: datetime,
) -> dict[str, Any]:
    facts = explain(summary, predictions, i)
    rfm = predictions.rfm
    return {
        "member_id": summary.ids[i],
        "as_of": as_of,
        "time_unit": summary.unit,
        "p_alive": _finite(predictions.p_alive[i]),
        "churn_risk": _finite(predictions.churn_risk[i]),
        "expected_purchases": _finite(predictions.expected_purchases[i]),
        "p_purchase": _finite(predictions.p_purchase[i]),
        "expected_value": _finite(predictions.expected_value[i]),
        "lifetime_value": _finite(predictions.lifetime_value[i]),
        "horizon_months": predictions.horizon_months,
        "recency_score": int(rfm.recency[i]),
        "frequency_score": int(rfm.frequency[i]),
        "monetary_score": int(rfm.monetary[i]),
        "segment": rfm.segments[i],
        "reason": facts["reason"],
        "facts": {key: _json_value(value) for key, value in facts.items()},
        "scored_at": now,
    }


def _finite(value: float | np.floating[Any]) -> float:
    """A stored number; a prediction that came out undefined is stored as 0, not NaN."""
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
