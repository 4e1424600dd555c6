"""The database tables (SQLModel). Importing this package registers every table on the metadata."""

from sqlmodel import SQLModel

from core.models.campaigns import Campaign, Delivery, SchedulerLease
from core.models.chat import ChatState
from core.models.coupons import CouponDefinition, CouponGrant
from core.models.funnel import Event, FunnelDaily, StageEntry
from core.models.members import ChannelIdentity, Member, MemberTag, format_member_number
from core.models.menus import ChatMenu, ChatMenuSync
from core.models.ops import (
    Admin,
    ApiToken,
    AuditLog,
    IdempotencyRecord,
    InboundUpdate,
    RateLimit,
)
from core.models.points import (
    Checkin,
    LedgerEntry,
    Purchase,
    QualifyingEntry,
    Referral,
    Refund,
    TierChange,
)
from core.models.scores import MemberScore
from core.models.stats import BuyerCohort, CampaignCounter, StageCohort, StatsDaily
from core.models.surveys import Survey, SurveyAnswer, SurveyProgress, SurveyQuestion
from core.models.types import JSONType, UTCDateTime

metadata = SQLModel.metadata

__all__ = [
    "JSONType",
    "UTCDateTime",
    "Admin",
    "ApiToken",
    "AuditLog",
    "BuyerCohort",
    "Campaign",
    "CampaignCounter",
    "ChannelIdentity",
    "ChatMenu",
    "ChatMenuSync",
    "ChatState",
    "Checkin",
    "CouponDefinition",
    "CouponGrant",
    "Delivery",
    "Event",
    "FunnelDaily",
    "IdempotencyRecord",
    "InboundUpdate",
    "RateLimit",
    "LedgerEntry",
    "Member",
    "MemberScore",
    "MemberTag",
    "Purchase",
    "QualifyingEntry",
    "Referral",
    "SchedulerLease",
    "Refund",
    "StageCohort",
    "StageEntry",
    "StatsDaily",
    "Survey",
    "SurveyAnswer",
    "SurveyProgress",
    "SurveyQuestion",
    "TierChange",
    "format_member_number",
    "metadata",
]
