from decimal import Decimal

import pytest
from sqlmodel import select

from core.kernel import IdempotencyConflict, InvalidInput, MemberNotFound
from core.models import LedgerEntry, Member, Purchase
from core.purchases import record_purchase, refund_purchase
from tests.support.members import new_member


def test_a_purchase_earns_points_and_moves_the_member_to_action(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        result = record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="350",
            order_id="POS-1",
        )
    assert result.points == 350
    assert result.stage == "action"
    with db.session() as session:
        member = session.get(Member, member_id)
        assert member.points_balance == 350
        assert member.purchase_count == 1


def test_repeating_an_order_id_returns_the_first_result_and_changes_nothing(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        first = record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="POS-2",
        )
    clock.advance(minutes=5)
    with db.session() as session:
        again = record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="POS-2",
        )
    assert again == first
    with db.session() as session:
        assert len(session.exec(select(Purchase)).all()) == 1
        assert len(session.exec(select(LedgerEntry)).all()) == 1


def test_the_same_order_id_with_another_amount_is_a_conflict(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="POS-3",
        )
    with db.session() as session, pytest.raises(IdempotencyConflict):
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="101",
            order_id="POS-3",
        )


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.234", "1e30", "NaN"])
def test_bad_amounts_are_refused_and_write_nothing(db, clock, programme, amount):
    member_id = new_member(db, clock, programme)
    with db.session() as session, pytest.raises(InvalidInput):
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount=amount,
            order_id="POS-4",
        )
    with db.session() as session:
        assert session.exec(select(Purchase)).all() == []


def test_unknown_member_is_refused(db, clock, programme):
    with db.session() as session, pytest.raises(MemberNotFound):
        record_purchase(
            session, clock=clock, programme=programme, member_id=999, amount="100", order_id="POS-5"
        )
    with db.session() as session:
        assert session.exec(select(Purchase)).all() == []


def test_a_full_refund_reverses_exactly_the_purchase_points(db, clock, programme):
    member_id = new_member(db, clock, programme)
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="200",
            order_id="A",
        )
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="300",
            order_id="B",
        )
    with db.session() as session:
        refund = refund_purchase(session, clock=clock, programme=programme, order_id="A")
    assert refund.points_reversed == 200
    assert refund.amount == Decimal("200")
    assert refund.balance == 300
