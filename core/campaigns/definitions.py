"""Campaigns: a segment, one or two variants (A/B) of a message, a schedule and the metric
an A/B test is judged on. Launching and reporting live in core.campaigns.launch and
core.campaigns.report.

Statuses: draft (launched by hand) or scheduled (by the scheduler, at `next_run_at`) →
launching (delivery rows being written) → sending (the outbox drains) → done, or back to
scheduled for the next run of a recurring campaign; cancelled at any point.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session, col, select

from core.campaigns.segments import Segment
from core.kernel import (
    CampaignClosed,
    CampaignNotFound,
    Clock,
    CouponNotFound,
    InvalidInput,
    as_utc,
    commit,
)
from core.models import Campaign, CouponDefinition, Delivery
from core.outbox import ButtonSpec, DeliveryContent
from core.programme import Programme, Text

Metric = Literal["clicked", "claimed", "redeemed", "purchased"]
METRICS: tuple[str, ...] = ("clicked", "claimed", "redeemed", "purchased")
OPEN = ("draft", "scheduled", "launching", "sending")
MAX_ATTRIBUTION_DAYS = 90
NAME_MAX = 120


class VariantSpec(BaseModel):
    """One version of the message; with two, `weight` is each one's share (they add to 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["A", "B"] = "A"
    weight: Annotated[int, Field(ge=1, le=100)] = 100
    text: Text
    buttons: list[ButtonSpec] = []
    coupon: str | None = None

    @property
    def content(self) -> DeliveryContent:
        return DeliveryContent(text=self.text, buttons=self.buttons, coupon=self.coupon)

    @model_validator(mode="after")
    def _valid_content(self) -> VariantSpec:
        _ = self.content  # raises on empty texts, too many buttons, long payloads
        return self


class CampaignSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    audience: Segment = Segment()
    variants: Annotated[list[VariantSpec], Field(min_length=1, max_length=2)]
    metric: Metric = "redeemed"
    send_at: datetime | None = None
    every_days: Annotated[int, Field(ge=1, le=365)] | None = None
    attribution_days: Annotated[int, Field(ge=1, le=MAX_ATTRIBUTION_DAYS)] = 7

    @model_validator(mode="after")
    def _variants(self) -> CampaignSpec:
        names = [variant.name for variant in self.variants]
        if names != ["A", "B"][: len(names)]:
            raise ValueError("variants are named A, then B")
        if sum(variant.weight for variant in self.variants) != 100:
            raise ValueError("the variants' weights must add up to 100")
        if not self.name.strip():
            raise ValueError("a campaign needs a name")
        return self


class CampaignView(BaseModel):
    id: int
    name: str
    status: str
    audience: dict[str, Any]
    variants: list[dict[str, Any]]
    metric: str
    send_at: datetime | None
    every_days: int | None
    next_run_at: datetime | None
    runs: int
    attribution_days: int
    targeted: int
    created_by: str
    created_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignView:
        return cls.model_validate(campaign, from_attributes=True)

    @property
    def segment(self) -> Segment:
        return Segment.model_validate(self.audience)


def parse_spec(raw: CampaignSpec | dict[str, Any]) -> CampaignSpec:
    """The spec, or InvalidInput naming the field and what is wrong with it."""
    if isinstance(raw, CampaignSpec):
        return raw
    try:
        return CampaignSpec.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "campaign"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {message}", field=field) from None


def create_campaign(
    session: Session,
    *,
    clock: Clock,
    programme: Programme,
    spec: CampaignSpec | dict[str, Any],
    created_by: str,
) -> CampaignView:
    """Store a campaign after checking it: known tiers and coupons, texts, buttons, weights.
    Without a time it is a draft to launch by hand; with `send_at` or `every_days` the
    scheduler launches it (a recurring one with no `send_at` starts at once)."""
    spec = parse_spec(spec)
    _check_references(session, spec, programme)
    now = clock.now()
    first_run = as_utc(spec.send_at) if spec.send_at else (now if spec.every_days else None)
    campaign = Campaign(
        name=spec.name.strip(),
        status="scheduled" if first_run else "draft",
        audience=spec.audience.model_dump(mode="json", exclude_defaults=True),
        variants=[
            {
                "name": variant.name,
                "weight": variant.weight,
                "content": variant.content.model_dump(mode="json", exclude_defaults=True),
            }
            for variant in spec.variants
        ],
        metric=spec.metric,
        send_at=first_run if spec.send_at else None,
        every_days=spec.every_days,
        next_run_at=first_run,
        attribution_days=spec.attribution_days,
        created_by=created_by[:160],
        created_at=now,
    )
    session.add(campaign)
    commit(session)
    return CampaignView.of(campaign)


def _check_references(session: Session, spec: CampaignSpec, programme: Programme) -> None:
    tiers = {tier.code for tier in programme.tiers.levels}
    unknown = sorted(set(spec.audience.tiers) - tiers)
    if unknown:
        raise InvalidInput(f"audience.tiers: unknown tiers {unknown}", tiers=unknown)
    wanted = {code for variant in spec.variants for code in variant.content.coupons()}
    if not wanted:
        return
    found = set(
        session.exec(
            select(CouponDefinition.code).where(
                col(CouponDefinition.code).in_(sorted(wanted)),
                col(CouponDefinition.active).is_(True),
            )
        ).all()
    )
    missing = sorted(wanted - found)
    if missing:
        raise CouponNotFound(f"no active coupon {missing[0]!r}", coupon=missing[0])


def get_campaign(session: Session, campaign_id: int) -> CampaignView:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound("no such campaign", campaign_id=campaign_id)
    return CampaignView.of(campaign)


def list_campaigns(session: Session, *, limit: int = 50) -> list[CampaignView]:
    """The newest campaigns first."""
    rows = session.exec(select(Campaign).order_by(col(Campaign.id).desc()).limit(limit)).all()
    return [CampaignView.of(row) for row in rows]


def lock_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.exec(
        select(Campaign)
        .where(Campaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if campaign is None:
        raise CampaignNotFound("no such campaign", campaign_id=campaign_id)
    return campaign


def cancel_campaign(session: Session, *, clock: Clock, campaign_id: int) -> CampaignView:
    """Stop a campaign: what is still queued is skipped ("cancelled"); messages already
    handed to a platform cannot be called back. Cancelling twice changes nothing."""
    campaign = lock_campaign(session, campaign_id)
    if campaign.status == "done":
        session.rollback()
        raise CampaignClosed("the campaign has finished", campaign_id=campaign_id)
    if campaign.status != "cancelled":
        campaign.status = "cancelled"
        campaign.next_run_at = None
        campaign.completed_at = clock.now()
        table = Delivery.__table__  # type: ignore[attr-defined]
        session.execute(
            sa.update(table)
            .where(table.c.campaign_id == campaign_id, table.c.status == "queued")
            .values(status="skipped", reason="cancelled")
        )
    commit(session)
    return CampaignView.of(campaign)


def next_run(campaign: Campaign, now: datetime) -> datetime | None:
    """When a recurring campaign runs again after a run that starts `now`."""
    if not campaign.every_days:
        return None
    return now + timedelta(days=campaign.every_days)
