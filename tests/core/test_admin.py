import hashlib

import pytest
from sqlmodel import select

from core.kernel import InvalidInput, NotFound
from core.models import Admin, ApiToken, AuditLog
from core.staff import (
    add_admin,
    chat_user,
    create_api_token,
    record_audit,
    remove_admin,
    revoke_api_token,
    verify_api_token,
)
from core.staff.admins import is_admin
from tests.support.members import new_member


def _audit_actions(db) -> list[tuple[str, str | None, bool]]:
    with db.session() as session:
        rows = session.exec(select(AuditLog).order_by(AuditLog.id)).all()
        return [(row.action, row.target, row.allowed) for row in rows]


def test_adding_an_admin_twice_keeps_one_row_and_one_audit_entry(db, clock):
    with db.session() as session:
        first = add_admin(
            session, clock=clock, channel="telegram", platform_user_id="42", added_by="cli"
        )
    clock.advance(minutes=1)
    with db.session() as session:
        again = add_admin(
            session, clock=clock, channel="telegram", platform_user_id="42", added_by="cli"
        )
    assert (first.changed, again.changed) == (True, False)
    assert again.created_at == first.created_at
    with db.session() as session:
        assert len(session.exec(select(Admin)).all()) == 1
    assert _audit_actions(db) == [("admin.add", "telegram:42", True)]


def test_an_admin_is_one_configured_or_added(db, clock):
    configured = {("line", "U1")}
    with db.session() as session:
        add_admin(session, clock=clock, channel="telegram", platform_user_id="42", added_by="cli")
    with db.session() as session:
        assert is_admin(session, channel="line", platform_user_id="U1", configured=configured)
        assert is_admin(session, channel="telegram", platform_user_id="42", configured=configured)
        assert not is_admin(
            session, channel="telegram", platform_user_id="43", configured=configured
        )
        assert not is_admin(session, channel="line", platform_user_id="42", configured=configured)


def test_a_chat_user_is_found_with_their_admin_rights_in_one_query(db, clock, programme):
    configured = {("console", "carol")}
    alice = new_member(db, clock, programme, "alice")
    new_member(db, clock, programme, "bob")
    new_member(db, clock, programme, "carol")
    with db.session() as session:
        add_admin(session, clock=clock, channel="console", platform_user_id="bob", added_by="cli")
        add_admin(session, clock=clock, channel="console", platform_user_id="dan", added_by="cli")

    def found(user: str) -> tuple[str | None, bool]:
        with db.session() as session:
            member, admin = chat_user(
                session, channel="console", platform_user_id=user, configured=configured
            )
            return (member.display_name if member else None), admin

    assert found("alice") == ("Alice", False)
    assert found("bob") == ("Bob", True)  # added
    assert found("carol") == ("Carol", True)  # configured
    assert found("dan") == (None, True)  # an admin who never wrote to the bot
    assert found("erin") == (None, False)
    with db.session() as session:
        member, _ = chat_user(
            session, channel="telegram", platform_user_id="alice", configured=configured
        )
    assert member is None and alice


def test_a_removed_admin_is_no_longer_one(db, clock):
    with db.session() as session:
        add_admin(session, clock=clock, channel="telegram", platform_user_id="42", added_by="cli")
    with db.session() as session:
        assert remove_admin(
            session, clock=clock, channel="telegram", platform_user_id="42", removed_by="cli"
        )
    with db.session() as session:
        assert not remove_admin(
            session, clock=clock, channel="telegram", platform_user_id="42", removed_by="cli"
        )
        assert not is_admin(session, channel="telegram", platform_user_id="42", configured=set())
    assert [action for action, _, _ in _audit_actions(db)] == ["admin.add", "admin.remove"]


@pytest.mark.parametrize(
    ("channel", "user_id"), [("fax", "42"), ("telegram", ""), ("line", "x" * 129)]
)
def test_a_bad_admin_identity_is_refused(db, clock, channel, user_id):
    with db.session() as session, pytest.raises(InvalidInput):
        add_admin(session, clock=clock, channel=channel, platform_user_id=user_id, added_by="cli")
    with db.session() as session:
        assert session.exec(select(Admin)).all() == []


def test_record_audit_commits_a_refusal(db, clock):
    with db.session() as session:
        record_audit(
            session,
            clock=clock,
            actor="telegram:99",
            action="sale",
            target="M000001",
            allowed=False,
            details={"reason": "not an admin"},
        )
    assert _audit_actions(db) == [("sale", "M000001", False)]


def test_a_new_token_verifies_and_only_its_hash_is_stored(db, clock):
    with db.session() as session:
        plaintext, info = create_api_token(session, clock=clock, name="pos")
    assert plaintext.startswith("lty_") and len(plaintext) >= 40
    assert info.prefix == plaintext[:10] and info.name == "pos"
    with db.session() as session:
        row = session.exec(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext not in (row.token_hash, row.prefix, row.name)
        verified = verify_api_token(session, token=plaintext, clock=clock)
    assert verified is not None and verified.id == info.id
    assert verified.last_used_at == clock.now()
    assert ("token.create", "pos", True) in _audit_actions(db)


def test_two_tokens_differ(db, clock):
    with db.session() as session:
        first, _ = create_api_token(session, clock=clock, name="one")
    with db.session() as session:
        second, _ = create_api_token(session, clock=clock, name="two")
    assert first != second


@pytest.mark.parametrize("guess", ["", "lty_", "lty_nope", "x" * 5000])
def test_a_wrong_token_does_not_verify(db, clock, guess):
    with db.session() as session:
        plaintext, _ = create_api_token(session, clock=clock, name="pos")
    with db.session() as session:
        assert verify_api_token(session, token=guess, clock=clock) is None
        assert verify_api_token(session, token=plaintext[:-1], clock=clock) is None
        stored = session.exec(select(ApiToken)).one().token_hash
        assert verify_api_token(session, token=stored, clock=clock) is None


def test_a_duplicate_token_name_is_refused_and_writes_nothing(db, clock):
    with db.session() as session:
        create_api_token(session, clock=clock, name="pos")
    with db.session() as session, pytest.raises(InvalidInput):
        create_api_token(session, clock=clock, name="pos")
    with db.session() as session:
        assert len(session.exec(select(ApiToken)).all()) == 1
    assert len(_audit_actions(db)) == 1


def test_last_used_is_noted_at_most_once_a_minute(db, clock):
    with db.session() as session:
        plaintext, _ = create_api_token(session, clock=clock, name="pos")
    first_use = clock.now()
    for seconds in (0, 20, 30):
        clock.advance(seconds=seconds)
        with db.session() as session:
            verify_api_token(session, token=plaintext, clock=clock)
    with db.session() as session:
        assert session.exec(select(ApiToken)).one().last_used_at == first_use
    clock.advance(seconds=15)  # a minute since the first use
    with db.session() as session:
        verify_api_token(session, token=plaintext, clock=clock)
    with db.session() as session:
        assert session.exec(select(ApiToken)).one().last_used_at == clock.now()


def test_a_revoked_token_stops_working(db, clock):
    with db.session() as session:
        plaintext, _ = create_api_token(session, clock=clock, name="pos")
    with db.session() as session:
        revoked = revoke_api_token(session, clock=clock, name="pos")
    assert revoked.revoked_at == clock.now()
    with db.session() as session:
        assert verify_api_token(session, token=plaintext, clock=clock) is None
    clock.advance(hours=1)
    with db.session() as session:
        assert revoke_api_token(session, clock=clock, name="pos").revoked_at == revoked.revoked_at
    assert [a for a, _, _ in _audit_actions(db)] == ["token.create", "token.revoke"]


def test_revoking_an_unknown_token_is_not_found(db, clock):
    with db.session() as session, pytest.raises(NotFound):
        revoke_api_token(session, clock=clock, name="nobody")
