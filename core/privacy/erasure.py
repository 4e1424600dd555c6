"""Erasing a member (/deleteme): personal data gone, platform ids replaced by irreversible
hashes, anonymous totals kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.chat import user_key
from core.funnel import log_event
from core.kernel import Clock, run_once
from core.members import (
    enrolment_key,
)
from core.models import (
    ChannelIdentity,
    ChatState,
    Event,
    IdempotencyRecord,
    InboundUpdate,
    LedgerEntry,
    Member,
    MemberScore,
    MemberTag,
    SurveyAnswer,
    SurveyProgress,
    SurveyQuestion,
)
from core.outbox import forget_member
from core.points import lock_member
from core.privacy.scrub import personal_values, scrub, scrub_audit_log, scrub_text
from core.staff import audit
from core.stats import note_erasure

ERASED_PREFIX = "erased:"


class ErasureResult(BaseModel):
    member_id: int
    number: str
    erased_at: datetime
    identities: int
    tags: int
    answers: int
    events: int


def erase_member(session: Session, *, clock: Clock, member_id: int, actor: str) -> ErasureResult:
    """Erase the member's personal data and keep only anonymous records: purchases, the
    ledger, stage entries and funnel counts stay, tied to a member row that names nobody.

    Platform ids become irreversible hashes, so the same chat user contacting us again
    becomes a new member. Erasing twice changes nothing and returns the first result."""
    now = clock.now()

    def work() -> ErasureResult:
        member = lock_member(session, member_id)
        identities = list(
            session.exec(select(ChannelIdentity).where(ChannelIdentity.member_id == member_id))
        )
        personal = personal_values(member, identities)
        # A member erasing themselves is audited by member number, not by the chat account
        # the erasure is there to forget.
        own = {user_key(identity.channel, identity.platform_user_id) for identity in identities}
        by = f"member:{member.number}" if actor in own else actor
        scrub_audit_log(session, personal, own=own, number=member.number)
        _forget_failed_updates(session, identities)
        _forget_enrolment_key(session, member)
        _erase_identities(session, identities)
        forget_member(session, member_id=member_id)  # the outbox keeps no chat id either
        note_erasure(session, member=member, now=now)
        _erase_profile(member, now)
        result = ErasureResult(
            member_id=member_id,
            number=member.number,
            erased_at=now,
            identities=len(identities),
            tags=_delete_tags(session, member_id),
            answers=_blank_text_answers(session, member_id),
            events=_scrub_events(session, member_id, personal),
        )
        _scrub_ledger_reasons(session, member_id, personal)
        # Predictions about a person are personal data too; the next scoring run leaves
        # erased members out.
        session.execute(sa.delete(MemberScore).where(col(MemberScore.member_id) == member_id))
        log_event(session, member=member, channel="system", type="erased", now=now)
        audit(
            session,
            actor=by,
            action="member.erase",
            target=member.number,
            details=result.model_dump(mode="json", include={"identities", "tags", "answers"}),
            now=now,
        )
        return result

    return run_once(
        session,
        key=f"erase:{member_id}",
        operation="erase_member",
        request={"member_id": member_id},
        result_type=ErasureResult,
        now=now,
        work=work,
    )


def _forget_failed_updates(session: Session, identities: list[ChannelIdentity]) -> None:
    """Webhook updates that failed for good keep their body for a look; the member's are
    blanked. (Handled ones kept nothing but their ids; waiting ones are the chat user's
    next words, and make a new member.)"""
    keys = [user_key(identity.channel, identity.platform_user_id) for identity in identities]
    session.execute(
        sa.update(InboundUpdate)
        .where(col(InboundUpdate.user_key).in_(keys), col(InboundUpdate.status) == "failed")
        .values(payload={}, user_key=None)
    )


def _forget_enrolment_key(session: Session, member: Member) -> None:
    """The brand's reference for the member is in the key that kept their enrolment once;
    enrolling that reference again makes a new member."""
    if member.external_ref:
        session.execute(
            sa.delete(IdempotencyRecord).where(
                col(IdempotencyRecord.key) == enrolment_key(member.external_ref)
            )
        )


def _erase_profile(member: Member, now: datetime) -> None:
    member.display_name = None
    member.phone = None
    member.email = None
    member.birthday = None
    member.external_ref = None
    member.segment = None
    # Lower case and "~": an invite lookup upper-cases what it is given, so this never matches.
    member.invite_code = "~" + secrets.token_hex(7)
    member.opted_out = True
    member.opted_out_at = member.opted_out_at or now
    member.unreachable = True
    member.erased_at = now


def _erase_identities(session: Session, identities: list[ChannelIdentity]) -> None:
    """Replace platform ids by a keyed hash whose key is random and never stored: nobody,
    us included, can link the hash back to the chat user, or the chat user to the hash."""
    salt = secrets.token_bytes(32)
    for identity in identities:
        session.execute(
            sa.delete(ChatState).where(
                col(ChatState.channel) == identity.channel,
                col(ChatState.user_id) == identity.platform_user_id,
            )
        )
        raw = f"{identity.channel}:{identity.platform_user_id}".encode()
        identity.platform_user_id = ERASED_PREFIX + hmac.new(salt, raw, hashlib.sha256).hexdigest()
        identity.display_name = None
        identity.language = None
        identity.unreachable = True


def _delete_tags(session: Session, member_id: int) -> int:
    tags = session.exec(select(MemberTag).where(MemberTag.member_id == member_id)).all()
    for tag in tags:
        session.delete(tag)
    return len(tags)


def _blank_text_answers(session: Session, member_id: int) -> int:
    """Free-text answers are blanked; scores and choices stay for the survey's results."""
    answers = session.exec(
        select(SurveyAnswer)
        .join(SurveyProgress, col(SurveyProgress.id) == SurveyAnswer.progress_id)
        .join(SurveyQuestion, col(SurveyQuestion.id) == SurveyAnswer.question_id)
        .where(
            SurveyProgress.member_id == member_id,
            SurveyQuestion.kind == "text",
            col(SurveyAnswer.value_text).is_not(None),
        )
    ).all()
    for answer in answers:
        answer.value_text = None
    return len(answers)


def _scrub_events(session: Session, member_id: int, personal: set[str]) -> int:
    events = session.exec(select(Event).where(Event.member_id == member_id)).all()
    scrubbed = 0
    for event in events:
        cleaned = scrub(event.payload, personal)
        if cleaned != event.payload:
            event.payload = cleaned  # a new object, so the JSON column is written
            scrubbed += 1
    return scrubbed


def _scrub_ledger_reasons(session: Session, member_id: int, personal: set[str]) -> None:
    """Staff may have typed a name into a reason; amounts and kinds stay as they were."""
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.member_id == member_id)).all()
    for entry in entries:
        cleaned = scrub_text(entry.reason, personal)
        if cleaned != entry.reason:
            entry.reason = cleaned
