"""How admin dialogs read on a phone: the stats card, the member card, confirmations and the
notices members get, all from the catalogs (bot/locales/*/admin.toml)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from bot.dialogs.stats_figures import more_figures
from bot.dialogs.turn import Turn
from bot.i18n import Translator
from core.chat import Card, Reply
from core.coupons import CouponValue, RedeemResult
from core.models import Member, Purchase, format_member_number
from core.points import PointsResult
from core.programme import Programme
from core.purchases import PurchaseResult
from core.stats import Funnel, Kpis

SEPARATOR = " · "
V = TypeVar("V")


def usage(turn: Turn, command: str, problem: str | None, **params: object) -> Reply:
    texts = [turn.t(f"admin.problem.{problem}", **params)] if problem else []
    return Reply(texts=[*texts, turn.t(f"admin.usage.{command}")])


def percent(t: Translator, fraction: float) -> str:
    value = fraction * 100
    shown = round(value) if value >= 10 or value == 0 else round(value, 1)
    return f"{t.number(shown)}%"


def label(t: Translator, group: str, code: str) -> str:
    """A stage, risk or channel name; an unknown code (a newer one) shows as it is."""
    key = f"admin.{group}.{code}"
    return t(key) if t.has(key) else code


# /stats


def stats_reply(turn: Turn, funnel: Funnel, kpis: Kpis, days: int) -> Reply:
    t = turn.t
    if kpis.empty:
        return Reply.text(t("admin.stats.empty"))
    fields: list[tuple[str, str]] = []
    for figure in funnel.stages:
        value = t.number(figure.entered)
        if figure.conversion_from_previous is not None:
            value += f" ({percent(t, figure.conversion_from_previous)})"
        fields.append((label(t, "stage", figure.stage), value))
    channels = SEPARATOR.join(
        f"{label(t, 'channel', channel)} {t.number(count)}"
        for channel, count in funnel.new_members_by_channel.items()
    )
    fields += [
        (t("admin.stats.new_members"), channels or t.number(0)),
        (
            t("admin.stats.active"),
            t(
                "admin.stats.active_value",
                week=t.number(kpis.active_7d),
                month=t.number(kpis.active_30d),
            ),
        ),
        (t("admin.stats.purchases"), t.number(kpis.purchases)),
        (t("admin.stats.revenue"), t.money(kpis.revenue)),
        (t("admin.stats.average_order"), _maybe(t, kpis.average_order_value, t.money)),
        (t("admin.stats.repeat_rate"), _maybe(t, kpis.repeat_rate, lambda v: percent(t, v))),
        (
            t("admin.stats.redemption"),
            t(
                "admin.stats.redemption_value",
                redeemed=t.number(kpis.coupons_redeemed),
                claimed=t.number(kpis.coupons_claimed),
                rate=_maybe(t, kpis.redemption_rate, lambda v: percent(t, v)),
            ),
        ),
        *more_figures(t, kpis),
    ]
    return Reply(
        texts=[
            Card(
                kind="generic",
                title=t("admin.stats.title", days=t.number(days)),
                subtitle=t("admin.stats.funnel"),
                fields=tuple(fields),
                footer=_biggest_drop(t, funnel),
            )
        ]
    )


def _biggest_drop(t: Translator, funnel: Funnel) -> str | None:
    if not funnel.biggest_drop:
        return None
    before, _, after = funnel.biggest_drop.partition("→")
    figure = next((f for f in funnel.stages if f.stage == after), None)
    lost = (
        percent(t, max(0.0, 1 - figure.conversion_from_previous))
        if figure and figure.conversion_from_previous is not None
        else "–"
    )
    return t(
        "admin.stats.biggest_drop",
        before=label(t, "stage", before),
        after=label(t, "stage", after),
        lost=lost,
    )


def _maybe(t: Translator, value: V | None, show: Callable[[V], str]) -> str:
    return t("admin.stats.none") if value is None else show(value)


# /sale


def sale_done(turn: Turn, result: PurchaseResult) -> Reply:
    t, programme = turn.t, turn.programme
    lines = [
        t(
            "admin.sale.done",
            number=result.number,
            amount=t.money(result.amount),
            order_id=result.order_id,
        ),
        t(
            "admin.sale.pending" if result.pending else "admin.sale.points",
            points=t.number(result.points),
            balance=t.number(result.balance),
        ),
    ]
    if result.promotions:
        lines.append(t("admin.sale.promotions", promotions=_promotions(t, programme, result)))
    if result.upgraded_to:
        lines.append(t("admin.sale.upgraded", tier=_tier(t, programme, result.upgraded_to)))
    lines.append(t("admin.sale.stage", stage=label(t, "stage", result.stage)))
    return Reply.text("\n".join(lines))


def sale_notice(t: Translator, programme: Programme, result: PurchaseResult) -> str:
    lines = [
        t(
            "admin.sale.notice_pending" if result.pending else "admin.sale.notice",
            programme=t.pick(programme.name),
            points=t.number(result.points),
            amount=t.money(result.amount),
            balance=t.number(result.balance),
        )
    ]
    if result.promotions:
        lines.append(t("admin.sale.promotions", promotions=_promotions(t, programme, result)))
    if result.upgraded_to:
        lines.append(t("admin.sale.notice_upgraded", tier=_tier(t, programme, result.upgraded_to)))
    return "\n".join(lines)


def order_exists(turn: Turn, purchase: Purchase) -> Reply:
    t = turn.t
    return Reply.text(
        t(
            "admin.sale.exists",
            order_id=purchase.order_id,
            number=format_member_number(purchase.member_id),
            amount=t.money(Decimal(purchase.amount_cents) / 100),
            points=t.number(purchase.points_earned),
        )
    )


def _promotions(t: Translator, programme: Programme, result: PurchaseResult) -> str:
    names = {promotion.code: t.pick(promotion.name) for promotion in programme.promotions}
    return t("admin.list_separator").join(names.get(code, code) for code in result.promotions)


def _tier(t: Translator, programme: Programme, code: str) -> str:
    return next((t.pick(tier.name) for tier in programme.tiers.levels if tier.code == code), code)


# /use


def coupon_value(t: Translator, value: CouponValue, title: str) -> str:
    pays = value.pays_percent or 0
    described = t(
        f"admin.value.{value.kind}" if t.has(f"admin.value.{value.kind}") else "admin.value.other",
        amount=t.money(value.value),
        min_spend=t.money(value.min_spend),
        percent=t.number(value.value),
        pays=t.number(pays // 10 if pays % 10 == 0 else pays),
        title=title,
    )
    if value.min_spend and value.kind != "spend_save":
        return t("admin.value.with_min_spend", value=described, min_spend=t.money(value.min_spend))
    return described


def redeemed(turn: Turn, result: RedeemResult) -> Reply:
    t = turn.t
    title = t.pick(result.title)
    return Reply.text(
        t("admin.use.done", code=result.code, number=result.number),
        t("admin.use.give", value=coupon_value(t, result.value, title), title=title),
    )


def redeemed_notice(t: Translator, result: RedeemResult) -> str:
    return t("admin.use.notice", title=t.pick(result.title), code=result.code)


def when(t: Translator, moment: object) -> str:
    return t.datetime(moment) if isinstance(moment, datetime) else "–"


# /grant


def granted(turn: Turn, member: Member, result: PointsResult, reason: str) -> Reply:
    t = turn.t
    return Reply.text(
        t(
            "admin.grant.done",
            points=t.number(result.amount),
            number=member.number,
            reason=reason,
            balance=t.number(result.balance),
        )
    )


def granted_notice(t: Translator, result: PointsResult, reason: str) -> str:
    return t(
        "admin.grant.notice",
        points=t.number(result.amount),
        reason=reason,
        balance=t.number(result.balance),
    )


# /member


def member_card(turn: Turn, member: Member, *, coupons: int, channels: list[str]) -> Card:
    t, programme = turn.t, turn.programme
    available = member.points_balance - member.points_pending
    points = (
        t(
            "admin.member.points_pending_value",
            available=t.number(available),
            pending=t.number(member.points_pending),
        )
        if member.points_pending
        else t("admin.member.points_value", available=t.number(available))
    )
    purchases = (
        t(
            "admin.member.purchases_value",
            count=t.number(member.purchase_count),
            total=t.money(Decimal(member.spent_cents) / 100),
            last=t.date(member.last_purchase_at),
        )
        if member.purchase_count and member.last_purchase_at
        else t("admin.member.purchases_none")
    )
    flags = [t("admin.member.opted_out")] if member.opted_out else []
    flags += [t("admin.member.unreachable")] if member.unreachable else []
    fields = [
        (t("admin.member.tier"), _tier(t, programme, member.tier)),
        (t("admin.member.stage"), label(t, "stage", member.stage)),
        (t("admin.member.risk"), label(t, "risk", member.risk)),
        (t("admin.member.points"), points),
        (t("admin.member.purchases"), purchases),
        (t("admin.member.coupons"), t.number(coupons)),
        (
            t("admin.member.channels"),
            SEPARATOR.join(label(t, "channel", channel) for channel in channels) or "–",
        ),
        (
            t("admin.member.consent"),
            t.datetime(member.consent_at) if member.consent_at else t("admin.member.not_joined"),
        ),
    ]
    if flags:
        fields.append((t("admin.member.flags"), SEPARATOR.join(flags)))
    return Card(
        kind="member",
        title=member.display_name or t("member.default_name"),
        subtitle=member.number,
        fields=tuple(fields),
    )
