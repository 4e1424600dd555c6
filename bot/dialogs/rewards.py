"""Activity rewards: /invite (the member's code, deep link and what both sides earn), the notice
to a referrer when a friend joins, and /checkin with its streak."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from bot.dialogs.turn import Turn
from bot.i18n import Translator
from core.chat import Button, Card, Notice, Reply
from core.kernel import AlreadyCheckedIn
from core.models import LedgerEntry, Member, Referral
from core.programme import ReferralRule
from core.rewards import CheckinResult, check_in

TELEGRAM_LINK = "https://t.me/{bot}?start={code}"


def invite(turn: Turn) -> Reply:
    t, member = turn.t, turn.refresh_member()
    rule = turn.programme.referral
    with turn.services.database.reader() as session:
        joined = session.exec(
            select(sa.func.count()).select_from(Referral).where(Referral.referrer_id == member.id)
        ).one()
    texts: list[str | Card] = [t("invite.code", code=member.invite_code), reward_terms(t, rule)]
    username = turn.services.settings.telegram_bot_username
    if username:
        texts.append(
            t(
                "invite.telegram_link",
                link=TELEGRAM_LINK.format(bot=username, code=member.invite_code),
            )
        )
    texts.append(t("invite.line_how", code=member.invite_code))
    if joined:
        texts.append(t("invite.joined_so_far", count=t.number(joined)))
    return Reply(texts=texts, buttons=[Button(t("menu.points"), "cmd:points")])


def reward_terms(t: Translator, rule: ReferralRule) -> str:
    return t(
        f"invite.terms.{rule.reward_on}",
        referrer=t.number(rule.referrer_points),
        invitee=t.number(rule.invitee_points),
    )


def referrer_notice(turn: Turn, *, referrer_id: int, invitee_id: int) -> Notice | None:
    """Tell the referrer, in their own language, that a friend joined with their code and
    what it earned them (what the ledger credited, after any daily cap)."""
    with turn.services.database.reader() as session:
        referrer = session.get(Member, referrer_id)
        credited = session.exec(
            select(LedgerEntry.amount).where(
                LedgerEntry.idempotency_key == f"referral:{invitee_id}:signup:referrer"
            )
        ).first()
    if referrer is None or not referrer.signed_up:
        return None
    t = turn.translator_for(referrer)
    if credited:
        text = t("invite.friend_joined", points=t.number(credited))
    elif turn.programme.referral.reward_on == "first_purchase":
        text = t(
            "invite.friend_joined_later",
            points=t.number(turn.programme.referral.referrer_points),
        )
    else:
        text = t("invite.friend_joined_no_points")
    return Notice(
        member_id=referrer_id,
        reply=Reply.text(text, buttons=[Button(t("menu.points"), "cmd:points")]),
        kind="referral",
    )


def checkin(turn: Turn) -> Reply:
    try:
        with turn.session() as session:
            result = check_in(
                session,
                clock=turn.services.clock,
                programme=turn.programme,
                member_id=turn.member_id,
                channel=turn.channel,
            )
    except AlreadyCheckedIn as already:
        return already_checked_in(turn, already)
    return Reply(
        texts=checkin_texts(turn, result),
        buttons=[Button(turn.t("menu.points"), "cmd:points")],
    )


def checkin_texts(turn: Turn, result: CheckinResult) -> list[str | Card]:
    t, rule = turn.t, turn.programme.checkin
    texts: list[str | Card] = [
        t(
            "checkin.done",
            points=t.number(result.points),
            streak=t.number(result.streak),
            balance=t.number(result.balance),
        )
    ]
    if result.bonus:
        texts.append(t("checkin.bonus", bonus=t.number(result.bonus)))
    if result.capped:
        texts.append(t("checkin.capped"))
    if result.next_bonus_in_days:
        texts.append(
            t(
                "checkin.next_bonus",
                days=t.number(result.next_bonus_in_days),
                bonus=t.number(rule.streak_bonus_points),
            )
        )
    if result.upgraded_to:
        tier = turn.programme.tiers.by_code(result.upgraded_to)
        texts.append(t("checkin.upgraded", tier=t.pick(tier.name)))
    return texts


def already_checked_in(turn: Turn, already: AlreadyCheckedIn) -> Reply:
    """Friendlier than the generic error text: when the next check-in opens, in time left."""
    t, params = turn.t, already.params
    texts: list[str | Card] = [
        t(
            "checkin.already",
            streak=t.number(params.get("streak", 0)),
            opens_in=t.countdown(params["next_checkin_at"], turn.now),
        )
    ]
    if params.get("next_bonus_in_days"):
        texts.append(
            t(
                "checkin.next_bonus",
                days=t.number(params["next_bonus_in_days"]),
                bonus=t.number(turn.programme.checkin.streak_bonus_points),
            )
        )
    return Reply(texts=texts, buttons=[Button(t("menu.points"), "cmd:points")])
