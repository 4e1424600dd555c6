"""Coupon definitions: kept in step with the programme config or the admin API, and the
rules that say whether a coupon is on offer to a member right now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.coupons.codes import stored_text
from core.kernel import (
    MAX_INT,
    Clock,
    ConsentRequired,
    CouponNotEligible,
    CouponNotFound,
    CouponUnavailable,
    DomainError,
    InvalidInput,
    as_utc,
    run_once,
)
from core.models import CouponDefinition, CouponGrant, Member
from core.programme import CouponRule, Eligibility, Programme

SOURCES = ("config", "api", "demo")
MAX_VALID_DAYS = 36_500  # validity beyond a century is a typo, as a count beyond MAX_INT


class SyncResult(BaseModel):
    created: list[str]
    updated: list[str]
    deactivated: list[str]


class DefinitionResult(BaseModel):
    id: int
    code: str
    created: bool
    changed: bool


def rule_fields(rule: CouponRule) -> dict[str, Any]:
    """The definition's columns as the rule says (everything but stock taken so far)."""
    return {
        "title": stored_text(rule.title),
        "description": stored_text(rule.description),
        "kind": rule.kind,
        "value": rule.value,
        "min_spend": rule.min_spend,
        "stock": rule.stock,
        "per_member_limit": rule.per_member_limit,
        "valid_from": as_utc(rule.valid_from) if rule.valid_from else None,
        "valid_until": as_utc(rule.valid_until) if rule.valid_until else None,
        "valid_days": rule.valid_days,
        "points_cost": rule.points_cost,
        "eligibility": rule.eligibility.model_dump(mode="json"),
        "active": rule.active,
    }


def _check_limits(rule: CouponRule) -> None:
    counts = ("value", "min_spend", "stock", "per_member_limit", "points_cost")
    for name in counts:
        if (getattr(rule, name) or 0) > MAX_INT:
            raise InvalidInput(f"coupon {rule.code}: {name} is too large", field=name)
    if rule.valid_days is not None and rule.valid_days > MAX_VALID_DAYS:
        raise InvalidInput(f"coupon {rule.code}: valid_days is too large", field="valid_days")


def _upsert(
    session: Session, *, rule: CouponRule, source: str, now: datetime
) -> tuple[CouponDefinition, bool, bool]:
    """Create or update the definition with the rule's code; `claimed` is never touched, so
    stock already taken stays taken. Returns (definition, created, changed)."""
    _check_limits(rule)
    fields = rule_fields(rule) | {"source": source}
    row = session.exec(
        select(CouponDefinition).where(CouponDefinition.code == rule.code)
    ).one_or_none()
    if row is None:
        row = CouponDefinition(code=rule.code, created_at=now, updated_at=now, **fields)
        session.add(row)
        session.flush()
        return row, True, True
    changed = {name: value for name, value in fields.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        row.updated_at = now
    return row, False, bool(changed)


def sync_coupon_definitions(session: Session, *, clock: Clock, programme: Programme) -> SyncResult:
    """Make the coupon definitions match the programme config (by code). Definitions that
    came from the config and left it are deactivated, not deleted: members may hold them.
    Running it again with the same config changes nothing."""
    now = clock.now()

    def work() -> SyncResult:
        created: list[str] = []
        updated: list[str] = []
        for rule in programme.coupons:
            _, is_new, changed = _upsert(session, rule=rule, source="config", now=now)
            if is_new:
                created.append(rule.code)
            elif changed:
                updated.append(rule.code)
        in_config = [rule.code for rule in programme.coupons]
        leftovers = session.exec(
            select(CouponDefinition).where(
                CouponDefinition.source == "config",
                col(CouponDefinition.active).is_(True),
                col(CouponDefinition.code).not_in(in_config),
            )
        ).all()
        for row in leftovers:
            row.active = False
            row.updated_at = now
        return SyncResult(
            created=created, updated=updated, deactivated=sorted(row.code for row in leftovers)
        )

    return run_once(
        session,
        key=None,
        operation="sync_coupon_definitions",
        request={},
        result_type=SyncResult,
        now=now,
        work=work,
    )


def define_coupon(
    session: Session, *, clock: Clock, rule: CouponRule, source: str = "api"
) -> DefinitionResult:
    """Create a coupon definition, or update the one with the rule's code (admin API)."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", source=source)
    now = clock.now()

    def work() -> DefinitionResult:
        row, created, changed = _upsert(session, rule=rule, source=source, now=now)
        return DefinitionResult(id=row.id or 0, code=row.code, created=created, changed=changed)

    return run_once(
        session,
        key=None,
        operation="define_coupon",
        request={},
        result_type=DefinitionResult,
        now=now,
        work=work,
    )


def find_definition(session: Session, code: str) -> CouponDefinition:
    """The definition with this code; typed codes may differ in case (welcome50)."""
    text = (code or "").strip()
    row = session.exec(select(CouponDefinition).where(CouponDefinition.code == text)).first()
    if row is None and text:
        rows = session.exec(
            select(CouponDefinition).where(sa.func.upper(CouponDefinition.code) == text.upper())
        ).all()
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise CouponNotFound("no coupon has that code", coupon=text[:64])
    return row


def unavailable(definition: CouponDefinition, now: datetime) -> CouponUnavailable | None:
    """Why nobody can claim the coupon now (switched off, not started, ended), if so."""
    if not definition.active:
        return CouponUnavailable("this coupon is not offered", coupon=definition.code)
    if definition.valid_from is not None and now < definition.valid_from:
        return CouponUnavailable(
            "this coupon is not offered yet", coupon=definition.code, starts=definition.valid_from
        )
    if definition.valid_until is not None and now >= definition.valid_until:
        return CouponUnavailable(
            "this coupon is no longer offered", coupon=definition.code, ended=definition.valid_until
        )
    return None


def ineligible(definition: CouponDefinition, member: Member, now: datetime) -> DomainError | None:
    """Why this member may not claim the coupon: outside its audience, or not signed up.

    The audience is checked first: telling someone to sign up for a coupon they would not
    get anyway helps nobody. Someone yet to sign up counts as a new member."""
    rule = Eligibility.model_validate(definition.eligibility or {})
    reasons = {
        "tier": bool(rule.tiers) and member.tier not in rule.tiers,
        "stage": bool(rule.stages) and member.stage not in rule.stages,
        # A member who was never scored has no segment, so is outside every named one.
        "segment": bool(rule.segments) and member.segment not in rule.segments,
        "new_members": rule.new_members_days is not None
        and not _joined_within(member, now, rule.new_members_days),
    }
    failed = [name for name, refused in reasons.items() if refused]
    if failed:
        return CouponNotEligible(
            "this coupon is for other members", coupon=definition.code, rule=failed[0]
        )
    if not member.signed_up:
        return ConsentRequired("sign up first to claim coupons", coupon=definition.code)
    return None


def _joined_within(member: Member, now: datetime, days: int) -> bool:
    if member.consent_at is None:
        return True
    return now - member.consent_at <= timedelta(days=days)


def claims_by_member(
    session: Session, *, member_id: int, definition_ids: list[int]
) -> dict[int, int]:
    """How many of each coupon the member ever claimed (used or not: the limit is on claims)."""
    rows = session.exec(
        select(CouponGrant.definition_id, sa.func.count())
        .where(
            CouponGrant.member_id == member_id, col(CouponGrant.definition_id).in_(definition_ids)
        )
        .group_by(col(CouponGrant.definition_id))
    ).all()
    return {definition_id: int(count) for definition_id, count in rows}


def grant_expiry(definition: CouponDefinition, claimed_at: datetime) -> datetime | None:
    """When a coupon claimed now expires: the end of its window or N days after the claim,
    whichever comes first; never, when it has neither."""
    ends = [
        moment
        for moment in (
            definition.valid_until,
            claimed_at + timedelta(days=definition.valid_days) if definition.valid_days else None,
        )
        if moment is not None
    ]
    return min(ends) if ends else None


def remaining_stock(definition: CouponDefinition) -> int | None:
    if definition.stock is None:
        return None
    return max(0, definition.stock - definition.claimed)
