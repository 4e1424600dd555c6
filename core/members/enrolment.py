"""Members enrolled by the brand's own systems (a POS or CRM), under the brand's reference."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, select

from core.funnel import advance_stage, log_event
from core.kernel import (
    CLOCK_SKEW,
    Clock,
    ConsentRequired,
    InvalidInput,
    MemberExists,
    as_utc,
    run_once,
)
from core.members.accounts import (
    CHANNELS,
    NAME_MAX,
    check_phone_free,
    member_locale,
    new_invite_code,
    normalise_phone,
)
from core.models import Member, TierChange
from core.programme import Programme
from core.stats import note_signup

EXTERNAL_REF_MAX = 100


class EnrolResult(BaseModel):
    member_id: int
    number: str
    stage: str


def enrolment_key(external_ref: str) -> str:
    """The idempotency key that keeps one enrolment per brand reference."""
    return f"enrol:{external_ref}"


def enrol_member(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    external_ref: str,
    display_name: str | None = None,
    phone: str | None = None,
    locale: str | None = None,
    consent_version: str | None = None,
    consent_at: datetime | None = None,
    channel: str = "api",
) -> EnrolResult:
    """Create a member the brand already knows, keyed by its own customer reference.

    Without consent the member is in the awareness stage: known, not signed up, sent no
    promotions. With consent (the programme's current version, given at the brand, when
    `consent_at` says; default now) the member is signed up (interest). The stage entries
    are dated now, when the programme learnt of them; the consent keeps its own time.

    Repeating the same request returns the first result; the same reference with other
    details raises IdempotencyConflict; a reference already on a member raises MemberExists.
    A member enrolled so has no chat account yet."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}")
    ref = (external_ref or "").strip()
    if not 0 < len(ref) <= EXTERNAL_REF_MAX:
        raise InvalidInput(f"the reference must be 1–{EXTERNAL_REF_MAX} characters")
    name = (display_name or "").strip()[:NAME_MAX] or None
    phone = normalise_phone(phone) if phone and phone.strip() else None
    now = clock.now()
    consented = _consent_time(consent_version, consent_at, programme=programme, now=now)
    request = {
        "display_name": name,
        "phone": phone,
        "locale": locale,
        "consent_version": consent_version,
        "consent_at": consent_at.isoformat() if consent_at else None,
    }

    def work() -> EnrolResult:
        taken = session.exec(select(Member).where(Member.external_ref == ref)).first()
        if taken is not None:
            raise MemberExists("a member already has that reference", number=taken.number)
        if phone:
            check_phone_free(session, phone)
        member = _new_member(ref, name, phone, locale, channel, programme=programme, now=now)
        session.add(member)
        session.flush()
        session.add(
            TierChange(member_id=member.id or 0, to_tier=member.tier, reason="join", created_at=now)
        )
        advance_stage(
            session, member=member, to="awareness", channel=channel, now=now, programme=programme
        )
        log_event(session, member=member, channel=channel, type="enrolled", now=now)
        if consented is not None:
            member.consent_version, member.consent_at = consent_version, consented
            note_signup(session, consent_at=consented, programme=programme)
            advance_stage(
                session, member=member, to="interest", channel=channel, now=now, programme=programme
            )
            log_event(
                session,
                member=member,
                channel=channel,
                type="signup",
                now=now,
                payload={"consent_version": consent_version},
            )
        return EnrolResult(member_id=member.id or 0, number=member.number, stage=member.stage)

    return run_once(
        session,
        key=enrolment_key(ref),
        operation="enrol_member",
        request=request,
        result_type=EnrolResult,
        now=now,
        work=work,
    )


def _consent_time(
    version: str | None, given_at: datetime | None, *, programme: Programme, now: datetime
) -> datetime | None:
    if version is None:
        if given_at is not None:
            raise InvalidInput("a consent time needs the consent version it was given to")
        return None
    if version != programme.consent.version:
        raise ConsentRequired(
            "consent was given to another text than the current one",
            current=programme.consent.version,
        )
    when = as_utc(given_at) if given_at else now
    if when > now + CLOCK_SKEW:
        raise InvalidInput("the consent time is in the future", given_at=when.isoformat())
    return when


def _new_member(
    ref: str,
    name: str | None,
    phone: str | None,
    locale: str | None,
    channel: str,
    *,
    programme: Programme,
    now: datetime,
) -> Member:
    return Member(
        external_ref=ref,
        display_name=name,
        phone=phone,
        locale=member_locale(locale, programme),
        timezone=programme.timezone,
        source_channel=channel,
        invite_code=new_invite_code(),
        tier=programme.tiers.levels[0].code,
        tier_since=now,
        stage="",
        stage_at=now,
        created_at=now,
    )
