"""Points: the append-only ledger with its lots, and the use cases that spend, grant,
expire and release them.
"""

from core.points.actions import (
    PointsResult,
    adjust_points,
    expire_points,
    points_expiring,
    release_pending_points,
)
from core.points.ledger import (
    ACTIVITY_SOURCES,
    capped_activity_points,
    credit,
    debit,
    ensure_room,
    expire_due,
    expired_from_lot,
    lock_member,
    spendable,
)

__all__ = [
    "ACTIVITY_SOURCES",
    "PointsResult",
    "adjust_points",
    "capped_activity_points",
    "credit",
    "debit",
    "ensure_room",
    "expire_due",
    "expire_points",
    "expired_from_lot",
    "lock_member",
    "points_expiring",
    "release_pending_points",
    "spendable",
]
