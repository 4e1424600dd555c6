"""What counts as a member being active: what they (or staff serving them) did, not what
the system wrote about them."""

from core.members import mark_unreachable, register_contact
from core.models import Member
from core.points import expire_points
from core.purchases import record_purchase
from tests.support.members import new_member


def last_activity(db, member_id):
    with db.reader() as session:
        return session.get(Member, member_id).last_activity_at


def test_expiring_points_and_blocking_the_bot_do_not_make_a_member_active(db, clock, programme):
    member_id = new_member(db, clock, programme, "alice")
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="100",
            order_id="P1",
        )
    bought_at = last_activity(db, member_id)
    assert bought_at == clock.now()

    clock.advance(days=400)
    with db.session() as session:
        assert expire_points(session, clock=clock).points == 100
    with db.session() as session:
        mark_unreachable(session, clock=clock, channel="console", platform_user_id="alice")
    assert last_activity(db, member_id) == bought_at

    with db.session() as session:  # writing to the bot again is activity
        register_contact(
            session, clock=clock, programme=programme, channel="console", platform_user_id="bob"
        )
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount="50",
            order_id="P2",
        )
    assert last_activity(db, member_id) == clock.now()
