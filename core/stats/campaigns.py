"""The best campaigns of a window, from the campaign counters (core.stats.counters).

A summary for /stats, not the campaign report: outcomes here are every claim, redemption
and purchase attributed to the campaign (core.campaigns.attribution decides which), per member the
campaign targeted; core.campaigns.report has the per-delivery figures and the A/B test.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.kernel import start_of_local_day
from core.models import Campaign, CampaignCounter
from core.programme import Programme

BEST_LIMIT = 3


class CampaignFigure(BaseModel):
    campaign_id: int
    name: str
    launched_at: datetime | None
    targeted: int
    claimed: int
    redeemed: int
    purchases: int
    revenue: Decimal
    redemption_rate: float | None
    """Redeemed coupons per member targeted."""


def best_campaigns(
    session: Session, *, programme: Programme, since: date, limit: int = BEST_LIMIT
) -> list[CampaignFigure]:
    """Campaigns launched on or after the local day `since`, best redemption rate first
    (then most purchases); campaigns that targeted nobody are left out."""
    launched = session.exec(
        select(Campaign)
        .where(
            col(Campaign.launched_at) >= start_of_local_day(since, programme.zone),
            col(Campaign.targeted) > 0,
        )
        .order_by(col(Campaign.id))
    ).all()
    if not launched:
        return []
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    counter = CampaignCounter
    for campaign_id, metric, value in session.exec(
        select(counter.campaign_id, counter.metric, sa.func.sum(counter.value))
        .where(col(counter.campaign_id).in_([c.id for c in launched]))
        .group_by(col(counter.campaign_id), col(counter.metric))
    ).all():
        counts[campaign_id][metric] = int(value or 0)
    figures = [_figure(campaign, counts[campaign.id or 0]) for campaign in launched]
    figures.sort(key=lambda f: (-(f.redemption_rate or 0), -f.purchases, f.campaign_id))
    return figures[:limit]


def _figure(campaign: Campaign, counts: dict[str, int]) -> CampaignFigure:
    redeemed = counts.get("redeemed", 0)
    return CampaignFigure(
        campaign_id=campaign.id or 0,
        name=campaign.name,
        launched_at=campaign.launched_at,
        targeted=campaign.targeted,
        claimed=counts.get("claimed", 0),
        redeemed=redeemed,
        purchases=counts.get("purchases", 0),
        revenue=Decimal(counts.get("revenue_cents", 0)) / 100,
        redemption_rate=redeemed / campaign.targeted if campaign.targeted else None,
    )
