"""Referrals: an invitee signs up with a member's code; both are rewarded once per invitee."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from core.funnel import log_event
from core.kernel import ReferralRejected
from core.models import Member, Referral
from core.points import capped_activity_points, credit, lock_member
from core.programme import Programme
from core.tiers import note_qualifying


def link_invitee(
    session: Session,
    *,
    invitee: Member,
    invite_code: str,
    now: datetime,
    programme: Programme,
    channel: str,
) -> int:
    """Record who invited `invitee` (whose row the caller holds locked) and reward sign-up
    if the programme says so. Returns the referrer's id."""
    referrer = session.exec(
        select(Member).where(Member.invite_code == invite_code.strip().upper())
    ).one_or_none()
    if referrer is None or referrer.erased_at is not None or referrer.consent_at is None:
        raise ReferralRejected("unknown invite code", code=invite_code)
    if referrer.id == invitee.id:
        raise ReferralRejected("you cannot invite yourself", code=invite_code)
    if session.get(Referral, invitee.id) is not None or invitee.referrer_id is not None:
        raise ReferralRejected("you were already invited by someone", code=invite_code)
    referral = Referral(invitee_id=invitee.id or 0, referrer_id=referrer.id or 0, created_at=now)
    session.add(referral)
    invitee.referrer_id = referrer.id
    if programme.referral.reward_on in ("signup", "both"):
        _reward(
            session,
            referral=referral,
            invitee=invitee,
            moment="signup",
            now=now,
            programme=programme,
            channel=channel,
        )
        referral.signup_rewarded_at = now
    return referrer.id or 0


def reward_first_purchase(
    session: Session, *, invitee: Member, now: datetime, programme: Programme, channel: str
) -> bool:
    """On the invitee's first purchase, reward both sides if the programme says so (once)."""
    if programme.referral.reward_on not in ("first_purchase", "both"):
        return False
    referral = session.get(Referral, invitee.id)
    if referral is None or referral.purchase_rewarded_at is not None:
        return False
    _reward(
        session,
        referral=referral,
        invitee=invitee,
        moment="purchase",
        now=now,
        programme=programme,
        channel=channel,
    )
    referral.purchase_rewarded_at = now
    return True


def _reward(
    session: Session,
    *,
    referral: Referral,
    invitee: Member,
    moment: str,
    now: datetime,
    programme: Programme,
    channel: str,
) -> None:
    rule = programme.referral
    # The invitee is locked by the caller. Referrers signed up before their invitees, so
    # the referral graph has no cycles and invitee-then-referrer locking cannot deadlock.
    referrer = lock_member(session, referral.referrer_id)
    for member, points, side in (
        (referrer, rule.referrer_points, "referrer"),
        (invitee, rule.invitee_points, "invitee"),
    ):
        allowed = capped_activity_points(
            session, member=member, wanted=points, now=now, programme=programme
        )
        if allowed > 0:
            credit(
                session,
                member=member,
                amount=allowed,
                kind="earn",
                source="referral",
                reason=f"referral {moment}",
                actor="system",
                key=f"referral:{referral.invitee_id}:{moment}:{side}",
                now=now,
                programme=programme,
            )
        log_event(
            session,
            member=member,
            channel=channel,
            type="referral_reward",
            now=now,
            payload={
                "side": side,
                "moment": moment,
                "points": allowed,
                "invitee_id": referral.invitee_id,
            },
        )
    note_qualifying(
        session,
        member=referrer,
        amount=programme.tiers.growth_per_referral,
        source="referral",
        now=now,
        programme=programme,
        channel=channel,
    )
