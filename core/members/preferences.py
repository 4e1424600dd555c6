"""What a member chose or told us: promotions on or off, language, profile; and whether
we can reach them at all (they blocked or unfollowed the bot)."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import Session, select

from core.funnel import log_event
from core.kernel import Clock, InvalidInput, MemberNotFound, local_day, run_once, zone
from core.members.accounts import NAME_MAX, check_phone_free, normalise_phone
from core.models import ChannelIdentity, Member
from core.points import lock_member

LOCALES = {"zh-tw": "zh-TW", "en": "en"}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
EARLIEST_BIRTHDAY = date(1900, 1, 1)


class PreferenceResult(BaseModel):
    member_id: int
    opted_out: bool
    locale: str
    changed: bool


class ProfileResult(BaseModel):
    member_id: int
    changed: list[str]


class ReachabilityResult(BaseModel):
    member_id: int
    channel: str
    identity_unreachable: bool
    member_unreachable: bool
    """True only when every channel the member uses is unreachable."""
    changed: bool


def opt_out(session: Session, *, clock: Clock, member_id: int, channel: str) -> PreferenceResult:
    """/stop: no more promotions to this member (every sender checks `opted_out`)."""
    return _set_opted_out(session, clock=clock, member_id=member_id, channel=channel, value=True)


def opt_in(session: Session, *, clock: Clock, member_id: int, channel: str) -> PreferenceResult:
    """Promotions welcome again."""
    return _set_opted_out(session, clock=clock, member_id=member_id, channel=channel, value=False)


def _set_opted_out(
    session: Session, *, clock: Clock, member_id: int, channel: str, value: bool
) -> PreferenceResult:
    now = clock.now()

    def work() -> PreferenceResult:
        member = lock_member(session, member_id)
        changed = member.opted_out != value
        if changed:
            member.opted_out = value
            member.opted_out_at = now if value else None
            log_event(
                session,
                member=member,
                channel=channel,
                type="opted_out" if value else "opted_in",
                now=now,
            )
        return _preferences(member, changed)

    return run_once(
        session,
        key=None,
        operation="set_opted_out",
        request={},
        result_type=PreferenceResult,
        now=now,
        work=work,
    )


def set_locale(
    session: Session, *, clock: Clock, member_id: int, locale: str, channel: str
) -> PreferenceResult:
    """The member's language for every message: zh-TW or en."""
    chosen = (
        LOCALES.get(locale.strip().lower().replace("_", "-")) if isinstance(locale, str) else None
    )
    if chosen is None:
        raise InvalidInput("the language must be zh-TW or en", locale=str(locale)[:20])
    now = clock.now()

    def work() -> PreferenceResult:
        member = lock_member(session, member_id)
        changed = member.locale != chosen
        if changed:
            member.locale = chosen
            log_event(
                session,
                member=member,
                channel=channel,
                type="locale_changed",
                now=now,
                payload={"locale": chosen},
            )
        return _preferences(member, changed)

    return run_once(
        session,
        key=None,
        operation="set_locale",
        request={},
        result_type=PreferenceResult,
        now=now,
        work=work,
    )


def _preferences(member: Member, changed: bool) -> PreferenceResult:
    return PreferenceResult(
        member_id=member.id or 0, opted_out=member.opted_out, locale=member.locale, changed=changed
    )


def update_profile(
    session: Session,
    *,
    clock: Clock,
    member_id: int,
    channel: str,
    display_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    birthday: date | str | None = None,
) -> ProfileResult:
    """Change profile fields. None leaves a field alone; an empty string clears it.

    Any bad value (a phone that is not one or belongs to another member, an email without
    a domain, a birthday in the future or before 1900) raises InvalidInput and nothing is
    written, not even the good values."""
    wanted = _clean_profile(display_name=display_name, phone=phone, email=email)
    born = _parse_birthday(birthday)
    if born is not None:
        wanted["birthday"] = born or None
    now = clock.now()

    def work() -> ProfileResult:
        member = lock_member(session, member_id)
        if isinstance(born, date) and born > local_day(now, zone(member.timezone)):
            raise InvalidInput("the birthday is in the future", birthday=born.isoformat())
        if wanted.get("phone") and wanted["phone"] != member.phone:
            check_phone_free(session, str(wanted["phone"]))
        changed = sorted(name for name, value in wanted.items() if getattr(member, name) != value)
        for name in changed:
            setattr(member, name, wanted[name])
        if changed:
            # Names of the fields only: the event log must not copy personal data.
            log_event(
                session,
                member=member,
                channel=channel,
                type="profile_updated",
                now=now,
                payload={"fields": changed},
            )
        return ProfileResult(member_id=member_id, changed=changed)

    return run_once(
        session,
        key=None,
        operation="update_profile",
        request={},
        result_type=ProfileResult,
        now=now,
        work=work,
    )


def _clean_profile(
    *, display_name: str | None, phone: str | None, email: str | None
) -> dict[str, object]:
    wanted: dict[str, object] = {}
    if display_name is not None:
        name = display_name.strip()
        if len(name) > NAME_MAX:
            raise InvalidInput(f"a name can have at most {NAME_MAX} characters")
        wanted["display_name"] = name or None
    if phone is not None:
        wanted["phone"] = normalise_phone(phone) if phone.strip() else None
    if email is not None:
        address = email.strip()
        if address and (len(address) > 320 or not EMAIL.match(address)):
            raise InvalidInput("that does not look like an email address", email=address[:100])
        local, _, domain = address.partition("@")
        wanted["email"] = f"{local}@{domain.lower()}" if address else None
    return wanted


def _parse_birthday(value: date | str | None) -> date | str | None:
    """A date, "" to clear, or None to leave alone. The future is checked in the member's
    own time zone, once their row is read."""
    if value is None or value == "":
        return value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput("a birthday is written like 1990-05-17", birthday=value) from None
    if not isinstance(value, date) or value < EARLIEST_BIRTHDAY:
        raise InvalidInput("that birthday is not possible", birthday=str(value))
    return value


def mark_unreachable(
    session: Session, *, clock: Clock, channel: str, platform_user_id: str
) -> ReachabilityResult:
    """The chat user blocked or unfollowed the bot on `channel` (or a send was refused)."""
    return _set_reachable(
        session, clock=clock, channel=channel, platform_user_id=platform_user_id, reachable=False
    )


def mark_reachable(
    session: Session, *, clock: Clock, channel: str, platform_user_id: str
) -> ReachabilityResult:
    """The chat user unblocked or followed the bot again on `channel`."""
    return _set_reachable(
        session, clock=clock, channel=channel, platform_user_id=platform_user_id, reachable=True
    )


def _set_reachable(
    session: Session, *, clock: Clock, channel: str, platform_user_id: str, reachable: bool
) -> ReachabilityResult:
    now = clock.now()

    def work() -> ReachabilityResult:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == channel,
                ChannelIdentity.platform_user_id == platform_user_id,
            )
        ).one_or_none()
        if identity is None:
            raise MemberNotFound("no member uses that chat account", channel=channel)
        member = lock_member(session, identity.member_id)
        changed = identity.unreachable == reachable
        identity.unreachable = not reachable
        states = session.exec(
            select(ChannelIdentity.unreachable).where(
                ChannelIdentity.member_id == member.id, ChannelIdentity.id != identity.id
            )
        ).all()
        member.unreachable = all(states) and not reachable
        if changed:
            log_event(
                session,
                member=member,
                channel=channel,
                type="unblocked" if reachable else "blocked",
                now=now,
            )
        return ReachabilityResult(
            member_id=member.id or 0,
            channel=channel,
            identity_unreachable=identity.unreachable,
            member_unreachable=member.unreachable,
            changed=changed,
        )

    return run_once(
        session,
        key=None,
        operation="set_reachable",
        request={},
        result_type=ReachabilityResult,
        now=now,
        work=work,
    )
