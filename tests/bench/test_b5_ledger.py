"""Benchmark B5 (DESIGN §8): points earned and spent by 16 concurrent clients on PostgreSQL
through the real use cases (record_purchase, spend_points, each with its idempotency key),
for a fixed time. Prints ledger ops/s and p50/p99 latency, and the ratio to `pgbench`'s
built-in TPC-B-like script run on the same server in the same run; then checks every
member's ledger invariants (0 violations). Figures only: nothing is asserted on time.

Clients are processes, each with its own connection, as 16 POS terminals or server
processes would be (LOYALTY_BENCH_B5_WORKERS=threads runs them as threads of one process
instead, where the GIL keeps all their Python on one core: about 60 % of the rate).
Each client loops over random members of a shared pool (regulars with two past purchases
and a lot of 500 points each): 55 % earn (a purchase with its own order id), 40 % spend
(1–30 points; refused when the member has too few, which is a completed use case too),
5 % replay a request already made (same key: no second effect).
LOYALTY_BENCH_B5_SECONDS (default 20) and LOYALTY_BENCH_B5_MEMBERS (default 1000) tune it.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.kernel import Database, InsufficientPoints, SystemClock
from core.models import LedgerEntry, Member, Purchase
from core.points.actions import spend_points
from core.programme import Programme
from core.purchases import record_purchase
from tests.support.databases import postgres_url, truncate_all

CLIENTS = 16
SECONDS = float(os.environ.get("LOYALTY_BENCH_B5_SECONDS", "20"))
MEMBERS = int(os.environ.get("LOYALTY_BENCH_B5_MEMBERS", "1000"))
WORKERS = os.environ.get("LOYALTY_BENCH_B5_WORKERS", "processes")
PGBENCH_SECONDS = 10
SEED_POINTS = 500
PGBENCH_SCALE = 16  # one branch per client, so pgbench's own hot rows are not the limit
TPS = re.compile(r"tps = ([\d.]+) \((without initial connection time|excluding connections)")


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    finished_at: float = 0.0


def client(url: str, index: int, start_at: float, seconds: float) -> ClientResult:
    """One client: its own engine and connection, ops until `seconds` after `start_at`."""
    database = Database(url, pool_size=1, max_overflow=0)
    programme, clock = Programme(), SystemClock()
    rng = random.Random(index)
    result = ClientResult()
    done: list[tuple[str, int, str]] = []  # (kind, member, key) of requests made
    time.sleep(max(0.0, start_at - time.time()))
    stop = start_at + seconds
    n = 0
    while time.time() < stop:
        n += 1
        roll = rng.random()
        if roll < 0.05 and done:
            kind, member, key = rng.choice(done)
            kind = f"replay_{kind}"
        else:
            kind = "earn" if roll < 0.60 else "spend"
            member, key = rng.randint(1, MEMBERS), f"b5-{index}-{n}"
        started = time.perf_counter()
        try:
            with database.session() as session:
                if kind.endswith("earn"):
                    record_purchase(
                        session,
                        clock=clock,
                        programme=programme,
                        member_id=member,
                        amount=Decimal(10 + (hash(key) % 490)),
                        order_id=key,
                        source="api",
                        actor="bench",
                    )
                else:
                    spend_points(
                        session,
                        clock=clock,
                        member_id=member,
                        points=1 + hash(key) % 30,
                        reason="bench",
                        idempotency_key=key,
                    )
            outcome = kind
        except InsufficientPoints:
            outcome = f"{kind}_refused"
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            outcome = "error"
            result.errors.append(f"{kind} {key}: {type(exc).__name__}: {exc}"[:300])
        result.latencies.append(time.perf_counter() - started)
        result.outcomes[outcome] += 1
        if not kind.startswith("replay"):
            done.append((kind, member, key))
    result.finished_at = time.time()
    database.dispose()
    return result


def seed_members(url: str) -> None:
    """MEMBERS signed-up regulars (two purchases in the past weeks, loyalty stage) holding
    SEED_POINTS each in one lot (cached balance, ledger and lot agree), so spends mostly
    succeed from the first second and earns are the steady state's repeat purchases."""
    now = datetime.now(UTC)
    earlier = (now - timedelta(days=30), now - timedelta(days=10))
    rows = [
        {
            "id": i,
            "locale": "en",
            "timezone": "Asia/Taipei",
            "source_channel": "api",
            "invite_code": f"B5{i:06d}",
            "tier": "basic",
            "stage": "loyalty",
            "stage_at": now,
            "created_at": now,
            "consent_version": "bench",
            "consent_at": now,
            "points_balance": SEED_POINTS,
            "points_earned_total": SEED_POINTS,
            "purchase_count": 2,
            "spent_cents": 40_000,
            "first_purchase_at": earlier[0],
            "last_purchase_at": earlier[1],
        }
        for i in range(1, MEMBERS + 1)
    ]
    lots = [
        {
            "member_id": i,
            "amount": SEED_POINTS,
            "kind": "earn",
            "source": "admin",
            "reason": "bench seed",
            "actor": "bench",
            "idempotency_key": f"b5-seed-{i}",
            "remaining": SEED_POINTS,
            "available_at": now,
            "expires_at": now + timedelta(days=365),
            "created_at": now,
        }
        for i in range(1, MEMBERS + 1)
    ]
    purchases = [
        {
            "order_id": f"b5-seed-{i}-{k}",
            "member_id": i,
            "amount_cents": 20_000,
            "occurred_at": at,
            "recorded_at": at,
            "source": "api",
            "actor": "bench",
        }
        for i in range(1, MEMBERS + 1)
        for k, at in enumerate(earlier)
    ]
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.insert(Member), rows)
        connection.execute(sa.insert(LedgerEntry), lots)
        connection.execute(sa.insert(Purchase), purchases)
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('member', 'id'), (SELECT max(id) FROM member))"
        )
    engine.dispose()


def invariant_violations(url: str) -> list[tuple[object, ...]]:
    """Members whose cached balance is not SUM(ledger) and SUM(lots remaining), or < 0, or
    whose pending points are not what the pending lots hold, or with a lot out of range."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            """
            SELECT m.id, m.points_balance, coalesce(l.total, 0), coalesce(l.lots_left, 0)
            FROM member m
            LEFT JOIN (
                SELECT member_id, sum(amount) AS total,
                       sum(CASE WHEN amount > 0 THEN remaining ELSE 0 END) AS lots_left,
                       sum(CASE WHEN amount > 0 AND pending THEN remaining ELSE 0 END)
                           AS pending_left,
                       sum(CASE WHEN amount > 0 AND (remaining < 0 OR remaining > amount)
                                THEN 1 ELSE 0 END) AS bad_lots
                FROM ledger_entry GROUP BY member_id
            ) l ON l.member_id = m.id
            WHERE m.points_balance <> coalesce(l.total, 0)
               OR m.points_balance <> coalesce(l.lots_left, 0)
               OR m.points_balance < 0
               OR m.points_pending <> coalesce(l.pending_left, 0)
               OR coalesce(l.bad_lots, 0) > 0
            """
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def pgbench_tps() -> float:
    """TPC-B-like tps of pgbench with 16 clients on a scratch database of the same server."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        pytest.fail("pgbench is not installed: B5 needs it for its baseline")
    url = sa.engine.make_url(postgres_url())
    scratch = "loyalty_b5_pgbench"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch}")
        connection.exec_driver_sql(f"CREATE DATABASE {scratch}")
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or ""]
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    try:
        subprocess.run(
            [pgbench, *args, "-i", "-q", "-I", "dtGvp", "-s", str(PGBENCH_SCALE), scratch],
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        run = subprocess.run(
            [pgbench, *args, "-c", str(CLIENTS), "-j", "2", "-T", str(PGBENCH_SECONDS), scratch],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
        admin.dispose()
    found = TPS.search(run.stdout)
    assert found, run.stdout
    return float(found.group(1))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_b5_ledger_ops_from_16_clients_on_postgresql(request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    seed_members(url)
    load_before = os.getloadavg()[0]
    start_at = time.time() + 2.0
    jobs = [(url, index, start_at, SECONDS) for index in range(CLIENTS)]
    if WORKERS == "processes":
        with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
            results = pool.starmap(client, jobs)
    else:
        with ThreadPoolExecutor(CLIENTS) as threads:
            results = list(threads.map(lambda job: client(*job), jobs))
    latencies = [value for result in results for value in result.latencies]
    outcomes = sum((result.outcomes for result in results), Counter())
    errors = [error for result in results for error in result.errors]
    tps = pgbench_tps()
    violations = invariant_violations(url)
    elapsed = max(result.finished_at for result in results) - start_at
    ops = len(latencies) / elapsed
    print(
        f"\nB5 ledger on PostgreSQL: {CLIENTS} client {WORKERS}, {MEMBERS:,} members, "
        f"{elapsed:.1f} s: {len(latencies):,} use cases, {ops:,.0f} ops/s "
        f"(p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms); {dict(sorted(outcomes.items()))}; "
        f"pgbench TPC-B-like ({CLIENTS} clients, scale {PGBENCH_SCALE}, {PGBENCH_SECONDS} s) "
        f"{tps:,.0f} tps; ratio {ops / tps:.2f}; invariant violations {len(violations)}; "
        f"load average {load_before:.1f} (on {os.cpu_count()} CPUs)"
    )
    assert errors == [], errors[:10]
    assert violations == [], violations[:10]
    # Replays had no second effect: one purchase per earn, one ledger entry per spend.
    assert written(url) == (2 * MEMBERS + outcomes["earn"], outcomes["spend"])


def written(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        purchases = connection.exec_driver_sql("SELECT count(*) FROM purchase").scalar_one()
        spends = connection.exec_driver_sql(
            "SELECT count(*) FROM ledger_entry WHERE kind = 'spend'"
        ).scalar_one()
    engine.dispose()
    return int(purchases), int(spends)
