"""Daily check-in: once per member-local day, with a streak and a bonus every N days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session

from core.funnel import log_event
from core.kernel import (
    AlreadyCheckedIn,
    Clock,
    ConsentRequired,
    local_day,
    run_once,
    start_of_local_day,
    zone,
)
from core.models import Checkin, Member
from core.points import capped_activity_points, credit, lock_member
from core.programme import CheckinRule, Programme
from core.stats import note_checkin
from core.tiers import note_qualifying


class CheckinResult(BaseModel):
    member_id: int
    local_date: date
    streak: int
    points: int
    """Points credited: the daily points plus any streak bonus, after the daily cap."""
    bonus: int
    """The streak bonus included in what was wanted (before the cap)."""
    capped: bool
    next_bonus_in_days: int | None
    """Check in this many more days in a row for the next bonus; None without bonuses."""
    next_checkin_at: datetime
    balance: int
    upgraded_to: str | None = None


def next_bonus_in(streak: int, rule: CheckinRule) -> int | None:
    """Days until the next streak bonus after a check-in that made `streak`."""
    if not rule.streak_bonus_every or not rule.streak_bonus_points:
        return None
    return rule.streak_bonus_every - streak % rule.streak_bonus_every


def bonus_day(streak: int, rule: CheckinRule) -> bool:
    return bool(rule.streak_bonus_every) and streak % rule.streak_bonus_every == 0


def streak_after(member: Member, today: date) -> int:
    """The streak a check-in today makes: it continues from yesterday, else starts again."""
    if member.last_checkin_on == today - timedelta(days=1):
        return member.checkin_streak + 1
    return 1


def check_in(
    session: Session, *, clock: Clock, programme: Programme, member_id: int, channel: str
) -> CheckinResult:
    """Check the member in for their local day (their own time zone) and reward it.

    A second check-in on the same local day raises AlreadyCheckedIn (with the streak and
    when the next check-in opens) and writes nothing. The (member, local day) primary key
    keeps it to one even when requests race."""
    now = clock.now()

    def work() -> CheckinResult:
        member = lock_member(session, member_id)
        if member.consent_at is None:
            raise ConsentRequired("check-in is for members who signed up")
        rule = programme.checkin
        tz = zone(member.timezone, programme.timezone)
        today = local_day(now, tz)
        next_at = start_of_local_day(today + timedelta(days=1), tz)
        if session.get(Checkin, (member_id, today)) is not None:
            raise AlreadyCheckedIn(
                "already checked in today",
                streak=member.checkin_streak,
                next_checkin_at=next_at,
                next_bonus_in_days=next_bonus_in(member.checkin_streak, rule),
            )
        streak = streak_after(member, today)
        bonus = rule.streak_bonus_points if bonus_day(streak, rule) else 0
        wanted = rule.points + bonus
        points, upgraded = _reward(
            session,
            member=member,
            today=today,
            streak=streak,
            wanted=wanted,
            now=now,
            programme=programme,
            channel=channel,
        )
        return CheckinResult(
            member_id=member_id,
            local_date=today,
            streak=streak,
            points=points,
            bonus=bonus,
            capped=points < wanted,
            next_bonus_in_days=next_bonus_in(streak, rule),
            next_checkin_at=next_at,
            balance=member.points_balance,
            upgraded_to=upgraded,
        )

    return run_once(
        session,
        key=None,
        operation="check_in",
        request={},
        result_type=CheckinResult,
        now=now,
        work=work,
    )


def _reward(
    session: Session,
    *,
    member: Member,
    today: date,
    streak: int,
    wanted: int,
    now: datetime,
    programme: Programme,
    channel: str,
) -> tuple[int, str | None]:
    """Write the check-in, its points (within the daily activity cap) and its growth value.
    Returns the points credited and the tier upgraded to, if any."""
    points = capped_activity_points(
        session, member=member, wanted=wanted, now=now, programme=programme
    )
    day = today.isoformat()
    session.add(
        Checkin(
            member_id=member.id or 0, local_date=today, streak=streak, points=points, created_at=now
        )
    )
    # Flushed before the points, so a racing duplicate fails here on the primary key.
    session.flush()
    note_checkin(session, now=now, programme=programme)
    if points > 0:
        credit(
            session,
            member=member,
            amount=points,
            kind="earn",
            source="checkin",
            reason=f"check-in {day}",
            actor="system",
            key=f"checkin:{member.id}:{day}",
            now=now,
            programme=programme,
        )
    member.checkin_streak = streak
    member.last_checkin_on = today
    log_event(
        session,
        member=member,
        channel=channel,
        type="checkin",
        now=now,
        payload={"day": day, "streak": streak, "points": points},
    )
    upgraded = note_qualifying(
        session,
        member=member,
        amount=programme.tiers.growth_per_checkin,
        source="checkin",
        now=now,
        programme=programme,
        channel=channel,
    )
    return points, upgraded
