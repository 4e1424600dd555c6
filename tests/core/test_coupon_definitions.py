from datetime import UTC, datetime

import pytest
from sqlmodel import select

from core.coupons import CODE_ALPHABET, define_coupon, sync_coupon_definitions
from core.coupons.codes import new_code, normalise_code
from core.kernel import CouponCodeUnknown, InvalidInput
from core.models import CouponDefinition
from core.programme import CouponRule, Programme
from tests.support.coupons import claim, define, definition
from tests.support.members import new_member


def sync(db, clock, programme):
    with db.session() as session:
        return sync_coupon_definitions(session, clock=clock, programme=programme)


def rows(db):
    with db.session() as session:
        return {row.code: row for row in session.exec(select(CouponDefinition)).all()}


def test_sync_creates_the_config_coupons_and_a_second_run_changes_nothing(db, clock, programme):
    first = sync(db, clock, programme)
    assert first.created == [rule.code for rule in programme.coupons]
    created = rows(db)
    welcome = created["WELCOME50"]
    assert (welcome.kind, welcome.value, welcome.min_spend, welcome.valid_days) == (
        "amount_off",
        50,
        200,
        30,
    )
    assert welcome.eligibility["new_members_days"] == 30
    assert welcome.title["en"] == "NT$50 off for new members"
    assert welcome.source == "config"
    clock.advance(days=1)
    again = sync(db, clock, programme)
    assert (again.created, again.updated, again.deactivated) == ([], [], [])
    assert {code: row.updated_at for code, row in rows(db).items()} == {
        code: row.updated_at for code, row in created.items()
    }


def test_sync_updates_changed_coupons_but_keeps_the_stock_taken(db, clock, programme):
    sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    claim(db, clock, programme, member_id, "SPEND500SAVE100")
    changed = [
        rule.model_copy(update={"stock": 800}) if rule.code == "SPEND500SAVE100" else rule
        for rule in programme.coupons
    ]
    clock.advance(hours=1)
    result = sync(db, clock, Programme(coupons=changed))
    assert result.updated == ["SPEND500SAVE100"]
    row = definition(db, "SPEND500SAVE100")
    assert (row.stock, row.claimed, row.updated_at) == (800, 1, clock.now())


def test_coupons_removed_from_the_config_are_switched_off_not_deleted(db, clock, programme):
    sync(db, clock, programme)
    define(db, clock, "FROM-API")
    kept = [rule for rule in programme.coupons if rule.code != "LATTE-FREE"]
    result = sync(db, clock, Programme(coupons=kept))
    assert result.deactivated == ["LATTE-FREE"]
    after = rows(db)
    assert after["LATTE-FREE"].active is False
    assert after["FROM-API"].active is True  # only the config's own coupons follow the config
    assert sync(db, clock, Programme(coupons=kept)).deactivated == []
    assert sync(db, clock, programme).updated == ["LATTE-FREE"]
    assert rows(db)["LATTE-FREE"].active is True


def test_define_coupon_creates_then_updates_by_code(db, clock):
    rule = CouponRule(
        code="FLASH",
        title="閃購",
        kind="percent_off",
        value=20,
        stock=100,
        valid_until=datetime(2026, 4, 1, 8, tzinfo=UTC),
    )
    with db.session() as session:
        created = define_coupon(session, clock=clock, rule=rule)
    with db.session() as session:
        same = define_coupon(session, clock=clock, rule=rule)
    with db.session() as session:
        updated = define_coupon(session, clock=clock, rule=rule.model_copy(update={"value": 30}))
    assert (created.created, same.created, same.changed) == (True, False, False)
    assert (updated.id, updated.changed) == (created.id, True)
    row = definition(db, "FLASH")
    assert (row.value, row.source, row.title) == (30, "api", {"*": "閃購"})
    assert row.valid_until == datetime(2026, 4, 1, 8, tzinfo=UTC)


def test_define_coupon_refuses_an_unknown_source(db, clock):
    rule = CouponRule(code="X", title="x", kind="gift")
    with db.session() as session, pytest.raises(InvalidInput):
        define_coupon(session, clock=clock, rule=rule, source="somewhere-else")
    assert rows(db) == {}


def test_new_codes_avoid_look_alike_characters():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    used = set("".join(codes).replace("-", ""))
    assert used <= set(CODE_ALPHABET)
    assert not used & set("01OI")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("abcd-efgh", "ABCD-EFGH"),
        ("ABCDEFGH", "ABCD-EFGH"),
        (" ab cd ef gh ", "ABCD-EFGH"),
        ("ＡＢＣＤ－ＥＦＧＨ", "ABCD-EFGH"),
        ("ABCD–EFGH", "ABCD-EFGH"),
    ],
)
def test_typed_codes_are_normalised(typed, stored):
    assert normalise_code(typed) == stored


@pytest.mark.parametrize("typed", ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG0", "ABCD-EFGI", "€€€€"])
def test_malformed_codes_are_unknown(typed):
    with pytest.raises(CouponCodeUnknown):
        normalise_code(typed)


@pytest.mark.parametrize(
    "fields",
    [{"stock": 2**31}, {"points_cost": 2**31}, {"min_spend": 2**40}, {"valid_days": 100_000}],
)
def test_define_coupon_refuses_numbers_beyond_the_columns(db, clock, fields):
    rule = CouponRule(code="BIG", title="x", kind="gift", **fields)
    with db.session() as session, pytest.raises(InvalidInput):
        define_coupon(session, clock=clock, rule=rule)
    assert rows(db) == {}
