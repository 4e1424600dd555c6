"""Campaigns: segments, A/B variants, launches into the outbox, last-touch
attribution and the report with its verdict.
"""

from core.campaigns.attribution import attribute
from core.campaigns.definitions import (
    CampaignSpec,
    CampaignView,
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
)
from core.campaigns.launch import (
    LaunchResult,
    complete_campaigns,
    launch_campaign,
    launch_due_campaigns,
)
from core.campaigns.report import CampaignReport, VariantReport, Verdict, campaign_report
from core.campaigns.segments import Segment, audience_by_channel, audience_count

__all__ = [
    "CampaignReport",
    "CampaignSpec",
    "CampaignView",
    "LaunchResult",
    "Segment",
    "VariantReport",
    "Verdict",
    "attribute",
    "audience_by_channel",
    "audience_count",
    "campaign_report",
    "cancel_campaign",
    "complete_campaigns",
    "create_campaign",
    "get_campaign",
    "launch_campaign",
    "launch_due_campaigns",
    "list_campaigns",
]
