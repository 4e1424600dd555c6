"""Admin commands change nothing when a non-admin sends them or their arguments are malformed."""

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.chat import Button
from core.coupons import claim_coupon
from core.models import AuditLog, CouponGrant, IdempotencyRecord, LedgerEntry, Member, Purchase
from tests.support.chat import ChatUser


@pytest.fixture
def shop(dialogs, services):
    """Alice has joined and holds a coupon; its code is returned."""
    alice = ChatUser(dialogs, "alice", language="en")
    alice.say("/start")
    alice.tap("Agree")
    with services.database.session() as session:
        claimed = claim_coupon(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=1,
            coupon_code="WELCOME50",
            channel="console",
        )
    return claimed.code


def state(db):
    """What an admin command could change: sales, points, coupons and allowed audit rows."""
    with db.reader() as session:
        grants = session.exec(
            select(CouponGrant.status, sa.func.count()).group_by(CouponGrant.status)
        ).all()
        return {
            "purchases": session.exec(select(sa.func.count()).select_from(Purchase)).one(),
            "ledger": session.exec(select(sa.func.count()).select_from(LedgerEntry)).one(),
            "grants": sorted(grants),
            "balances": session.exec(select(Member.id, Member.points_balance)).all(),
            "stages": session.exec(select(Member.id, Member.stage)).all(),
            "allowed_audits": session.exec(
                select(sa.func.count()).select_from(AuditLog).where(AuditLog.allowed)
            ).one(),
            "idempotency": session.exec(
                select(sa.func.count()).select_from(IdempotencyRecord)
            ).one(),
        }


COMMANDS = {
    "stats": "/stats 7",
    "sale": "/sale M000001 500 POS-1",
    "use": "/use {code}",
    "grant": "/grant M000001 100 because",
    "member": "/member M000001",
    "broadcast": "/broadcast",
    "campaigns": "/campaigns",
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_member_sending_an_admin_command_is_refused_and_audited(dialogs, db, shop, name):
    mallory = ChatUser(dialogs, "mallory", language="en")
    mallory.say("/start")
    mallory.tap("Agree")
    before = state(db)
    mallory.say(COMMANDS[name].format(code=shop))
    assert mallory.text == "Sorry, that command is for admins only."
    assert mallory.last.notices == []
    assert state(db) == before
    with db.reader() as session:
        [refusal] = session.exec(select(AuditLog).where(AuditLog.allowed == False)).all()  # noqa: E712
    assert (refusal.actor, refusal.action) == ("console:mallory", f"command:{name}")
    assert refusal.details == {"reason": "not an admin"}


def test_an_admin_command_from_a_button_is_refused_too(dialogs, db, shop):
    prospect = ChatUser(dialogs, "pat", language="en")
    prospect.say("hello")
    before = state(db)
    prospect.press(Button("stats", "cmd:stats"))  # a crafted button payload
    assert prospect.text == "Sorry, that command is for admins only."
    assert state(db) == before
    with db.reader() as session:
        assert session.exec(select(AuditLog.action).where(AuditLog.allowed == False)).all() == [  # noqa: E712
            "command:stats"
        ]


MALFORMED = [
    ("/sale", "Usage: /sale"),
    ("/sale abc", "Usage: /sale"),
    ("/sale M000001", "Usage: /sale"),
    ("/sale M000001 -5", "The amount must be a positive number"),
    ("/sale M000001 0", "The amount must be a positive number"),
    ("/sale M000001 1.234", "at most two decimals"),
    ("/sale M000001 abc", "The amount must be a positive number"),
    ("/sale M000001 NaN", "The amount must be a positive number"),
    ("/sale M000001 1e9", "The amount must be a positive number"),
    ("/sale M000001 100 POS-1 extra", "Usage: /sale"),
    ("/sale M000001 100 " + "X" * 101, "The order id is too long (at most 100 characters)"),
    ("/sale M000099 100", "No member matches “M000099”"),
    ("/sale abc 100", "No member matches “abc”"),
    ("/use", "Usage: /use"),
    ("/use 🙂", "No coupon has the code “🙂”"),
    ("/use " + "A" * 300, "No coupon has the code"),
    ("/grant", "Usage: /grant"),
    ("/grant M1 -5", "POINTS must be a whole number from 1 to 100,000"),
    ("/grant M1 -5 oops", "POINTS must be a whole number"),
    ("/grant M000001 0 zero", "POINTS must be a whole number"),
    ("/grant M000001 1.5 half", "POINTS must be a whole number"),
    ("/grant M000001 100001 too many", "POINTS must be a whole number"),
    ("/grant M000001 50", "Please add a reason"),
    ("/grant M000001 50 " + "x" * 201, "The reason is too long (at most 200 characters)"),
    ("/grant M000099 50 nobody", "No member matches “M000099”"),
    ("/member", "Usage: /member"),
    ("/member " + "9" * 150, "Usage: /member"),
    ("/stats 0", "DAYS must be a whole number from 1 to 3,650"),
    ("/stats 3651", "DAYS must be a whole number"),
    ("/stats -1", "DAYS must be a whole number"),
    ("/stats week", "DAYS must be a whole number"),
    ("/stats 7 8", "DAYS must be a whole number"),
]


@pytest.mark.parametrize(("message", "expected"), MALFORMED, ids=[m for m, _ in MALFORMED])
def test_malformed_admin_arguments_get_a_usage_reply_and_change_nothing(
    dialogs, db, shop, message, expected
):
    staff = ChatUser(dialogs, "staff", language="en")
    staff.say("hello")
    before = state(db)
    staff.say(message)
    assert expected in staff.text
    assert "something went wrong" not in staff.text
    assert staff.last.notices == []
    assert state(db) == before


def test_usage_replies_are_in_the_admins_language(dialogs, db, shop):
    staff = ChatUser(dialogs, "staff")
    staff.say("/grant M1 -5")
    assert "點數必須是 1 到 100,000 的整數" in staff.text
    assert "用法：/grant" in staff.text
