"""Purchase histories drawn from the BG/NBD and Gamma-Gamma models, written straight into
the member and purchase tables (bulk inserts: thousands of members in a moment)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa

from core.models import Member, Purchase
from core.prediction.bgnbd import BgNbd
from core.prediction.gamma_gamma import GammaGamma
from core.prediction.simulate import Simulation, simulate

# Weekly CDNOW-like rates with a brand's basket: mean spend p·gamma/(q−1) = NT$500.
TRUE_BGNBD = BgNbd(r=0.24, alpha=4.41, a=0.79, b=2.43)
TRUE_SPEND = GammaGamma(p=6.0, q=4.0, gamma=250.0)


def insert_history(
    engine: sa.Engine,
    *,
    n: int,
    as_of: datetime,
    seed: int = 7,
    weeks: tuple[float, float] = (26.0, 39.0),
    bgnbd: BgNbd = TRUE_BGNBD,
    spend: GammaGamma = TRUE_SPEND,
) -> Simulation:
    """n members whose first purchase falls between `weeks` before `as_of`, buying as the
    models say until then; member i gets id i+1 and purchases `sim-<i>-<k>`."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(weeks[0], weeks[1], n)
    sim = simulate(n=n, bgnbd=bgnbd, gamma_gamma=spend, T=ages, rng=rng)
    firsts = [as_of - timedelta(weeks=float(age)) for age in ages]
    records = sim.purchase_records(firsts, 7)
    members = [_member_row(i + 1, firsts[i]) for i in range(n)]
    purchases = [
        _purchase_row(i, k, when, amount)
        for i, bought in records.items()
        for k, (when, amount) in enumerate(bought)
        if when <= as_of
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(Member.__table__), members)  # type: ignore[attr-defined]
        connection.execute(sa.insert(Purchase.__table__), purchases)  # type: ignore[attr-defined]
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('member', 'id'),"
                " (SELECT max(id) FROM member))"
            )
    return sim


def _member_row(member_id: int, first: datetime) -> dict[str, object]:
    return {
        "id": member_id,
        "external_ref": f"C{member_id:06d}",
        "locale": "en",
        "timezone": "Asia/Taipei",
        "source_channel": "import",
        "invite_code": f"SIM{member_id:05d}",
        "tier": "basic",
        "stage": "action",
        "stage_at": first,
        "created_at": first,
        "opted_out": False,
        "unreachable": False,
        "risk": "active",
        "points_balance": 0,
        "points_pending": 0,
        "points_earned_total": 0,
        "purchase_count": 0,
        "spent_cents": 0,
        "checkin_streak": 0,
    }


def _purchase_row(i: object, k: int, when: datetime, amount: float) -> dict[str, object]:
    return {
        "order_id": f"sim-{i}-{k}",
        "member_id": int(i) + 1,  # type: ignore[call-overload]
        "amount_cents": max(1, round(amount * 100)),
        "refunded_cents": 0,
        "occurred_at": when,
        "recorded_at": when,
        "points_earned": 0,
        "points_reversed": 0,
        "source": "import",
        "actor": "test",
    }
