import hashlib
import json

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.kernel import MemberErased, MemberNotFound
from core.members import find_member, register_contact, update_profile
from core.models import (
    AuditLog,
    ChannelIdentity,
    ChatState,
    CouponDefinition,
    CouponGrant,
    Event,
    FunnelDaily,
    LedgerEntry,
    Member,
    MemberTag,
    Purchase,
    StageEntry,
    Survey,
    SurveyAnswer,
    SurveyProgress,
    SurveyQuestion,
)
from core.points import adjust_points
from core.privacy import erase_member, export_member_data
from core.purchases import record_purchase
from core.rewards import check_in
from tests.support.members import new_member


def _buy(db, clock, programme, member_id: int, order_id: str, amount: int = 350) -> None:
    with db.session() as session:
        record_purchase(
            session,
            clock=clock,
            programme=programme,
            member_id=member_id,
            amount=amount,
            order_id=order_id,
        )


def _answer_survey(db, clock, member_id: int, text: str) -> None:
    """A finished survey with a rating and a free-text answer, written straight to the tables."""
    now = clock.now()
    with db.session() as session:
        survey = session.exec(select(Survey).where(Survey.code == "feedback")).first()
        if survey is None:
            survey = Survey(code="feedback", title={"en": "Feedback"}, created_at=now)
            session.add(survey)
            session.flush()
            for position, (key, kind) in enumerate((("score", "rating"), ("why", "text"))):
                session.add(
                    SurveyQuestion(
                        survey_id=survey.id, position=position, key=key, kind=kind, text={"en": key}
                    )
                )
            session.flush()
        questions = session.exec(
            select(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)
        ).all()
        progress = SurveyProgress(
            member_id=member_id,
            survey_id=survey.id,
            status="completed",
            position=2,
            started_at=now,
            updated_at=now,
            completed_at=now,
        )
        session.add(progress)
        session.flush()
        for question in questions:
            session.add(
                SurveyAnswer(
                    progress_id=progress.id,
                    question_id=question.id,
                    value_int=4 if question.kind == "rating" else None,
                    value_text=text if question.kind == "text" else None,
                    created_at=now,
                )
            )
        session.commit()


def _give_coupon(db, clock, member_id: int, code: str) -> None:
    now = clock.now()
    with db.session() as session:
        definition = session.exec(select(CouponDefinition)).first()
        if definition is None:
            definition = CouponDefinition(
                code="WELCOME",
                title={"en": "Welcome"},
                kind="amount_off",
                value=50,
                created_at=now,
                updated_at=now,
            )
            session.add(definition)
            session.flush()
        session.add(
            CouponGrant(
                definition_id=definition.id,
                member_id=member_id,
                code=code,
                status="active",
                claimed_at=now,
                idempotency_key=f"test:{code}",
            )
        )
        session.commit()


def _rich_member(db, clock, programme, name: str, order_id: str) -> int:
    """A member with a profile, a tag, a purchase, a check-in, a coupon and a survey."""
    member_id = new_member(db, clock, programme, name)
    phone = {"alice": "0912345678", "bob": "0987654321"}[name]
    with db.session() as session:
        update_profile(
            session,
            clock=clock,
            member_id=member_id,
            channel="console",
            phone=phone,
            email=f"{name}@example.com",
            birthday="1990-05-17",
        )
    with db.session() as session:
        session.add(MemberTag(member_id=member_id, tag=f"likes-{name}"))
        session.add(
            ChatState(
                channel="console",
                user_id=name,
                state="x",
                data={"phone": phone},
                expires_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        session.commit()
    _buy(db, clock, programme, member_id, order_id)
    with db.session() as session:
        check_in(session, clock=clock, programme=programme, member_id=member_id, channel="console")
    _give_coupon(db, clock, member_id, f"C-{name.upper()}")
    _answer_survey(db, clock, member_id, f"{name.title()} says the latte was cold")
    return member_id


def _export(db, member_id: int) -> dict:
    with db.session() as session:
        return export_member_data(session, member_id=member_id)


def _erase(db, clock, member_id: int):
    with db.session() as session:
        return erase_member(session, clock=clock, member_id=member_id, actor="telegram:1")


def test_an_export_holds_the_members_data_and_nobody_elses(db, clock, programme):
    alice = _rich_member(db, clock, programme, "alice", "POS-A1")
    bob = _rich_member(db, clock, programme, "bob", "POS-B1")
    data = _export(db, alice)
    dumped = json.dumps(data)  # plain JSON, nothing left to convert
    assert data["profile"]["display_name"] == "Alice"
    assert data["profile"]["phone"] == "+886912345678"
    assert data["consent"]["version"] == programme.consent.version
    assert [(i["channel"], i["platform_user_id"]) for i in data["identities"]] == [
        ("console", "alice")
    ]
    assert data["tags"] == ["likes-alice"]
    assert [p["order_id"] for p in data["purchases"]] == ["POS-A1"]
    assert data["purchases"][0]["amount"] == "350.00"
    assert sorted(e["amount"] for e in data["points"]["ledger"]) == [5, 350]
    assert data["points"]["balance"] == 355
    assert [c["code"] for c in data["coupons"]] == ["C-ALICE"]
    assert [a["text"] for a in data["surveys"][0]["answers"]] == [
        None,
        "Alice says the latte was cold",
    ]
    assert [c["day"] for c in data["checkins"]] == ["2026-03-02"]
    assert data["tier"]["history"][0]["to"] == "basic"
    assert {"contact", "signup", "purchase", "checkin"} <= {e["type"] for e in data["events"]}
    for other in ("POS-B1", "Bob", "bob@", "+886987654321", "C-BOB", "likes-bob"):
        assert other not in dumped
    assert _export(db, bob)["purchases"][0]["order_id"] == "POS-B1"


def test_an_export_does_not_name_the_friend_a_member_invited(db, clock, programme):
    alice = new_member(db, clock, programme, "alice")
    with db.session() as session:
        code = session.get(Member, alice).invite_code
    bob = new_member(db, clock, programme, "bob", invite_code=code)
    data = _export(db, alice)
    assert data["referrals"]["friends_invited"] == 1
    rewards = [e for e in data["events"] if e["type"] == "referral_reward"]
    assert rewards and all("invitee_id" not in e["details"] for e in rewards)
    assert "Bob" not in json.dumps(data) and bob != alice


def test_an_export_writes_nothing(db, clock, programme):
    alice = _rich_member(db, clock, programme, "alice", "POS-A1")
    with db.session() as session:
        before = (
            session.exec(select(sa.func.count()).select_from(Event)).one(),
            session.get(Member, alice).last_activity_at,
        )
    _export(db, alice)
    with db.session() as session:
        after = (
            session.exec(select(sa.func.count()).select_from(Event)).one(),
            session.get(Member, alice).last_activity_at,
        )
    assert after == before


def test_exporting_an_unknown_member_is_not_found(db):
    with pytest.raises(MemberNotFound):
        _export(db, 999)


def _totals(db) -> tuple:
    with db.session() as session:
        return (
            session.exec(select(sa.func.count()).select_from(Purchase)).one(),
            session.exec(select(sa.func.count()).select_from(LedgerEntry)).one(),
            session.exec(select(sa.func.sum(LedgerEntry.amount))).one(),
            session.exec(select(sa.func.count()).select_from(StageEntry)).one(),
            sorted(
                (row.stage, row.channel, row.entered)
                for row in session.exec(select(FunnelDaily)).all()
            ),
        )


def test_erasure_removes_every_personal_field(db, clock, programme):
    alice = _rich_member(db, clock, programme, "alice", "POS-A1")
    bob = _rich_member(db, clock, programme, "bob", "POS-B1")
    with db.session() as session:
        original_code = session.get(Member, alice).invite_code
        session.add(
            Event(
                member_id=alice,
                channel="console",
                type="message",
                stage="action",
                payload={
                    "text": "hi",
                    "note": "call Alice on 0912345678",
                    "order_id": "POS-A1",
                    "user_id": "alice",
                },
                created_at=clock.now(),
            )
        )
        session.commit()
    with db.session() as session:
        adjust_points(
            session,
            clock=clock,
            programme=programme,
            member_id=alice,
            points=10,
            reason="sorry Alice, the latte was cold",
            actor="telegram:1",
        )
    clock.advance(hours=1)
    result = _erase(db, clock, alice)
    assert (result.identities, result.tags, result.answers) == (1, 1, 1)
    with db.session() as session:
        member = session.get(Member, alice)
        assert (member.display_name, member.phone, member.email, member.birthday) == (None,) * 4
        assert member.external_ref is None
        assert (member.opted_out, member.unreachable, member.erased_at) == (True, True, clock.now())
        assert member.invite_code != original_code
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.member_id == alice)
        ).one()
        assert identity.platform_user_id.startswith("erased:")
        assert "alice" not in identity.platform_user_id
        for plain in ("alice", "console:alice"):
            assert hashlib.sha256(plain.encode()).hexdigest() not in identity.platform_user_id
        assert (identity.display_name, identity.language) == (None, None)
        assert session.exec(select(MemberTag).where(MemberTag.member_id == alice)).all() == []
        assert session.get(ChatState, ("console", "alice")) is None
        assert session.get(ChatState, ("console", "bob")) is not None
        answers = session.exec(
            select(SurveyAnswer, SurveyProgress).join(
                SurveyProgress, SurveyProgress.id == SurveyAnswer.progress_id
            )
        ).all()
        kept = {(p.member_id, a.value_int, a.value_text) for a, p in answers}
        assert kept == {
            (alice, 4, None),
            (alice, None, None),
            (bob, 4, None),
            (bob, None, "Bob says the latte was cold"),
        }
        payloads = json.dumps(
            [e.payload for e in session.exec(select(Event).where(Event.member_id == alice)).all()]
        )
        for personal in ("Alice", "0912345678", '"text"', '"user_id"'):
            assert personal not in payloads
        assert "POS-A1" in payloads
        reasons = session.exec(select(LedgerEntry.reason).where(LedgerEntry.member_id == alice))
        assert "sorry [erased], the latte was cold" in set(reasons)
        assert (
            session.exec(select(AuditLog).where(AuditLog.action == "member.erase")).one().target
            == member.number
        )
        assert session.get(Member, bob).display_name == "Bob"
    with db.session() as session, pytest.raises(MemberNotFound):
        find_member(session, original_code)


def test_erasure_keeps_purchases_the_ledger_and_funnel_counts(db, clock, programme):
    alice = _rich_member(db, clock, programme, "alice", "POS-A1")
    before = _totals(db)
    _erase(db, clock, alice)
    assert _totals(db) == before
    with db.session() as session:
        assert session.exec(select(Purchase)).one().member_id == alice


def test_erasing_twice_changes_nothing_and_returns_the_first_result(db, clock, programme):
    alice = _rich_member(db, clock, programme, "alice", "POS-A1")
    first = _erase(db, clock, alice)
    with db.session() as session:
        hashed = session.exec(select(ChannelIdentity.platform_user_id)).one()
    clock.advance(days=1)
    assert _erase(db, clock, alice) == first
    with db.session() as session:
        assert session.exec(select(ChannelIdentity.platform_user_id)).one() == hashed
        assert session.get(Member, alice).erased_at == first.erased_at
        assert (
            len(session.exec(select(AuditLog).where(AuditLog.action == "member.erase")).all()) == 1
        )


def test_a_returning_chat_user_becomes_a_new_member(db, clock, programme):
    alice = new_member(db, clock, programme, "alice")
    _erase(db, clock, alice)
    with db.session() as session:
        again = register_contact(
            session, clock=clock, programme=programme, channel="console", platform_user_id="alice"
        )
    assert again.new and again.member_id != alice
    with db.session() as session:
        assert session.get(Member, again.member_id).erased_at is None


def test_an_erased_member_cannot_be_exported_or_earn(db, clock, programme):
    alice = new_member(db, clock, programme, "alice")
    _erase(db, clock, alice)
    with pytest.raises(MemberErased):
        _export(db, alice)
    with db.session() as session, pytest.raises(MemberErased):
        check_in(session, clock=clock, programme=programme, member_id=alice, channel="console")
