"""Stock and per-member limits under real concurrent claims, on SQLite and PostgreSQL."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import select

from core.coupons import claim_coupon
from core.kernel import CouponLimitReached, CouponOutOfStock, DomainError, InsufficientPoints
from core.models import CouponGrant, LedgerEntry, Member
from tests.support.coupons import define, definition, give_points
from tests.support.members import new_member

WORKERS = 32  # more than the PostgreSQL pool's 30 connections: some claims queue for one


def claim_all(db, clock, programme, member_ids, code="TEST"):
    """Claim at once from many threads, each with its own session; returns what each got:
    "granted" or the domain error's code. Anything else fails the test."""

    def one(member_id):
        with db.session() as session:
            try:
                claim_coupon(
                    session,
                    clock=clock,
                    programme=programme,
                    member_id=member_id,
                    coupon_code=code,
                    channel="telegram",
                )
            except DomainError as error:
                return error.code
            return "granted"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return Counter(pool.map(one, member_ids))


def make_members(db, clock, programme, count):
    return [new_member(db, clock, programme, f"member{index}") for index in range(count)]


def test_200_concurrent_claims_of_10_coupons_grant_exactly_10(db, clock, programme):
    members = make_members(db, clock, programme, 200)
    define(db, clock, stock=10)
    outcome = claim_all(db, clock, programme, members)
    assert outcome == {"granted": 10, CouponOutOfStock.code: 190}
    assert definition(db).claimed == 10
    with db.session() as session:
        granted = session.exec(select(CouponGrant)).all()
        assert len(granted) == 10
        assert len({grant.member_id for grant in granted}) == 10
        assert len({grant.code for grant in granted}) == 10
        decided = session.exec(select(Member).where(Member.stage == "decision")).all()
        assert {member.id for member in decided} == {grant.member_id for grant in granted}


def test_one_member_claiming_at_once_gets_no_more_than_the_limit(db, clock, programme):
    (member_id,) = make_members(db, clock, programme, 1)
    define(db, clock, per_member_limit=2)
    outcome = claim_all(db, clock, programme, [member_id] * 40)
    assert outcome == {"granted": 2, CouponLimitReached.code: 38}
    assert definition(db).claimed == 2


def test_concurrent_paid_claims_never_overspend_points(db, clock, programme):
    (member_id,) = make_members(db, clock, programme, 1)
    give_points(db, clock, programme, member_id, 1000)
    define(db, clock, kind="gift", value=0, points_cost=300, per_member_limit=10, stock=5)
    outcome = claim_all(db, clock, programme, [member_id] * 12)
    assert outcome == {"granted": 3, InsufficientPoints.code: 9}
    assert definition(db).claimed == 3
    with db.session() as session:
        assert session.get(Member, member_id).points_balance == 100
        spends = session.exec(select(LedgerEntry).where(LedgerEntry.source == "coupon")).all()
        assert sorted(entry.amount for entry in spends) == [-300, -300, -300]


def test_stock_and_limits_hold_together_under_a_mixed_rush(db, clock, programme):
    members = make_members(db, clock, programme, 30)
    define(db, clock, stock=25, per_member_limit=2)
    outcome = claim_all(db, clock, programme, members * 3)
    assert outcome["granted"] == 25
    assert (
        outcome["granted"] + outcome[CouponOutOfStock.code] + outcome[CouponLimitReached.code]
        == len(members) * 3
    )
    with db.session() as session:
        per_member = Counter(grant.member_id for grant in session.exec(select(CouponGrant)))
    assert max(per_member.values()) <= 2
    assert sum(per_member.values()) == definition(db).claimed == 25
