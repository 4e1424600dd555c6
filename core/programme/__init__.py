"""The programme a brand configures (`loyalty.toml`): its sections, the built-in
defaults and the file that overrides them.
"""

from core.programme import defaults
from core.programme.config import Programme
from core.programme.file import load_programme, parse_programme
from core.programme.sections import (
    STAGES,
    Automation,
    AutomationKind,
    Caps,
    CheckinRule,
    Consent,
    CouponRule,
    Earn,
    Eligibility,
    Expiry,
    FrequencyCap,
    FunnelRule,
    Promotion,
    Question,
    QuietHours,
    ReferralRule,
    Section,
    Stage,
    SurveyRule,
    Text,
    Tier,
    Tiers,
    pick_text,
)

__all__ = [
    "STAGES",
    "Automation",
    "AutomationKind",
    "Caps",
    "CheckinRule",
    "Consent",
    "CouponRule",
    "Earn",
    "Eligibility",
    "Expiry",
    "FrequencyCap",
    "FunnelRule",
    "Programme",
    "Promotion",
    "Question",
    "QuietHours",
    "ReferralRule",
    "Section",
    "Stage",
    "SurveyRule",
    "Text",
    "Tier",
    "Tiers",
    "defaults",
    "load_programme",
    "parse_programme",
    "pick_text",
]
