"""Taps on the buttons of campaign and automation messages: `cc:<ref>:<index>`.

The tap is recorded as the delivery's click (the first tap only), then the button does
what it says: claim its coupon credited to the campaign and variant, or run a command.
"""

from __future__ import annotations

from bot.dialogs.coupons import claimed_card
from bot.dialogs.member import help_
from bot.dialogs.turn import Turn
from core.chat import Button, Reply
from core.coupons import claim_coupon
from core.kernel import CampaignNotFound
from core.outbox import CLICK_PREFIX, ButtonSpec, Click, find_delivery, record_click
from core.programme import pick_text


def campaign_button(turn: Turn, args: list[str]) -> Reply:
    if len(args) != 2 or not args[1].isdecimal() or len(args[1]) > 2:
        raise CampaignNotFound("malformed campaign button", payload=":".join(args)[:64])
    ref, index = args[0], int(args[1])
    with turn.session() as session:
        delivery = find_delivery(session, ref=ref, member_id=turn.member_id)
        if delivery is None:
            raise CampaignNotFound("no such message for this member", ref=ref[:32])
        click = record_click(
            session, delivery=delivery, now=turn.now, channel=turn.channel, button=index
        )
    actions = click.content.actions()
    if index >= len(actions):
        raise CampaignNotFound("no such button", ref=ref[:32])
    return _perform(turn, click, actions[index], f"{CLICK_PREFIX}:{ref}:{index}")


def _perform(turn: Turn, click: Click, action: ButtonSpec, purpose: str) -> Reply:
    if action.action == "coupon":
        with turn.session() as session:
            result = claim_coupon(
                session,
                clock=turn.services.clock,
                programme=turn.programme,
                member_id=turn.member_id,
                coupon_code=action.value,
                channel=turn.channel,
                idempotency_key=turn.key(purpose),
                campaign_id=click.campaign_id,
                variant=click.variant if click.campaign_id is not None else None,
            )
        return Reply(
            texts=[turn.t("coupons.claimed"), claimed_card(turn, result)],
            buttons=[Button(turn.t("coupons.see_all"), "cmd:coupons")],
        )
    if action.action == "command":
        handler = turn.commands.member_command(action.command)
        return (handler or help_)(turn)  # never an admin command, whoever sent the message
    # A link button opens its URL without a tap coming back; should one arrive, link it.
    return Reply(buttons=[Button(pick_text(action.label, turn.t.locale), url=action.value)])
