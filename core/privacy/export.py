"""Everything we hold about one member, as plain JSON (/mydata and the admin API's export)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from core.kernel import MemberErased, MemberNotFound
from core.models import (
    ChannelIdentity,
    Checkin,
    CouponDefinition,
    CouponGrant,
    Event,
    LedgerEntry,
    Member,
    MemberTag,
    Purchase,
    Referral,
    Survey,
    SurveyAnswer,
    SurveyProgress,
    SurveyQuestion,
    TierChange,
)

EXPORT_VERSION = 1


def export_member_data(session: Session, *, member_id: int) -> dict[str, Any]:
    """The member's data: profile, consent, identities, tags, tier and its history, points
    and the ledger, purchases, coupons, survey answers, check-ins, referrals and events.

    Reads only. Holds nothing about other people: no other member's ids, and not which
    staff member recorded what."""
    member = session.get(Member, member_id)
    if member is None:
        raise MemberNotFound("no such member", member_id=member_id)
    if member.erased_at is not None:
        raise MemberErased("this member's data was erased", member_id=member_id)
    data = {
        "export_version": EXPORT_VERSION,
        "profile": _profile(member),
        "consent": {"version": member.consent_version, "given_at": member.consent_at},
        "identities": _identities(session, member_id),
        "tags": sorted(
            session.exec(select(MemberTag.tag).where(MemberTag.member_id == member_id)).all()
        ),
        "tier": _tier(session, member),
        "points": _points(session, member),
        "purchases": _purchases(session, member_id),
        "coupons": _coupons(session, member_id),
        "surveys": _surveys(session, member_id),
        "checkins": _checkins(session, member_id),
        "referrals": _referrals(session, member),
        "events": _events(session, member_id),
    }
    return _jsonable(data)


def _profile(member: Member) -> dict[str, Any]:
    return {
        "number": member.number,
        "display_name": member.display_name,
        "phone": member.phone,
        "email": member.email,
        "birthday": member.birthday,
        "external_ref": member.external_ref,
        "locale": member.locale,
        "timezone": member.timezone,
        "joined_at": member.created_at,
        "joined_on": member.source_channel,
        "invite_code": member.invite_code,
        "stage": member.stage,
        "risk": member.risk,
        "segment": member.segment,
        "opted_out": member.opted_out,
        "opted_out_at": member.opted_out_at,
        "unreachable": member.unreachable,
        "last_activity_at": member.last_activity_at,
    }


def _identities(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(ChannelIdentity)
        .where(ChannelIdentity.member_id == member_id)
        .order_by(col(ChannelIdentity.id))
    ).all()
    return [
        {
            "channel": row.channel,
            "platform_user_id": row.platform_user_id,
            "display_name": row.display_name,
            "language": row.language,
            "first_seen_at": row.created_at,
            "last_seen_at": row.last_seen_at,
            "unreachable": row.unreachable,
        }
        for row in rows
    ]


def _tier(session: Session, member: Member) -> dict[str, Any]:
    history = session.exec(
        select(TierChange).where(TierChange.member_id == member.id).order_by(col(TierChange.id))
    ).all()
    return {
        "current": member.tier,
        "since": member.tier_since,
        "review_at": member.tier_expires_at,
        "history": [
            {"from": row.from_tier, "to": row.to_tier, "reason": row.reason, "at": row.created_at}
            for row in history
        ],
    }


def _points(session: Session, member: Member) -> dict[str, Any]:
    entries = session.exec(
        select(LedgerEntry).where(LedgerEntry.member_id == member.id).order_by(col(LedgerEntry.id))
    ).all()
    return {
        "balance": member.points_balance,
        "pending": member.points_pending,
        "earned_total": member.points_earned_total,
        "ledger": [
            {
                "amount": row.amount,
                "kind": row.kind,
                "source": row.source,
                "reason": row.reason,
                "at": row.created_at,
                "remaining": row.remaining,
                "pending": row.pending,
                "expires_at": row.expires_at,
            }
            for row in entries
        ],
    }


def _purchases(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Purchase).where(Purchase.member_id == member_id).order_by(col(Purchase.id))
    ).all()
    return [
        {
            "order_id": row.order_id,
            "amount": Decimal(row.amount_cents).scaleb(-2),
            "refunded": Decimal(row.refunded_cents).scaleb(-2),
            "category": row.category,
            "at": row.occurred_at,
            "points_earned": row.points_earned,
            "points_reversed": row.points_reversed,
        }
        for row in rows
    ]


def _coupons(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(CouponGrant, CouponDefinition)
        .join(CouponDefinition, col(CouponDefinition.id) == CouponGrant.definition_id)
        .where(CouponGrant.member_id == member_id)
        .order_by(col(CouponGrant.id))
    ).all()
    return [
        {
            "coupon": definition.code,
            "title": definition.title,
            "code": grant.code,
            "status": grant.status,
            "claimed_at": grant.claimed_at,
            "expires_at": grant.expires_at,
            "redeemed_at": grant.redeemed_at,
            "points_spent": grant.points_spent,
        }
        for grant, definition in rows
    ]


def _surveys(session: Session, member_id: int) -> list[dict[str, Any]]:
    progress_rows = session.exec(
        select(SurveyProgress, Survey)
        .join(Survey, col(Survey.id) == SurveyProgress.survey_id)
        .where(SurveyProgress.member_id == member_id)
        .order_by(col(SurveyProgress.id))
    ).all()
    surveys = []
    for progress, survey in progress_rows:
        answers = session.exec(
            select(SurveyAnswer, SurveyQuestion)
            .join(SurveyQuestion, col(SurveyQuestion.id) == SurveyAnswer.question_id)
            .where(SurveyAnswer.progress_id == progress.id)
            .order_by(col(SurveyQuestion.position))
        ).all()
        surveys.append(
            {
                "survey": survey.code,
                "status": progress.status,
                "started_at": progress.started_at,
                "completed_at": progress.completed_at,
                "answers": [
                    {
                        "question": question.key,
                        "number": answer.value_int,
                        "text": answer.value_text,
                        "skipped": answer.skipped,
                        "at": answer.created_at,
                    }
                    for answer, question in answers
                ],
            }
        )
    return surveys


def _checkins(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Checkin).where(Checkin.member_id == member_id).order_by(col(Checkin.local_date))
    ).all()
    return [{"day": row.local_date, "streak": row.streak, "points": row.points} for row in rows]


def _referrals(session: Session, member: Member) -> dict[str, Any]:
    """Whether and when: the other side of a referral is another person's data."""
    invited_by = session.get(Referral, member.id)
    invited = session.exec(select(Referral).where(Referral.referrer_id == member.id)).all()
    return {
        "invited_by_a_member_at": invited_by.created_at if invited_by else None,
        "friends_invited": len(invited),
        "friends_invited_at": sorted(row.created_at for row in invited),
    }


def _events(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Event).where(Event.member_id == member_id).order_by(col(Event.id))
    ).all()
    return [
        {
            "type": row.type,
            "channel": row.channel,
            "stage": row.stage,
            "campaign_id": row.campaign_id,
            "variant": row.variant,
            "details": {key: v for key, v in row.payload.items() if key not in _OTHERS_KEYS},
            "at": row.created_at,
        }
        for row in rows
    ]


# Payload keys that point at someone else (the friend in a referral, the staff member).
_OTHERS_KEYS = frozenset({"invitee_id", "referrer_id", "actor"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
