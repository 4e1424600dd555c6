"""How /broadcast and /campaigns read on a phone: the audience in words, the preview with
LINE's quota, the campaign cards and the full report, all from the catalogs
(bot/locales/*/broadcast.toml)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from babel.dates import get_month_names

from bot.dialogs.admin.views import SEPARATOR, label, percent
from bot.dialogs.campaigns.draft import cancel_button, payload
from bot.dialogs.turn import Turn
from bot.i18n import Translator
from bot.line import LineQuota
from core.campaigns import (
    CampaignReport,
    CampaignView,
    LaunchResult,
    Segment,
    VariantReport,
    Verdict,
)
from core.chat import Button, Card, Reply
from core.programme import Programme

MAX_NAME_CHARS = 120


# The audience in words


def describe_segment(t: Translator, programme: Programme, audience: Segment) -> str:
    """ "stage Interest · tier Gold", or "all members"."""
    tiers = {tier.code: t.pick(tier.name) for tier in programme.tiers.levels}
    namers: dict[str, Callable[[str], str]] = {
        "stages": lambda code: label(t, "stage", code),
        "risk": lambda code: label(t, "risk", code),
        "tiers": lambda code: tiers.get(code, code),
        "rfm": lambda code: _rfm(t, code),
        "tags": lambda tag: tag,
        "channels": lambda code: label(t, "channel", code),
    }
    parts = []
    for field, namer in namers.items():
        values = getattr(audience, field)
        if values:
            names = t("admin.list_separator").join(namer(value) for value in values)
            parts.append(t(f"broadcast.segment.{field}", names=names))
    if audience.birthday_month is not None:
        parts.append(t("broadcast.segment.birthday", month=month_name(t, audience.birthday_month)))
    for name in ("inactive", "purchase"):
        low, high = getattr(audience, f"{name}_days_min"), getattr(audience, f"{name}_days_max")
        if low is not None or high is not None:
            parts.append(t(f"broadcast.segment.{name}", days=_days(t, low, high)))
    return SEPARATOR.join(parts) if parts else t("broadcast.segment.all")


def month_name(t: Translator, month: int) -> str:
    return str(get_month_names("wide", locale=t.locale.replace("-", "_"))[month])


def _rfm(t: Translator, code: str) -> str:
    key = f"score.segments.{code}"
    return t(key) if t.has(key) else code


def _days(t: Translator, low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return t("broadcast.segment.days_range", low=t.number(low), high=t.number(high))
    if low is not None:
        return t("broadcast.segment.days_min", low=t.number(low))
    return t("broadcast.segment.days_max", high=t.number(high or 0))


def campaign_name(turn: Turn, audience: Segment) -> str:
    segment = describe_segment(turn.t, turn.programme, audience)
    return turn.t("broadcast.name", segment=segment, when=turn.t.datetime(turn.now))[
        :MAX_NAME_CHARS
    ]


# The preview


def audience_line(turn: Turn, audience: Segment, count: int) -> str:
    segment = describe_segment(turn.t, turn.programme, audience)
    return turn.t("broadcast.audience", segment=segment, count=turn.t.number(count))


def quota_line(t: Translator, messages: int, quota: LineQuota | None) -> str:
    """LINE's share: the campaign's LINE messages against what is left of this month's."""
    count = t.number(messages)
    if quota is None:
        return t("broadcast.quota.unknown", messages=count)
    if quota.limit is None or quota.left is None:
        return t("broadcast.quota.unlimited", messages=count, used=t.number(quota.used))
    left = quota.left
    share = percent(t, messages / left) if left else t("broadcast.quota.none_left")
    line = t("broadcast.quota.share", messages=count, share=share, left=t.number(left),
             used=t.number(quota.used), limit=t.number(quota.limit))  # fmt: skip
    if messages > left:
        line += "\n" + t("broadcast.quota.short", short=t.number(messages - left))
    return line


def preview_reply(
    turn: Turn,
    *,
    flow: str,
    summary: list[str],
    samples: Iterable[tuple[str, Reply]],
    count: int,
) -> Reply:
    """The figures, the message in each language as members will see it, and the send
    button (none when nobody matches)."""
    t = turn.t
    texts: list[str | Card] = [t("broadcast.preview.title") + "\n" + "\n".join(summary)]
    for locale, sample in samples:
        lines = [t("broadcast.preview.as_seen", language=t(f"lang.name.{locale}"))]
        lines += [str(part) for part in sample.texts if isinstance(part, str)]
        lines += [t("broadcast.preview.button", label=button.label) for button in sample.buttons]
        texts.append("\n".join(lines))
    if not count:
        texts.append(t("broadcast.nobody"))
        return Reply(texts=texts, buttons=[cancel_button(turn)])
    texts.append(t("broadcast.confirm"))
    send = Button(t("broadcast.send", count=t.number(count)), payload("go", flow))
    return Reply(texts=texts, buttons=[send, cancel_button(turn)])


def launched_reply(turn: Turn, campaign: CampaignView, result: LaunchResult) -> Reply:
    t = turn.t
    text = t("broadcast.launched", id=campaign.id, name=campaign.name,
             targeted=t.number(result.targeted))  # fmt: skip
    return Reply.text(text, buttons=[report_button(t, campaign.id)])


# /campaigns and the report


def report_button(t: Translator, campaign_id: int) -> Button:
    return Button(t("broadcast.list.report", id=campaign_id), payload("report", str(campaign_id)))


def status_label(t: Translator, status: str) -> str:
    key = f"broadcast.status.{status}"
    return t(key) if t.has(key) else status


def campaign_card(t: Translator, programme: Programme, report: CampaignReport) -> Card:
    """One line each: status, audience, delivery, results and, for A/B, the verdict."""
    campaign, total = report.campaign, _total(report.variants)
    audience = describe_segment(t, programme, campaign.segment)
    fields = [
        (t("broadcast.list.audience"),
         t("broadcast.list.audience_value", segment=audience, count=t.number(campaign.targeted))),
        (t("broadcast.list.delivery"), _delivery(t, total)),
        (t("broadcast.list.results"),
         t("broadcast.list.results_value", clicked=t.number(total.clicked),
           redeemed=t.number(total.redeemed))),
    ]  # fmt: skip
    if len(report.variants) == 2:
        fields.append((t("broadcast.list.ab"), verdict_text(t, report.verdict)))
    return Card(
        kind="generic",
        title=t("broadcast.list.title", id=campaign.id, name=campaign.name),
        subtitle=_status(t, campaign),
        fields=tuple(fields),
        buttons=(report_button(t, campaign.id),),
    )


def report_card(t: Translator, programme: Programme, report: CampaignReport) -> Card:
    """Per variant: delivery, skips by reason and outcomes; the A/B verdict at the foot."""
    campaign = report.campaign
    ab = len(report.variants) == 2
    fields = [
        (t("broadcast.list.audience"), describe_segment(t, programme, campaign.segment)),
        (t("broadcast.report.metric"), t(f"broadcast.metric.{campaign.metric}")),
    ]
    for variant in report.variants:
        fields += _variant_fields(t, variant, ab)
    return Card(
        kind="generic",
        title=t("broadcast.list.title", id=campaign.id, name=campaign.name),
        subtitle=_status(t, campaign),
        fields=tuple(fields),
        footer=verdict_text(t, report.verdict) if ab else None,
    )


def _variant_fields(t: Translator, variant: VariantReport, ab: bool) -> list[tuple[str, str]]:
    def named(key: str) -> str:
        text = t(key)
        return t("broadcast.report.of_variant", variant=variant.name, what=text) if ab else text

    fields = [
        (named("broadcast.report.delivery"), _delivery(t, variant)),
        (named("broadcast.report.outcomes"),
         t("broadcast.report.outcomes_value", clicked=t.number(variant.clicked),
           claimed=t.number(variant.claimed), redeemed=t.number(variant.redeemed),
           purchased=t.number(variant.purchased))),
    ]  # fmt: skip
    if variant.skipped:
        skipped = SEPARATOR.join(
            f"{_reason(t, reason)} {t.number(count)}" for reason, count in variant.skipped.items()
        )
        fields.insert(1, (named("broadcast.report.skipped"), skipped))
    return fields


def verdict_text(t: Translator, verdict: Verdict) -> str:
    if verdict.kind in ("not_ab", "too_early") or verdict.p_value is None:
        return t("broadcast.verdict.too_early")
    p = (
        t("broadcast.verdict.p_small")
        if verdict.p_value < 0.001
        else t("broadcast.verdict.p", p=f"{verdict.p_value:.2f}")
    )
    if verdict.kind == "winner" and verdict.winner and verdict.loser:
        rates = {"A": verdict.rate_a, "B": verdict.rate_b}
        return t(
            "broadcast.verdict.winner",
            winner=verdict.winner,
            loser=verdict.loser,
            metric=t(f"broadcast.metric.{verdict.metric}"),
            winner_rate=_rate(t, rates.get(verdict.winner)),
            loser_rate=_rate(t, rates.get(verdict.loser)),
            p=p,
        )
    return t("broadcast.verdict.no_difference", p=p)


def _total(variants: list[VariantReport]) -> VariantReport:
    total = VariantReport(name="*", weight=100)
    for variant in variants:
        for field in ("targeted", "queued", "sending", "sent", "in_doubt", "failed", "blocked",
                      "clicked", "claimed", "redeemed", "purchased"):  # fmt: skip
            setattr(total, field, getattr(total, field) + getattr(variant, field))
    return total


def _delivery(t: Translator, variant: VariantReport) -> str:
    doubt = ""
    if variant.in_doubt:
        doubt = t("broadcast.report.in_doubt", count=t.number(variant.in_doubt))
    return t("broadcast.report.delivery_value", targeted=t.number(variant.targeted),
             sent=t.number(variant.sent), doubt=doubt, failed=t.number(variant.failed),
             blocked=t.number(variant.blocked),
             waiting=t.number(variant.queued + variant.sending))  # fmt: skip


def _status(t: Translator, campaign: CampaignView) -> str:
    status = status_label(t, campaign.status)
    if campaign.launched_at is None:
        return status
    return t("broadcast.list.launched_at", status=status, when=t.datetime(campaign.launched_at))


def _reason(t: Translator, reason: str) -> str:
    key = f"broadcast.reason.{reason}"
    return t(key) if t.has(key) else reason


def _rate(t: Translator, rate: Any) -> str:
    return "–" if rate is None else percent(t, float(rate))
