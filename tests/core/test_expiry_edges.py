"""Points past their date cannot be spent, and a refund never takes expired points twice."""

import pytest
from sqlmodel import select

from core.kernel import InsufficientPoints
from core.models import LedgerEntry, Member
from core.points.actions import spend_points
from core.purchases import record_purchase, refund_purchase
from tests.support.members import new_member


def balance(db, member_id):
    with db.reader() as session:
        return session.get(Member, member_id).points_balance


def test_points_past_their_date_cannot_be_spent_before_the_expiry_job_runs(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="OLD",
        )
    clock.advance(days=400)  # past the 12-month expiry; no job has run
    with db.session() as session, pytest.raises(InsufficientPoints):
        spend_points(session, clock=clock, member_id=member_id, points=50, reason="latte")
    assert balance(db, member_id) == 100  # the refusal wrote nothing, the job will expire them


def test_a_spend_expires_due_lots_first_and_uses_only_live_points(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="OLD",
        )
    clock.advance(days=300)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="80",
            order_id="NEW",
        )
    clock.advance(days=100)  # OLD's lot is past its date, NEW's is not
    with db.session() as session:
        result = spend_points(session, clock=clock, member_id=member_id, points=30, reason="x")
    assert result.balance == 50
    with db.reader() as session:
        kinds = sorted(e.kind for e in session.exec(select(LedgerEntry)).all())
    assert kinds == ["earn", "earn", "expire", "spend"]


def test_refunding_a_purchase_whose_points_expired_takes_nothing_from_newer_points(
    db, clock, programme
):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="OLD",
        )
    clock.advance(days=400)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="70",
            order_id="NEW",
        )
    with db.session() as session:
        refund = refund_purchase(session, clock=clock, programme=programme, order_id="OLD")
    assert refund.points_reversed == 0
    assert refund.points_shortfall == 100
    assert balance(db, member_id) == 70
