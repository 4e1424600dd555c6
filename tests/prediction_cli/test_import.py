"""`loyalty import purchases FILE.csv` on SQLite and PostgreSQL: idempotent, row by row
checked (line numbers), conflicts reported, members created by the brand's reference."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.imports import import_rows, read_rows
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.models import Member, Purchase, metadata
from core.programme import Programme
from core.programme.sections import Earn
from tests.support.cli import loyalty

GOOD = """member,order_id,amount,time,category
C001,POS-1,350,2025-06-01,food
C002,POS-2,"1,200.50",2025-06-01T14:30,
C001,POS-3,80,2025-07-15T09:00:00+08:00,drink
C003,POS-4,99.99,2025-08-01T01:00:00Z,food
C001,POS-5,120,2025-09-30,
"""


def write(tmp_path: Path, text: str, name: str = "purchases.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(monkeypatch, database_url, path: Path, *args: str):
    return loyalty(monkeypatch, database_url, "import", "purchases", str(path), *args)


def snapshot(url: str) -> dict[str, object]:
    """Row counts of every table, and each member's balances and counters."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {
            name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }
        members = connection.execute(
            sa.select(
                Member.external_ref,
                Member.points_balance,
                Member.purchase_count,
                Member.spent_cents,
                Member.stage,
                Member.tier,
            ).order_by(Member.external_ref)
        ).all()
    engine.dispose()
    return {"counts": counts, "members": [tuple(row) for row in members]}


def purchases(db: Database) -> dict[str, Purchase]:
    with db.reader() as session:
        return {p.order_id: p for p in session.exec(select(Purchase)).all()}


def members(db: Database) -> dict[str, Member]:
    with db.reader() as session:
        return {m.external_ref: m for m in session.exec(select(Member)).all() if m.external_ref}


def test_importing_the_same_file_twice_leaves_the_data_unchanged(
    monkeypatch, database_url, db, tmp_path
):
    path = write(tmp_path, GOOD)
    first = run_import(monkeypatch, database_url, path)
    assert first.exit_code == 0, first.output
    assert "imported 5 · repeated 0 · conflicts 0 · malformed 0" in first.stdout
    after_first = snapshot(database_url)
    assert after_first["counts"]["purchase"] == 5 and after_first["counts"]["member"] == 3
    again = run_import(monkeypatch, database_url, path)
    assert again.exit_code == 0, again.output
    assert "imported 0 · repeated 5 · conflicts 0 · malformed 0" in again.stdout
    assert snapshot(database_url) == after_first


def test_members_are_kept_by_reference_without_consent_and_times_read_as_local(
    monkeypatch, database_url, db, tmp_path
):
    assert run_import(monkeypatch, database_url, write(tmp_path, GOOD)).exit_code == 0
    found = members(db)
    assert set(found) == {"C001", "C002", "C003"}
    c001 = found["C001"]
    assert c001.consent_at is None and not c001.signed_up and c001.source_channel == "import"
    assert c001.purchase_count == 3 and c001.spent_cents == 55_000
    assert c001.points_balance == 0  # history earns no points unless asked
    assert c001.stage in ("action", "loyalty") and found["C002"].stage == "action"
    bought = purchases(db)
    taipei = "2025-06-01T00:00:00+08:00"
    assert bought["POS-1"].occurred_at == datetime.fromisoformat(taipei).astimezone(UTC)
    assert bought["POS-2"].occurred_at == datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
    assert bought["POS-3"].occurred_at == datetime(2025, 7, 15, 1, 0, tzinfo=UTC)
    assert bought["POS-4"].occurred_at == datetime(2025, 8, 1, 1, 0, tzinfo=UTC)
    assert bought["POS-2"].amount_cents == 120_050 and bought["POS-2"].category is None
    assert bought["POS-1"].category == "food" and bought["POS-1"].source == "import"


def test_award_points_earns_by_the_earn_rules(monkeypatch, database_url, db, tmp_path):
    result = run_import(monkeypatch, database_url, write(tmp_path, GOOD), "--award-points")
    assert result.exit_code == 0, result.output
    assert members(db)["C001"].points_balance == 350 + 80 + 120


def test_malformed_rows_are_named_by_line_and_nothing_of_them_is_written(
    monkeypatch, database_url, db, tmp_path
):
    text = (
        "member,order_id,amount,time\n"
        "C001,OK-1,100,2025-05-01\n"
        "B001,BAD-1,12abc,2025-05-01\n"  # line 3: amount
        "B002,BAD-2,100,2025-02-30\n"  # line 4: no such date
        "B003,,100,2025-05-01\n"  # line 5: empty order id
        "B004,BAD-4,100,2025-05-01,extra\n"  # line 6: one column too many
        "\n"
        "B005,BAD-5,-3,2025-05-01\n"  # line 8: negative
        "B006,BAD-6,100,2099-01-01\n"  # line 9: future
        "C002,OK-2,100,2025-05-02T10:00\n"
    )
    result = run_import(monkeypatch, database_url, write(tmp_path, text))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    for line, words in (
        (3, "amount '12abc'"),
        (4, "time '2025-02-30'"),
        (5, "the order id is empty"),
        (6, "expected 4 columns, found 5"),
        (8, "amount '-3'"),
        (9, "in the future"),
    ):
        assert any(
            text.startswith(f"line {line}: malformed: ") and words in text for text in lines
        ), (
            line,
            result.stdout,
        )
    assert "imported 2 · repeated 0 · conflicts 0 · malformed 6" in result.stdout
    assert set(purchases(db)) == {"OK-1", "OK-2"}
    assert set(members(db)) == {"C001", "C002"}


def test_an_order_id_again_with_another_amount_is_a_conflict_and_changes_nothing(
    monkeypatch, database_url, db, tmp_path
):
    assert run_import(monkeypatch, database_url, write(tmp_path, GOOD)).exit_code == 0
    before = snapshot(database_url)
    changed = GOOD.replace("C001,POS-3,80,", "C001,POS-3,85,").replace("POS-4,99.99", "POS-4,99.9")
    result = run_import(monkeypatch, database_url, write(tmp_path, changed, "changed.csv"))
    assert result.exit_code == 1, result.output
    assert "line 4: conflict: order POS-3 is already recorded with amount 80.00" in result.stdout
    assert "line 5: conflict: order POS-4 is already recorded with amount 99.99" in result.stdout
    assert "imported 0 · repeated 3 · conflicts 2 · malformed 0" in result.stdout
    assert snapshot(database_url) == before


def test_the_same_order_twice_in_one_file_is_recorded_once(monkeypatch, database_url, db, tmp_path):
    text = (
        "member,order_id,amount,time\nC1,A,10,2025-01-01\nC1,A,10,2025-01-01\nC1,A,11,2025-01-01\n"
    )
    result = run_import(monkeypatch, database_url, write(tmp_path, text))
    assert result.exit_code == 1
    assert "imported 1 · repeated 1 · conflicts 1 · malformed 0" in result.stdout
    assert "line 4: conflict: order A is already recorded with amount 10.00" in result.stdout
    assert purchases(db)["A"].amount_cents == 1000


@pytest.mark.parametrize(
    "header", ["member,order,amount,time", "order_id,member,amount,time", "", "member;order_id"]
)
def test_a_wrong_header_exits_2_naming_the_expected_one(
    monkeypatch, database_url, db, tmp_path, header
):
    path = write(tmp_path, f"{header}\nC1,A,10,2025-01-01\n")
    result = run_import(monkeypatch, database_url, path)
    assert result.exit_code == 2
    assert "member,order_id,amount,time" in result.stderr
    assert purchases(db) == {} and members(db) == {}


def test_a_row_a_use_case_refuses_is_reported_and_the_rest_of_its_batch_imports(db):
    """More points than a member can hold: record_purchase refuses inside the batch."""
    programme = Programme(earn=Earn(category_multipliers={"gold": Decimal(100)}))
    clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
    text = (
        "member,order_id,amount,time,category\n"
        "C1,A,10,2025-01-01,\n"
        "C9,HUGE,99999999,2025-01-02,gold\n"
        "C2,B,20,2025-01-03,\n"
    )
    rows = read_rows(text.splitlines(keepends=True), zone=programme.zone, now=clock.now())
    report = import_rows(db, clock=clock, programme=programme, rows=rows, award_points=True)
    assert report.imported == 2 and report.members_created == 2
    assert [(p.line, p.reason) for p in report.malformed] == [
        (3, "that is more points than a member can hold")
    ]
    assert set(purchases(db)) == {"A", "B"} and set(members(db)) == {"C1", "C2"}
