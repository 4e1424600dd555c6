"""Admin dialogs: /stats, /sale, /use, /grant and /member.

The router refuses these to non-admins and audits the refusal; here every action is audited
once per platform event, and the member it concerns gets a notice in their own language."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

from sqlmodel import select

from bot.dialogs.admin import views
from bot.dialogs.admin.support import (
    Usage,
    admin_command,
    audit_action,
    member_arg,
    notify,
    replayed,
)
from bot.dialogs.score_view import with_score
from bot.dialogs.turn import Turn
from core.chat import Reply
from core.coupons import member_coupons, redeem_coupon
from core.kernel import CouponAlreadyRedeemed, CouponCodeUnknown, CouponExpired, InvalidInput
from core.models import ChannelIdentity, Member, MemberScore, Purchase
from core.points import adjust_points
from core.purchases import ORDER_ID_MAX, parse_amount, record_purchase
from core.stats import funnel, kpis

DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_GRANT = 100_000
REASON_MAX = 200
CODE_MAX = 32
WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")


@admin_command("stats")
def stats(turn: Turn) -> Reply:
    days = days_arg(turn, turn.incoming.args)
    with turn.services.database.reader() as session:
        figures = funnel(session, programme=turn.programme, now=turn.now, days=days)
        numbers = kpis(session, now=turn.now, days=days, programme=turn.programme)
    audit_action(turn, "stats", target=str(days))
    return views.stats_reply(turn, figures, numbers, days)


@admin_command("sale")
def sale(turn: Turn) -> Reply:
    args = turn.incoming.args
    if len(args) not in (2, 3):
        raise Usage()
    amount = amount_arg(args[1])
    order_id = args[2] if len(args) == 3 else derived_order_id(turn)
    if order_id is not None and len(order_id) > ORDER_ID_MAX:
        raise Usage("order_id", max=turn.t.number(ORDER_ID_MAX))
    member = member_arg(turn, args[0])
    first = not replayed(turn, "sale")
    if first and len(args) == 3 and (earlier := recorded_order(turn, args[2])) is not None:
        return views.order_exists(turn, earlier)
    with turn.session() as session:
        result = record_purchase(
            session,
            clock=turn.services.clock,
            programme=turn.programme,
            member_id=member.id or 0,
            amount=amount,
            order_id=order_id,
            source="chat",
            actor=turn.actor,
            channel=turn.channel,
        )
    if first:
        t = turn.translator_for(member)
        notify(turn, member, views.sale_notice(t, turn.programme, result), kind="sale")
    audit_action(
        turn,
        "sale",
        target=result.number,
        details={
            "order_id": result.order_id,
            "amount": str(result.amount),
            "points": result.points,
        },
    )
    return views.sale_done(turn, result)


@admin_command("use")
def use(turn: Turn) -> Reply:
    # A code read off a phone may be typed with a space instead of the dash.
    code = "".join(turn.incoming.args)
    if not code:
        raise Usage()
    shown = code[:CODE_MAX]
    first = not replayed(turn, "use")
    try:
        with turn.session() as session:
            result = redeem_coupon(
                session,
                clock=turn.services.clock,
                programme=turn.programme,
                code=code,
                actor=turn.actor,
                channel=turn.channel,
                idempotency_key=turn.key("use"),
            )
    except CouponCodeUnknown:
        return Reply.text(turn.t("admin.use.unknown", code=shown))
    except (CouponAlreadyRedeemed, CouponExpired) as error:
        key = (
            "admin.use.already" if isinstance(error, CouponAlreadyRedeemed) else "admin.use.expired"
        )
        when = views.when(turn.t, error.params.get("when"))
        return Reply.text(turn.t(key, code=error.params.get("code", shown), when=when))
    member = _member(turn, result.member_id)
    if first and member is not None:
        t = turn.translator_for(member)
        notify(turn, member, views.redeemed_notice(t, result), kind="coupon_redeemed")
    audit_action(
        turn,
        "use",
        target=result.code,
        details={"member": result.number, "coupon": result.coupon_code},
    )
    return views.redeemed(turn, result)


@admin_command("grant")
def grant(turn: Turn) -> Reply:
    args = turn.incoming.args
    if len(args) < 2:
        raise Usage()
    points = points_arg(turn, args[1])
    reason = " ".join(args[2:]).strip()
    if not reason:
        raise Usage("reason")
    if len(reason) > REASON_MAX:
        raise Usage("reason_long", max=turn.t.number(REASON_MAX))
    member = member_arg(turn, args[0])
    first = not replayed(turn, "grant")
    with turn.session() as session:
        result = adjust_points(
            session,
            clock=turn.services.clock,
            programme=turn.programme,
            member_id=member.id or 0,
            points=points,
            reason=reason,
            actor=turn.actor,
            channel=turn.channel,
            idempotency_key=turn.key("grant"),
        )
    if first:
        t = turn.translator_for(member)
        notify(turn, member, views.granted_notice(t, result, reason), kind="points_granted")
    audit_action(turn, "grant", target=member.number, details={"points": points, "reason": reason})
    return views.granted(turn, member, result, reason)


@admin_command("member")
def member(turn: Turn) -> Reply:
    query = " ".join(turn.incoming.args).strip()
    if not query:
        raise Usage()
    found = member_arg(turn, query, joined=False)
    with turn.services.database.reader() as session:
        held = member_coupons(session, member_id=found.id or 0, now=turn.now)
        channels = session.exec(
            select(ChannelIdentity.channel)
            .where(ChannelIdentity.member_id == found.id)
            .order_by(ChannelIdentity.channel)
        ).all()
        score = session.get(MemberScore, found.id)
    audit_action(turn, "member", target=found.number)
    card = views.member_card(turn, found, coupons=len(held), channels=list(channels))
    return Reply(texts=[with_score(turn.t, card, score)])


def days_arg(turn: Turn, args: tuple[str, ...]) -> int:
    if not args:
        return DEFAULT_DAYS
    if len(args) > 1 or not WHOLE_NUMBER.match(args[0]) or not 1 <= int(args[0]) <= MAX_DAYS:
        raise Usage("days", max=turn.t.number(MAX_DAYS))
    return int(args[0])


def amount_arg(text: str) -> Decimal:
    try:
        return parse_amount(text)
    except InvalidInput:
        raise Usage("amount") from None


def points_arg(turn: Turn, text: str) -> int:
    if not WHOLE_NUMBER.match(text) or not 1 <= int(text) <= MAX_GRANT:
        raise Usage("points", max=turn.t.number(MAX_GRANT))
    return int(text)


def derived_order_id(turn: Turn) -> str | None:
    """An order id from the platform event, so a redelivered /sale is not a second sale;
    None (record_purchase makes one up) when the channel gives no event id."""
    key = turn.key("sale")
    if key is None or len(key) <= ORDER_ID_MAX:
        return key
    return "chat:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def recorded_order(turn: Turn, order_id: str) -> Purchase | None:
    with turn.services.database.reader() as session:
        return session.exec(select(Purchase).where(Purchase.order_id == order_id.strip())).first()


def _member(turn: Turn, member_id: int) -> Member | None:
    """The member to notify; None once erased (there is no one left to tell)."""
    with turn.services.database.reader() as session:
        member = session.get(Member, member_id)
    return member if member is not None and member.erased_at is None else None
