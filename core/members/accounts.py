"""Members: first contact (awareness), sign-up with consent (interest), and finding a member."""

from __future__ import annotations

import re
import secrets

from pydantic import BaseModel
from sqlmodel import Session, select

from core.funnel import advance_stage, log_event
from core.kernel import (
    MAX_INT,
    AlreadySignedUp,
    Clock,
    ConsentRequired,
    InvalidInput,
    MemberNotFound,
    run_once,
)
from core.models import ChannelIdentity, Member, TierChange
from core.points import lock_member
from core.programme import Programme
from core.stats import note_signup

CHANNELS = ("telegram", "line", "console", "api", "import")
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by hand on LINE
MEMBER_NUMBER = re.compile(r"^M(\d{1,12})$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[0-9][0-9 -]{6,18}[0-9]$")
NAME_MAX = 200


class ContactResult(BaseModel):
    member_id: int
    number: str
    new: bool
    signed_up: bool


class SignUpResult(BaseModel):
    member_id: int
    number: str
    stage: str
    referrer_id: int | None = None


def member_locale(language: str | None, programme: Programme) -> str:
    """The supported locale closest to a platform's language code (zh-hant, en-US, …)."""
    if language:
        lowered = language.lower()
        if lowered.startswith("en"):
            return "en"
        if lowered.startswith("zh"):
            return "zh-TW"
    return programme.locale


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


def register_contact(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    channel: str,
    platform_user_id: str,
    display_name: str | None = None,
    language: str | None = None,
) -> ContactResult:
    """First contact from a chat user (a follow, a /start): the member, created in the
    awareness stage if new. Repeating it finds the same member."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}")
    if not platform_user_id or len(platform_user_id) > 128:
        raise InvalidInput("platform user id must be 1–128 characters")
    now = clock.now()

    def work() -> ContactResult:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == channel,
                ChannelIdentity.platform_user_id == platform_user_id,
            )
        ).one_or_none()
        if identity is not None:
            identity.last_seen_at = now
            if display_name:
                identity.display_name = display_name[:NAME_MAX]
            member = session.get(Member, identity.member_id)
            assert member is not None
            return ContactResult(
                member_id=member.id or 0,
                number=member.number,
                new=False,
                signed_up=member.signed_up,
            )
        member = Member(
            display_name=(display_name or "")[:NAME_MAX] or None,
            locale=member_locale(language, programme),
            timezone=programme.timezone,
            source_channel=channel,
            invite_code=new_invite_code(),
            tier=programme.tiers.levels[0].code,
            tier_since=now,
            stage="",
            stage_at=now,
            created_at=now,
        )
        session.add(member)
        session.flush()
        session.add(
            ChannelIdentity(
                member_id=member.id or 0,
                channel=channel,
                platform_user_id=platform_user_id,
                display_name=member.display_name,
                language=language,
                created_at=now,
                last_seen_at=now,
            )
        )
        session.add(
            TierChange(member_id=member.id or 0, to_tier=member.tier, reason="join", created_at=now)
        )
        advance_stage(
            session, member=member, to="awareness", channel=channel, now=now, programme=programme
        )
        log_event(session, member=member, channel=channel, type="contact", now=now)
        return ContactResult(
            member_id=member.id or 0, number=member.number, new=True, signed_up=False
        )

    return run_once(
        session,
        key=None,
        operation="register_contact",
        request={},
        result_type=ContactResult,
        now=now,
        work=work,
    )


def sign_up(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    member_id: int,
    consent_version: str | None,
    channel: str,
    invite_code: str | None = None,
    phone: str | None = None,
) -> SignUpResult:
    """Give consent and become a member (interest stage). Needs the current consent version.

    An invite code links the referrer; rewards follow the programme's referral rule."""
    if consent_version is None:
        raise ConsentRequired("sign-up needs the member's consent")
    if consent_version != programme.consent.version:
        raise ConsentRequired(
            "consent was given to an older text", current=programme.consent.version
        )
    if phone is not None:
        phone = normalise_phone(phone)
    now = clock.now()

    def work() -> SignUpResult:
        member = lock_member(session, member_id)
        if member.consent_at is not None:
            raise AlreadySignedUp("already a member", number=member.number)
        if phone and phone != member.phone:
            check_phone_free(session, phone)
        member.consent_version = consent_version
        member.consent_at = now
        note_signup(session, consent_at=now, programme=programme)
        if phone:
            member.phone = phone
        referrer_id = None
        if invite_code:
            from core.rewards import link_invitee

            referrer_id = link_invitee(
                session,
                invitee=member,
                invite_code=invite_code,
                now=now,
                programme=programme,
                channel=channel,
            )
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
        return SignUpResult(
            member_id=member.id or 0,
            number=member.number,
            stage=member.stage,
            referrer_id=referrer_id,
        )

    return run_once(
        session,
        key=None,
        operation="sign_up",
        request={},
        result_type=SignUpResult,
        now=now,
        work=work,
    )


def normalise_phone(phone: str) -> str:
    cleaned = phone.strip()
    if not PHONE.match(cleaned):
        raise InvalidInput("that does not look like a phone number", phone=phone)
    digits = re.sub(r"[ -]", "", cleaned)
    if digits.startswith("09") and len(digits) == 10:  # Taiwanese mobile, 0912345678
        digits = "+886" + digits[1:]
    return digits


def check_phone_free(session: Session, phone: str) -> None:
    """A phone number identifies one member (staff look members up by it)."""
    if session.exec(select(Member.id).where(Member.phone == phone)).first() is not None:
        raise InvalidInput("that phone number belongs to another member", phone=phone)


def find_member(session: Session, query: str) -> Member:
    """A member by number (M000123), phone, the brand's own reference, or invite code."""
    text = query.strip()
    if not text:
        raise InvalidInput("say which member: a member number like M000123 or a phone number")
    member: Member | None = None
    if (match := MEMBER_NUMBER.match(text)) and int(match.group(1)) <= MAX_INT:
        member = session.get(Member, int(match.group(1)))
    if member is None and PHONE.match(text):
        member = session.exec(select(Member).where(Member.phone == normalise_phone(text))).first()
    if member is None:
        member = session.exec(select(Member).where(Member.external_ref == text)).first()
    if member is None:
        member = session.exec(select(Member).where(Member.invite_code == text.upper())).first()
    if member is None or member.erased_at is not None:
        raise MemberNotFound("no member matches that", query=text)
    return member


def member_by_identity(session: Session, *, channel: str, platform_user_id: str) -> Member | None:
    identity = session.exec(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.platform_user_id == platform_user_id,
        )
    ).one_or_none()
    return session.get(Member, identity.member_id) if identity else None
