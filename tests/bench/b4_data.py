"""Bulk data for bench B4, written with INSERT … SELECT over a generated sequence
(PostgreSQL: generate_series; SQLite: a recursive CTE), never row by row from Python.

Members are planned in a scratch table (stage reached, when they joined, how fast they
moved on, when last active); stage entries, purchases, coupons, NPS answers, check-ins
and the event log follow from it. Times are seconds before NOW, spread over 18 months.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.models import Event

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = 86_400
STAGES = ("awareness", "interest", "decision", "action", "loyalty")
EVENT_TYPES = ("contact", "signup", "coupon_claimed", "purchase", "checkin", "message")


class Sql:
    """The few expressions that differ between the two databases."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def ago(self, seconds: str) -> str:
        """The stored form of NOW minus `seconds` (an SQL integer expression)."""
        now = NOW.strftime("%Y-%m-%d %H:%M:%S")
        if self.pg:
            return f"(TIMESTAMP '{now}' - ({seconds}) * INTERVAL '1 second')"
        return f"(datetime('{now}', '-' || ({seconds}) || ' seconds') || '.000000')"

    def later(self, column: str, days: int) -> str:
        if self.pg:
            return f"({column} + INTERVAL '{days} days')"
        return f"(datetime({column}, '+{days} days') || '.000000')"

    def day(self, column: str) -> str:
        return f"CAST({column} AS DATE)" if self.pg else f"date({column})"

    def numbers(self, count: int) -> tuple[str, str]:
        """(a WITH clause or '', a FROM item) giving i = 1 … count."""
        if self.pg:
            return "", f"generate_series(1::bigint, {count}) AS seq(i)"
        cte = (
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq "
            f"WHERE i < {count}) "
        )
        return cte, "seq"

    def json(self, text: str) -> str:
        return f"CAST('{text}' AS JSONB)" if self.pg else f"'{text}'"


def case(expression: str, names: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {index} THEN '{name}'" for index, name in enumerate(names))
    return f"CASE {expression} {whens} END"


def generate(connection: Connection, *, members: int, events: int, tier: str) -> None:
    """Fill an empty, migrated database (coupons and surveys synced) in the caller's
    transaction."""
    sql = Sql(connection.dialect.name)

    def run(statement: str) -> None:
        # psycopg reads % as a placeholder whenever parameters are passed, even none.
        connection.exec_driver_sql(statement.replace("%", "%%") if sql.pg else statement)

    _plan(run, sql, members)
    _members(run, sql, tier)
    _stage_entries(run, sql)
    _purchases(run, sql)
    _coupons_answers_checkins(run, sql, connection)
    _events(run, sql, connection, members=members, events=events)
    run("DROP TABLE b4_plan")


def _plan(run: Any, sql: Sql, members: int) -> None:
    with_, numbers = sql.numbers(members)
    rank = (
        "CASE WHEN i * 7919 % 100 < 25 THEN 0 WHEN i * 7919 % 100 < 55 THEN 1 "
        "WHEN i * 7919 % 100 < 75 THEN 2 WHEN i * 7919 % 100 < 90 THEN 3 ELSE 4 END"
    )
    temporary = "UNLOGGED" if sql.pg else "TEMP"
    run(
        f"CREATE {temporary} TABLE b4_plan AS {with_}SELECT i, {rank} AS rank, "
        f"{rank} * ((i % 13 + 1) * {DAY} + 3600) + i * 104729 % {480 * DAY} AS joined,"
        f" (i % 13 + 1) * {DAY} + 3600 AS pace, i * 15485863 % {200 * DAY} AS active"
        f" FROM {numbers}"
    )


def _members(run: Any, sql: Sql, tier: str) -> None:
    purchases = "CASE rank WHEN 3 THEN 1 WHEN 4 THEN 2 + (i % 3 = 0) ELSE 0 END"
    if sql.pg:
        purchases = "CASE rank WHEN 3 THEN 1 WHEN 4 THEN 2 + (i % 3 = 0)::int ELSE 0 END"
    run(
        "INSERT INTO member (id, locale, timezone, source_channel, consent_version, consent_at,"
        " opted_out, unreachable, invite_code, tier, stage, stage_at, risk, points_balance,"
        " points_pending, points_earned_total, purchase_count, spent_cents, last_activity_at,"
        " checkin_streak, created_at) "
        f"SELECT i, 'zh-TW', 'Asia/Taipei', {case('i % 3', ('line', 'line', 'telegram'))},"
        f" CASE WHEN rank >= 1 THEN 'v1' END,"
        f" CASE WHEN rank >= 1 THEN {sql.ago('joined - pace')} END, FALSE, FALSE, 'B4' || i,"
        f" '{tier}', {case('rank', STAGES)}, {sql.ago('joined - rank * pace')}, 'active',"
        f" 0, 0, 0, {purchases}, 0, {sql.ago('active')}, 0, {sql.ago('joined')} FROM b4_plan"
    )


def _stage_entries(run: Any, sql: Sql) -> None:
    ranks = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(len(STAGES)))
    run(
        "INSERT INTO stage_entry (member_id, stage, channel, entered_at) "
        f"SELECT i, {case('k', STAGES)}, {case('i % 3', ('line', 'line', 'telegram'))},"
        f" {sql.ago('joined - k * pace')} FROM b4_plan JOIN ({ranks}) AS ranks ON k <= rank"
    )


def _purchases(run: Any, sql: Sql) -> None:
    columns = (
        "INSERT INTO purchase (order_id, member_id, amount_cents, refunded_cents, occurred_at,"
        " recorded_at, points_earned, points_reversed, source, actor) "
    )
    amount = "10000 + member_id * 37 % 90000"
    run(
        f"{columns}SELECT 'b4-' || stage || '-' || member_id, member_id, {amount}, 0,"
        " entered_at, entered_at, 0, 0, 'import', 'bench' FROM stage_entry"
        " WHERE stage IN ('action', 'loyalty')"
    )
    again = sql.later("entered_at", 5)
    run(
        f"{columns}SELECT 'b4-again-' || member_id, member_id, {amount}, 0, {again}, {again},"
        " 0, 0, 'import', 'bench' FROM stage_entry"
        " WHERE stage = 'loyalty' AND member_id % 3 = 0"
    )
    run(
        "INSERT INTO refund (purchase_id, refund_key, amount_cents, points_reversed,"
        " points_shortfall, created_at) SELECT id, 'b4-refund-' || id, amount_cents / 2, 0, 0,"
        " occurred_at FROM purchase WHERE id % 100 = 0"
    )
    run("UPDATE purchase SET refunded_cents = amount_cents / 2 WHERE id % 100 = 0")


def _coupons_answers_checkins(run: Any, sql: Sql, connection: Connection) -> None:
    definition = connection.exec_driver_sql("SELECT min(id) FROM coupon_definition").scalar()
    survey, question = connection.exec_driver_sql(
        "SELECT survey_id, id FROM survey_question WHERE kind = 'nps' ORDER BY id LIMIT 1"
    ).one()
    run(
        "INSERT INTO coupon_grant (definition_id, member_id, code, status, claimed_at,"
        " redeemed_at, points_spent, idempotency_key) "
        f"SELECT {definition}, member_id, 'B4' || member_id,"
        " CASE WHEN member_id % 5 < 2 THEN 'redeemed' ELSE 'active' END, entered_at,"
        " CASE WHEN member_id % 5 < 2 THEN entered_at END, 0, 'b4:' || member_id"
        " FROM stage_entry WHERE stage = 'decision'"
    )
    run(
        "INSERT INTO survey_progress (id, member_id, survey_id, status, position, reward_points,"
        " started_at, updated_at, completed_at) "
        f"SELECT member_id, member_id, {survey}, 'completed', 3, 0, entered_at, entered_at,"
        " entered_at FROM stage_entry WHERE stage = 'action' AND member_id % 5 = 0"
    )
    run(
        "INSERT INTO survey_answer (progress_id, question_id, value_int, skipped, created_at) "
        f"SELECT id, {question}, member_id % 11, FALSE, completed_at FROM survey_progress"
    )
    run(
        "INSERT INTO checkin (member_id, local_date, streak, points, created_at) "
        f"SELECT member_id, {sql.day('entered_at')}, 1, 5, entered_at FROM stage_entry"
        " WHERE stage = 'interest' AND member_id % 4 = 0"
    )


def _events(run: Any, sql: Sql, connection: Connection, *, members: int, events: int) -> None:
    """The event log, with its indexes built after the rows (much faster than row by row)."""
    indexes = list(Event.__table__.indexes)  # type: ignore[attr-defined]
    for index in indexes:
        index.drop(connection)
    with_, numbers = sql.numbers(events)
    run(
        f"{with_}INSERT INTO event (member_id, channel, type, stage, payload, created_at) "
        f"SELECT i % {members} + 1, {case('i % 3', ('line', 'line', 'telegram'))},"
        f" {case(f'i % {len(EVENT_TYPES)}', EVENT_TYPES)}, {case('i / 7 % 5', STAGES)},"
        f" {sql.json('{}')}, {sql.ago(f'i * 7919 % {540 * DAY}')} FROM {numbers}"
    )
    for index in indexes:
        index.create(connection)


def analyze(engine: sa.Engine) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map index-only scans use)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
