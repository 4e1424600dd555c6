"""Member dialogs: joining with consent, help, and the points card."""

from __future__ import annotations

import re

from bot.dialogs.account import resume_offers
from bot.dialogs.menus import menu_buttons
from bot.dialogs.rewards import referrer_notice
from bot.dialogs.turn import Turn
from core.chat import Button, Card, Reply
from core.kernel import ReferralRejected
from core.members import sign_up
from core.points import points_expiring
from core.tiers import tier_progress

INVITE_CODE = re.compile(r"^[A-HJ-NP-Z2-9]{8}$")


def help_(turn: Turn) -> Reply:
    texts: list[str | Card] = [turn.t("help.member")]
    if turn.is_admin:
        texts.append(turn.t("help.admin"))
    return Reply(texts=texts, buttons=menu_buttons(turn))


def start(turn: Turn) -> Reply:
    """Welcome; a prospect is asked for consent (carrying an invite code from a deep link)."""
    if turn.member.signed_up:
        texts: list[str | Card] = [
            turn.t("start.welcome_back", name=display_name(turn), number=turn.member.number)
        ]
        if turn.member.opted_out:  # /start after /stop: offers on again
            texts.append(resume_offers(turn))
        return Reply(texts=texts, buttons=menu_buttons(turn))
    invite = turn.incoming.args[0] if turn.incoming.args else ""
    invite = invite if INVITE_CODE.match(invite.upper()) else ""
    version = turn.programme.consent.version
    payload = f"consent:{version}" + (f":{invite.upper()}" if invite else "")
    return Reply(
        texts=[
            turn.t("start.hello", programme=turn.t.pick(turn.programme.name)),
            turn.t("consent.text", version=version),
        ],
        buttons=[
            Button(turn.t("consent.agree"), payload),
            Button(turn.t("consent.later"), "consent_later"),
        ],
    )


def consent(turn: Turn, args: list[str]) -> Reply:
    if turn.member.signed_up:
        return start(turn)
    version = args[0] if args else ""
    invite = args[1] if len(args) > 1 else None
    try:
        with turn.session() as session:
            result = sign_up(
                session,
                clock=turn.services.clock,
                programme=turn.programme,
                member_id=turn.member_id,
                consent_version=version,
                channel=turn.channel,
                invite_code=invite,
            )
    except ReferralRejected:  # a mistyped or used-up code must not keep anyone out
        return Reply(
            texts=[turn.t("error.referral.rejected")],
            buttons=[Button(turn.t("consent.agree"), f"consent:{version}")],
        )
    turn.refresh_member()
    texts = [turn.t("start.joined", name=display_name(turn), number=result.number)]
    if result.referrer_id is not None:
        texts.append(invitee_reward_text(turn))
        notice = referrer_notice(turn, referrer_id=result.referrer_id, invitee_id=turn.member_id)
        if notice is not None:
            turn.notices.append(notice)
    return Reply(texts=list(texts), buttons=menu_buttons(turn))


def invitee_reward_text(turn: Turn) -> str:
    rule = turn.programme.referral
    key = "invite.accepted_later" if rule.reward_on == "first_purchase" else "invite.accepted"
    return turn.t(key, points=turn.t.number(rule.invitee_points))


def consent_later(turn: Turn, args: list[str]) -> Reply:
    return Reply.text(
        turn.t("consent.maybe_later"), buttons=[Button(turn.t("menu.join"), "cmd:start")]
    )


def typed_invite_code(turn: Turn, text: str) -> Reply | None:
    """On LINE there are no deep links: a prospect types the friend's invite code."""
    if turn.member.signed_up or not INVITE_CODE.match(text.strip().upper()):
        return None
    version = turn.programme.consent.version
    return Reply(
        texts=[turn.t("consent.text", version=version)],
        buttons=[Button(turn.t("consent.agree"), f"consent:{version}:{text.strip().upper()}")],
    )


def points(turn: Turn) -> Reply:
    return Reply(
        texts=[points_card(turn)],
        buttons=[
            Button(turn.t("menu.coupons"), "cmd:coupons"),
            Button(turn.t("menu.tier"), "cmd:tier"),
        ],
    )


def points_card(turn: Turn) -> Card:
    with turn.services.database.reader() as session:
        member = turn.refresh_member(session)
        expiring = points_expiring(
            session,
            now=turn.now,
            member_id=member.id,
            within_days=turn.programme.expiry.warning_days,
        )
        progress = tier_progress(session, member=member, now=turn.now, programme=turn.programme)
    t = turn.t
    fields = [
        (t("points.member_number"), member.number),
        (t("points.tier"), t.pick(turn.programme.tiers.by_code(member.tier).name)),
        (t("points.available"), t.number(member.points_balance - member.points_pending)),
    ]
    if member.points_pending:
        fields.append((t("points.pending"), t.number(member.points_pending)))
    if expiring:
        fields.append(
            (
                t("points.expiring"),
                t(
                    "points.expiring_value",
                    points=t.number(expiring[0].points),
                    date=t.date(expiring[0].first_expiry),
                ),
            )
        )
    if progress.next_tier:
        fields.append(
            (
                t("points.next_tier"),
                t(
                    "points.next_tier_value",
                    amount=t.money(progress.needed_for_next),
                    tier=t.pick(turn.programme.tiers.by_code(progress.next_tier).name),
                ),
            )
        )
    return Card(
        kind="points",
        title=t("points.title"),
        subtitle=display_name(turn),
        highlight=t("points.balance", points=t.number(member.points_balance)),
        fields=tuple(fields),
    )


def display_name(turn: Turn) -> str:
    return turn.member.display_name or turn.t("member.default_name")
