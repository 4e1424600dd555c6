"""The inbox's claims across processes: one member's updates are never taken by two
claimers at once (which would answer them out of order), however the claims race —
on both databases, with one engine per claimer as separate processes would have."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from bot.app import Services
from bot.dialogs import Dialogs
from bot.inbound import Inbox, Messenger
from core.chat import InboundItem
from core.kernel import Database

CLAIMERS = 4
USERS = 12
UPDATES_EACH = 6
ROUNDS = 5


def inbox_on(services: Services, database: Database) -> Inbox:
    own = Services(
        settings=services.settings,
        database=database,
        programme=services.programme,
        clock=services.clock,
    )
    return Inbox(own, Dialogs(own), {}, Messenger(own, {}), batch=16)


def test_racing_claims_never_split_one_members_updates(services, db):
    databases = [Database(db.url) for _ in range(CLAIMERS)]
    inboxes = [inbox_on(services, database) for database in databases]
    try:
        for round_ in range(ROUNDS):
            items = [
                InboundItem(f"{round_}-{n}-{user}", {"n": n}, user_key=f"telegram:{user}")
                for n in range(UPDATES_EACH)
                for user in range(USERS)
            ]
            assert inboxes[0].accept("telegram", items) == len(items)
            start = threading.Barrier(CLAIMERS)
            with ThreadPoolExecutor(CLAIMERS) as pool:
                claims = list(pool.map(claim_all, inboxes, [start] * CLAIMERS))
            claimer_of: dict[str, set[int]] = defaultdict(set)
            users = _users(db, round_)
            for index, ids in enumerate(claims):
                for row_id in ids:
                    claimer_of[users[row_id]].add(index)
            assert {user: len(who) for user, who in claimer_of.items()} == {
                f"telegram:{user}": 1 for user in range(USERS)
            }
            assert len(set().union(*map(set, claims))) == sum(map(len, claims))
            _finish_all(db)
    finally:
        for database in databases:
            database.dispose()


def claim_all(inbox: Inbox, start: threading.Barrier) -> list[int]:
    """Claim until nothing is left, all claimers starting together. Nothing is finished,
    so every claimed row stays busy and its member's later updates must wait."""
    start.wait(timeout=10)
    taken: list[int] = []
    while rows := inbox.claim():
        taken += [row["id"] for row in rows]
    return taken


def _users(db: Database, round_: int) -> dict[int, str]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("select id, user_key from inbound_update where update_id like :prefix"),
            {"prefix": f"{round_}-%"},
        ).all()
    return {int(row_id): str(user) for row_id, user in rows}


def _finish_all(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("update inbound_update set status = 'done'"))
