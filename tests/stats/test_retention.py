"""30/90-day retention: of buyers whose first purchase was at least 31 (91) local days ago,
the share whose second purchase came within 30 (90) days of the first; kept per first
purchase day as purchases arrive, also when an imported purchase predates the first."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.models import BuyerCohort
from core.stats import kpis
from tests.conftest import START
from tests.stats.support import assert_rebuild_agrees, buy
from tests.support.members import new_member

DAY = timedelta(days=1)


def figures(db, clock, programme, at):
    with db.reader() as session:
        return kpis(session, now=at, days=30, programme=programme)


def test_a_second_purchase_exactly_30_days_later_counts_and_one_second_later_does_not(
    db, clock, programme
):
    on_time, late, once = (new_member(db, clock, programme, name) for name in "abc")
    for member in (on_time, late, once):
        buy(db, clock, programme, member, f"first-{member}")
    clock.set(START + 30 * DAY)
    buy(db, clock, programme, on_time, "again-on-time")
    clock.set(START + 30 * DAY + timedelta(seconds=1))
    buy(db, clock, programme, late, "again-late")

    not_yet = figures(db, clock, programme, START + 30 * DAY + timedelta(hours=1))
    assert (not_yet.retention_30d, not_yet.retention_30d_buyers) == (None, 0)
    month = figures(db, clock, programme, START + 31 * DAY)
    assert (month.retention_30d, month.retention_30d_buyers) == (1 / 3, 3)
    assert (month.retention_90d, month.retention_90d_buyers) == (None, 0)
    quarter = figures(db, clock, programme, START + 91 * DAY)
    assert (quarter.retention_30d, quarter.retention_90d) == (1 / 3, 2 / 3)
    assert (quarter.buyers, quarter.repeat_buyers, quarter.repeat_rate) == (3, 2, 2 / 3)
    assert_rebuild_agrees(db, programme)


def test_an_imported_purchase_before_the_first_moves_the_buyer_to_its_day(db, clock, programme):
    member = new_member(db, clock, programme)
    clock.set(START + 40 * DAY)
    buy(db, clock, programme, member, "shop")
    buy(db, clock, programme, member, "pos-1", occurred_at=START + 5 * DAY)

    with db.reader() as session:
        rows = session.exec(select(BuyerCohort).where(BuyerCohort.buyers != 0)).all()
    assert [(row.first_day, row.buyers, row.repeat_30d, row.repeat_90d) for row in rows] == [
        ((START + 5 * DAY).date(), 1, 0, 1)
    ]
    later = figures(db, clock, programme, START + 100 * DAY)
    assert (later.retention_30d, later.retention_90d) == (0.0, 1.0)
    assert_rebuild_agrees(db, programme)


def test_new_buyers_and_refunds_belong_to_the_day_of_the_purchase(db, clock, programme):
    from core.purchases import refund_purchase

    member = new_member(db, clock, programme)
    buy(db, clock, programme, member, "old", amount="300")
    clock.set(START + 20 * DAY)
    buy(db, clock, programme, member, "new", amount="100")
    with db.session() as session:
        refund_purchase(session, clock=clock, programme=programme, order_id="old", amount="50")

    week = figures_for(db, clock, programme, days=7)
    assert (week.purchases, week.revenue, week.new_buyers, week.refunds) == (1, 100, 0, 0)
    month = figures_for(db, clock, programme, days=30)
    assert (month.purchases, month.revenue, month.new_buyers, month.refunds) == (2, 350, 1, 1)
    assert month.refunded == 50
    assert_rebuild_agrees(db, programme)


def figures_for(db, clock, programme, *, days):
    with db.reader() as session:
        return kpis(session, now=clock.now(), days=days, programme=programme)
