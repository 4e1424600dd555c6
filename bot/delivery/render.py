"""Outbox rows → chat replies, in each member's language.

Tappable buttons carry `cc:<ref>:<index>` (core.outbox.content.button_payload): for a
campaign message <ref> is `c<campaign>-<run>`, the same for every recipient so that LINE
can multicast it; for any other message it is the delivery id. Link buttons open their URL
directly (the platforms do not report those taps).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.i18n import Translator
from core.chat import Button, Reply
from core.models import Campaign, CouponDefinition
from core.outbox import (
    DeliveryContent,
    OutboxRow,
    button_payload,
    campaign_ref,
    parse_content,
    variant_content,
)
from core.programme import Programme, pick_text


class Renderer:
    """Renders claimed rows; reads the campaigns and coupons it needs once per claim."""

    def __init__(self, programme: Programme) -> None:
        self.programme = programme
        self._variants: dict[tuple[int, str], DeliveryContent] = {}
        self._coupon_titles: dict[str, dict[str, str]] = {}

    def load(self, session: Session, rows: list[OutboxRow]) -> None:
        """Read the campaign variants and coupon titles these rows need."""
        wanted = {(row.campaign_id, row.variant) for row in rows if _uses_campaign(row)}
        missing = {campaign_id for campaign_id, variant in wanted} - {
            campaign_id for campaign_id, _ in self._variants
        }
        if missing:
            for campaign in session.exec(
                select(Campaign).where(col(Campaign.id).in_(sorted(c for c in missing if c)))
            ):
                for spec in campaign.variants:
                    key = (campaign.id or 0, str(spec["name"]))
                    self._variants[key] = variant_content(campaign, str(spec["name"]))
        codes = {code for row in rows for code in self.content(row).coupons()}
        unknown = sorted(codes - set(self._coupon_titles))
        if unknown:
            for code, title in session.exec(
                select(CouponDefinition.code, CouponDefinition.title).where(
                    col(CouponDefinition.code).in_(unknown)
                )
            ):
                self._coupon_titles[code] = dict(title)

    def content(self, row: OutboxRow) -> DeliveryContent:
        if _uses_campaign(row):
            return self._variants[(row.campaign_id or 0, row.variant)]
        return parse_content(row.content)

    def render(self, row: OutboxRow) -> Reply:
        """The reply for one row; raises KeyError when a catalog text is missing."""
        content = self.content(row)
        t = Translator(row.locale, timezone=self.programme.timezone,
                       currency=self.programme.currency)  # fmt: skip
        text = content.text_for(row.locale, self.programme.locale)
        if text is None:
            text = t(content.text_key or "", **_params(content.params))
        ref = campaign_ref(row.campaign_id or 0, row.run) if _uses_campaign(row) else str(row.id)
        buttons = []
        for index, action in enumerate(content.actions()):
            if action.action == "url":
                buttons.append(Button(pick_text(action.label, row.locale), url=action.value))
            elif index == 0 and content.coupon:
                title = pick_text(self._coupon_titles.get(action.value, action.value), row.locale)
                label = t("campaigns.claim_coupon", title=title)
                buttons.append(Button(label, button_payload(ref, index)))
            else:
                label = pick_text(action.label, row.locale)
                buttons.append(Button(label, button_payload(ref, index)))
        return Reply(texts=[text], buttons=buttons)


def _uses_campaign(row: OutboxRow) -> bool:
    return row.campaign_id is not None and not row.content


def _params(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if isinstance(key, str)}
