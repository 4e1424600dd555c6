"""`loyalty demo` and `loyalty stats`: every funnel stage filled, and demo data that keeps
the invariants the use cases keep (ledger sums, funnel counts, cached member figures)."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.app import Services
from bot.cli import app
from bot.demo import seed_demo
from bot.demo.batches import batches
from bot.demo.context import ID_TABLES, DemoContext
from core.kernel import local_day
from core.models import (
    ChannelIdentity,
    CouponDefinition,
    CouponGrant,
    Event,
    FunnelDaily,
    LedgerEntry,
    Member,
    MemberTag,
    Purchase,
    Referral,
    StageEntry,
    SurveyAnswer,
    SurveyQuestion,
    TierChange,
)
from core.programme import STAGES, Programme
from core.stats import funnel
from tests.conftest import START
from tests.support.members import new_member
from tests.support.processes import LOYALTY, clean_env

CELL = re.compile(r"[│┃|]")


def loyalty(args: list[str], cwd, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args],
        cwd=cwd,
        env=clean_env(LOYALTY_DATABASE_URL=url, COLUMNS="120"),
        capture_output=True,
        text=True,
        timeout=240,
    )


def funnel_rows(output: str) -> dict[str, list[str]]:
    """The funnel table's cells per stage, from `loyalty stats` output."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in CELL.split(line) if cell.strip()]
        if cells and cells[0] in STAGES and cells[0] not in rows:
            rows[cells[0]] = cells
    return rows


def use_only(monkeypatch, directory, url: str) -> None:
    """Run the CLI in this process against `url`, with no other settings or programme file."""
    for name in [name for name in os.environ if name.startswith("LOYALTY_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(directory)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", url)


def test_stats_on_an_empty_database_suggests_the_demo(tmp_path, monkeypatch):
    use_only(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert "no members yet — try `loyalty demo`" in result.output


def test_demo_then_stats_shows_all_five_stages_with_counts_and_conversion(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = loyalty(["demo", "--members", "1000"], tmp_path, url)
    assert demo.returncode == 0, demo.stderr
    assert "added 1,000 demo members" in demo.stdout

    stats = loyalty(["stats"], tmp_path, url)
    assert stats.returncode == 0, stats.stderr
    rows = funnel_rows(stats.stdout)
    assert list(rows) == list(STAGES), stats.stdout
    entered = {stage: int(cells[1].replace(",", "")) for stage, cells in rows.items()}
    assert entered["awareness"] == 1000
    assert all(count > 0 for count in entered.values()), entered
    for stage in STAGES[1:]:
        conversion = rows[stage][3]
        assert re.fullmatch(r"\d+\.\d%", conversion), rows[stage]
        assert float(conversion.rstrip("%")) > 0
    assert "biggest drop-off:" in stats.stdout
    assert "line" in stats.stdout and "telegram" in stats.stdout
    assert "coupon redemption rate" in stats.stdout

    use_only(monkeypatch, tmp_path, url)
    recent = CliRunner().invoke(app, ["stats", "--days", "30"])
    assert recent.exit_code == 0, recent.output
    assert "Funnel (entered in the last 30 days)" in recent.output
    assert list(funnel_rows(recent.output)) == list(STAGES)


def test_a_demo_keeps_every_invariant_of_the_use_cases(services: Services):
    result = seed_demo(services, members=300, seed=7, batch_size=100)  # three batches, ahead
    assert result.members == 300
    check_invariants(services, members=300)

    seed_demo(services, members=120, seed=8, ahead=False)  # a second run adds members
    check_invariants(services, members=420)
    with services.database.session() as session:
        tagged = session.exec(select(sa.func.count()).select_from(MemberTag)).one()
        assert tagged == 420
        figures = funnel(session, programme=services.programme, now=START)
    assert all(stage.entered > 0 for stage in figures.stages), figures
    assert all(stage.conversion_from_previous for stage in figures.stages[1:]), figures
    # The ids the demo chose itself leave the use cases room (PostgreSQL's sequences moved).
    member_id = new_member(services.database, services.clock, services.programme, "after-demo")
    assert member_id == 421


def test_the_same_seed_gives_the_same_members_in_one_process_or_two():
    def made(*, ahead: bool) -> list[tuple[Any, ...]]:
        ctx = DemoContext(
            programme=Programme(),
            now=START.replace(tzinfo=None),
            offers=[],
            stock_left={},
            survey=None,
            next_ids=dict.fromkeys(ID_TABLES, 1),
        )
        return [
            values
            for _, rows in batches(ctx, seed=3, sizes=[40, 40, 40], ahead=ahead)
            for values in rows.packed["member"].values + rows.packed["ledger_entry"].values
        ]

    assert made(ahead=False) == made(ahead=True)


def check_invariants(services: Services, *, members: int) -> None:
    with services.database.session() as session:
        rows = session.exec(select(Member)).all()
        assert len(rows) == members
        check_points(session, rows)
        check_funnel(session, rows, services.programme)
        check_purchases(session, rows)
        check_coupons_and_rest(session, rows)


def check_points(session: Session, members: list[Member]) -> None:
    entries: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in session.exec(select(LedgerEntry)).all():
        entries[entry.member_id].append(entry)
    for member in members:
        own = entries[member.id or 0]
        lots = [entry for entry in own if entry.amount > 0]
        assert member.points_balance == sum(entry.amount for entry in own), member.id
        assert member.points_balance == sum(lot.remaining for lot in lots), member.id
        assert member.points_balance >= 0
        assert member.points_pending == sum(lot.remaining for lot in lots if lot.pending)
        assert member.points_earned_total == sum(e.amount for e in own if e.kind == "earn")
        assert all(0 <= lot.remaining <= lot.amount for lot in lots)
        assert all(entry.remaining == 0 for entry in own if entry.amount < 0)


def check_funnel(session: Session, members: list[Member], programme: Programme) -> None:
    entries = session.exec(select(StageEntry)).all()
    counted: Counter[tuple[object, ...]] = Counter(
        (local_day(entry.entered_at, programme.zone), entry.stage, entry.channel)
        for entry in entries
    )
    daily = {
        (row.day, row.stage, row.channel): row.entered
        for row in session.exec(select(FunnelDaily)).all()
    }
    assert daily == dict(counted)
    by_member: dict[int, dict[str, object]] = defaultdict(dict)
    for entry in entries:
        by_member[entry.member_id][entry.stage] = entry.entered_at
    for member in members:
        stages = by_member[member.id or 0]
        reached = len(stages)
        assert list(stages) and set(stages) == set(STAGES[:reached]), (member.id, stages)
        assert member.stage == STAGES[reached - 1]
        assert member.stage_at == stages[member.stage]
        times = [stages[stage] for stage in STAGES[:reached]]
        assert times == sorted(times), (member.id, stages)
        assert (member.consent_at is not None) == ("interest" in stages)


def check_purchases(session: Session, members: list[Member]) -> None:
    purchases: dict[int, list[Purchase]] = defaultdict(list)
    for purchase in session.exec(select(Purchase)).all():
        purchases[purchase.member_id].append(purchase)
    for member in members:
        own = purchases[member.id or 0]
        assert member.purchase_count == len(own)
        assert member.spent_cents == sum(p.amount_cents - p.refunded_cents for p in own)
        times = [purchase.occurred_at for purchase in own]
        assert member.first_purchase_at == (min(times) if times else None)
        assert member.last_purchase_at == (max(times) if times else None)
        if own:
            assert member.stage in ("action", "loyalty")


def check_coupons_and_rest(session: Session, members: list[Member]) -> None:
    grants = Counter(session.exec(select(CouponGrant.definition_id)).all())
    for definition in session.exec(select(CouponDefinition)).all():
        assert definition.claimed == grants[definition.id]
        assert definition.stock is None or definition.claimed <= definition.stock
    activity: dict[int, object] = {}
    for member_id, last in session.exec(
        select(Event.member_id, sa.func.max(Event.created_at))
        .where(Event.channel != "system")
        .group_by(col(Event.member_id))
    ).all():
        activity[member_id or 0] = last
    last_tier: dict[int, str] = {}
    for change in session.exec(select(TierChange).order_by(col(TierChange.created_at))).all():
        last_tier[change.member_id] = change.to_tier
    identities = {row.member_id: row for row in session.exec(select(ChannelIdentity)).all()}
    for member in members:
        assert member.last_activity_at == activity[member.id or 0]
        assert member.tier == last_tier[member.id or 0]
        assert identities[member.id or 0].platform_user_id.startswith("demo-")
        assert member.created_at <= member.stage_at <= START + timedelta(seconds=1)
    referrals = session.exec(select(Referral)).all()
    by_id = {member.id: member for member in members}
    for referral in referrals:
        assert by_id[referral.invitee_id].referrer_id == referral.referrer_id
        assert by_id[referral.referrer_id].consent_at <= by_id[referral.invitee_id].consent_at
    scores = session.exec(
        select(SurveyAnswer.value_int)
        .join(SurveyQuestion, col(SurveyQuestion.id) == SurveyAnswer.question_id)
        .where(SurveyQuestion.kind == "nps")
    ).all()
    assert scores and all(0 <= score <= 10 for score in scores if score is not None)
