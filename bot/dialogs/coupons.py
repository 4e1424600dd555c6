"""/coupons: what the member can claim now (with a claim button each) and the coupons they hold.

Claim buttons carry `claim:<COUPON_CODE>`, or `claim:#<definition id>` when the code would
not fit the 64-byte payload limit. A claim is tied to the tap's platform event, so a
redelivered tap returns the same coupon instead of a second one.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.dialogs.turn import Turn
from core.chat import MAX_PAYLOAD_BYTES, Button, Card, Reply
from core.coupons import (
    AvailableCoupon,
    ClaimResult,
    CouponValue,
    MemberCoupon,
    available_coupons,
    claim_coupon,
    member_coupons,
)
from core.kernel import CouponNotFound
from core.models import CouponDefinition

CLAIM = "claim"
MAX_CARDS = 10  # per list: a chat is no catalogue, and LINE carousels hold 12 bubbles


def coupons(turn: Turn) -> Reply:
    member = turn.refresh_member()
    with turn.services.database.reader() as session:
        offers = available_coupons(
            session, member_id=member.id or 0, now=turn.now, programme=turn.programme
        )
        held = member_coupons(session, member_id=member.id or 0, now=turn.now)
        payloads = claim_payloads(session, [offer.coupon_code for offer in offers])
    reply = Reply()
    if offers:
        reply.add(turn.t("coupons.offers_heading"))
        for offer in offers[:MAX_CARDS]:
            reply.add(offer_card(turn, offer, payloads[offer.coupon_code]))
    else:
        reply.add(turn.t("coupons.no_offers"))
    if held:
        reply.add(turn.t("coupons.held_heading", count=turn.t.number(len(held))))
        for coupon in held[:MAX_CARDS]:
            reply.add(held_card(turn, coupon))
    reply.buttons = [Button(turn.t("menu.points"), "cmd:points")]
    return reply


def claim(turn: Turn, args: list[str]) -> Reply:
    coupon_code = coupon_from_payload(turn, args)
    with turn.session() as session:
        result = claim_coupon(
            session,
            clock=turn.services.clock,
            programme=turn.programme,
            member_id=turn.member_id,
            coupon_code=coupon_code,
            channel=turn.channel,
            idempotency_key=turn.key(f"{CLAIM}:{coupon_code}"),
        )
    return Reply(
        texts=[turn.t("coupons.claimed"), claimed_card(turn, result)],
        buttons=[Button(turn.t("coupons.see_all"), "cmd:coupons")],
    )


def claim_payloads(session: Session, coupon_codes: list[str]) -> dict[str, str]:
    payloads = {code: f"{CLAIM}:{code}" for code in coupon_codes}
    too_long = [code for code, payload in payloads.items() if len(payload) > MAX_PAYLOAD_BYTES]
    if too_long:
        rows = session.exec(
            select(CouponDefinition.id, CouponDefinition.code).where(
                col(CouponDefinition.code).in_(too_long)
            )
        ).all()
        payloads |= {code: f"{CLAIM}:#{definition_id}" for definition_id, code in rows}
    return payloads


def coupon_from_payload(turn: Turn, args: list[str]) -> str:
    """The coupon code a claim button names; a tampered payload names none."""
    if len(args) != 1 or not args[0]:
        raise CouponNotFound("malformed claim button", coupon=":".join(args)[:64])
    ref = args[0]
    if not ref.startswith("#"):
        return ref
    definition = None
    if ref[1:].isdecimal() and len(ref) <= 12:
        with turn.services.database.reader() as session:
            definition = session.get(CouponDefinition, int(ref[1:]))
    if definition is None:
        raise CouponNotFound("no coupon has that id", coupon=ref[:64])
    return definition.code


def offer_card(turn: Turn, offer: AvailableCoupon, payload: str) -> Card:
    t = turn.t
    fields = [(t("coupons.value"), describe(turn, offer.value))]
    fields.append(
        (
            t("coupons.cost"),
            t("coupons.cost_points", points=t.number(offer.points_cost))
            if offer.points_cost
            else t("coupons.free"),
        )
    )
    if offer.remaining is not None:
        fields.append((t("coupons.stock"), t("coupons.stock_left", left=t.number(offer.remaining))))
    if offer.valid_days:
        fields.append((t("coupons.validity"), t("coupons.valid_days", days=offer.valid_days)))
    elif offer.valid_until:
        fields.append(
            (t("coupons.validity"), t("coupons.valid_until", date=t.date(offer.valid_until)))
        )
    why = None if offer.claimable else why_not(turn, offer)
    return Card(
        kind="coupon",
        title=t.pick(offer.title),
        subtitle=t.pick(offer.description) or None,
        fields=tuple(fields),
        footer=why,
        buttons=(Button(t("coupons.claim", title=t.pick(offer.title)), payload),)
        if offer.claimable
        else (),
    )


def why_not(turn: Turn, offer: AvailableCoupon) -> str:
    reason = (offer.reason or "generic").replace(".", "_")
    key = f"coupons.why.{reason}"
    if not turn.t.has(key):
        key = "coupons.why.generic"
    member = turn.member
    return turn.t(
        key,
        cost=turn.t.number(offer.points_cost),
        available=turn.t.number(member.points_balance - member.points_pending),
        limit=offer.per_member_limit,
    )


def held_card(turn: Turn, coupon: MemberCoupon) -> Card:
    return coupon_card(
        turn,
        title=coupon.title,
        code=coupon.code,
        value=coupon.value,
        expires_at=coupon.expires_at,
    )


def claimed_card(turn: Turn, result: ClaimResult) -> Card:
    extra = []
    if result.points_spent:
        extra.append(
            (
                turn.t("coupons.spent"),
                turn.t(
                    "coupons.spent_value",
                    points=turn.t.number(result.points_spent),
                    balance=turn.t.number(result.balance),
                ),
            )
        )
    return coupon_card(
        turn,
        title=result.title,
        code=result.code,
        value=result.value,
        expires_at=result.expires_at,
        extra=extra,
    )


def coupon_card(
    turn: Turn,
    *,
    title: dict[str, str],
    code: str,
    value: CouponValue,
    expires_at: datetime | None,
    extra: list[tuple[str, str]] | None = None,
) -> Card:
    """A coupon the member holds: the code to show at the counter and the time left."""
    t = turn.t
    fields = [
        (t("coupons.value"), describe(turn, value)),
        (t("coupons.expires"), expiry(turn, expires_at)),
    ]
    return Card(
        kind="coupon",
        title=t.pick(title),
        highlight=t("coupons.code", code=code),
        fields=tuple(fields + (extra or [])),
        footer=t("coupons.how_to_use"),
    )


def expiry(turn: Turn, expires_at: datetime | None) -> str:
    t = turn.t
    if expires_at is None:
        return t("coupons.no_expiry")
    return t(
        "coupons.expires_in",
        left=t.countdown(expires_at, turn.now),
        date=t.datetime(expires_at),
    )


def describe(turn: Turn, value: CouponValue) -> str:
    """A coupon's worth in the member's words (NT$50 off, spend NT$500 save NT$100, …)."""
    t = turn.t
    key = f"coupons.kind.{value.kind}"
    text = t(
        key if t.has(key) else "coupons.kind.other",
        amount=t.money(value.value),
        percent=value.value,
        min_spend=t.money(value.min_spend),
    )
    if value.min_spend and value.kind != "spend_save":  # spend-X-save-Y says it already
        text = t("coupons.min_spend", value=text, min_spend=t.money(value.min_spend))
    return text
