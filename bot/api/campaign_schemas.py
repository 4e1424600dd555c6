"""Request and response bodies of the campaign routes: the core's campaign spec and segment
with the API's own limits (storable text, datetimes in range) and examples, and Public
models that list their fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.api.schemas import ApiDateTime, storable
from core.campaigns import (
    CampaignReport,
    CampaignSpec,
    CampaignView,
    LaunchResult,
    Segment,
    VariantReport,
    Verdict,
)
from core.outbox import ButtonSpec
from core.programme import Text

SEGMENT_EXAMPLE: dict[str, Any] = {
    "stages": ["interest"],
    "tiers": ["silver", "gold"],
    "inactive_days_min": 14,
}
CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "name": "Spring sale for new members",
    "audience": {"stages": ["interest"]},
    "variants": [
        {
            "name": "A",
            "weight": 50,
            "text": {"zh-TW": "春季特賣，全品項八折！", "en": "Spring sale: 20% off everything!"},
            "coupon": "SPEND500SAVE100",
        },
        {
            "name": "B",
            "weight": 50,
            "text": {"zh-TW": "只到週日：滿 500 折 100", "en": "Until Sunday: NT$100 off NT$500"},
            "buttons": [
                {
                    "label": {"zh-TW": "看菜單", "en": "Menu"},
                    "action": "url",
                    "value": "https://example.com/menu",
                }
            ],  # fmt: skip
            "coupon": "SPEND500SAVE100",
        },
    ],
    "metric": "redeemed",
    "send_at": "2026-03-06T10:00:00+08:00",
    "every_days": None,
    "attribution_days": 7,
}


class SegmentIn(Segment):
    """Who a campaign reaches: every filter optional, all of them AND-ed, the values inside
    one filter OR-ed. Only signed-up members who have not opted out and have a reachable
    chat account on a configured channel are ever counted."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [SEGMENT_EXAMPLE]}
    )

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


class CampaignCreate(CampaignSpec):
    """A campaign: the audience, one or two variants (A/B, weights adding up to 100), the
    metric an A/B test is judged on, and when to send. Without `send_at` or `every_days`
    it is a draft to launch with `POST /campaigns/{id}/launch`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [CAMPAIGN_EXAMPLE]}
    )

    audience: SegmentIn = SegmentIn()
    send_at: ApiDateTime | None = Field(  # type: ignore[assignment]
        default=None, description="When the scheduler sends it (ISO 8601; UTC without offset)."
    )

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)


class VariantPublic(BaseModel):
    name: str
    weight: int = Field(description="The share of the audience, in %.")
    text: Text = Field(description="One text for every member, or one per locale.")
    buttons: list[ButtonSpec]
    coupon: str | None = Field(description="The coupon whose claim button is attached.")

    @classmethod
    def of(cls, stored: dict[str, Any]) -> VariantPublic:
        content = stored.get("content", {})
        return cls(
            name=str(stored["name"]),
            weight=int(stored["weight"]),
            text=content.get("text", ""),
            buttons=content.get("buttons", []),
            coupon=content.get("coupon"),
        )


class CampaignPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "name": "Spring sale for new members",
                    "status": "sending",
                    "audience": {"stages": ["interest"]},
                    "variants": [
                        {
                            "name": "A",
                            "weight": 100,
                            "text": "春季特賣，全品項八折！",
                            "buttons": [],
                            "coupon": "SPEND500SAVE100",
                        }
                    ],  # fmt: skip
                    "metric": "redeemed",
                    "send_at": None,
                    "every_days": None,
                    "next_run_at": None,
                    "runs": 1,
                    "attribution_days": 7,
                    "targeted": 3120,
                    "created_by": "api:crm",
                    "created_at": "2026-03-02T02:00:00Z",
                    "launched_at": "2026-03-02T02:05:00Z",
                    "completed_at": None,
                }
            ]
        }
    )

    id: int
    name: str
    status: str = Field(
        description="draft, scheduled, launching, sending, done or cancelled; a recurring "
        "campaign goes back to scheduled after each run."
    )
    audience: dict[str, Any] = Field(description="The segment's filters (see SegmentIn).")
    variants: list[VariantPublic]
    metric: str
    send_at: datetime | None
    every_days: int | None
    next_run_at: datetime | None
    runs: int
    attribution_days: int
    targeted: int = Field(description="Deliveries the latest run wrote.")
    created_by: str
    created_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, view: CampaignView) -> CampaignPublic:
        return cls(
            **view.model_dump(exclude={"variants"}),
            variants=[VariantPublic.of(variant) for variant in view.variants],
        )


class LaunchPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"campaign_id": 12, "run": 1, "targeted": 3120, "status": "sending"}]
        }
    )

    campaign_id: int
    run: int = Field(description="The run launched (1 for a campaign that runs once).")
    targeted: int = Field(description="Deliveries written for the run, one per member.")
    status: str

    @classmethod
    def of(cls, result: LaunchResult) -> LaunchPublic:
        return cls(**result.model_dump(exclude={"started"}))


class CampaignReportPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "campaign": CampaignPublic.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
                    "variants": [
                        {
                            "name": "A",
                            "weight": 50,
                            "targeted": 1560,
                            "queued": 0,
                            "sending": 0,
                            "sent": 1500,
                            "failed": 10,
                            "blocked": 20,
                            "skipped": {"capped": 30},
                            "clicked": 300,
                            "claimed": 150,
                            "redeemed": 60,
                            "purchased": 40,
                        },
                        {
                            "name": "B",
                            "weight": 50,
                            "targeted": 1560,
                            "queued": 0,
                            "sending": 0,
                            "sent": 1510,
                            "failed": 12,
                            "blocked": 18,
                            "skipped": {"capped": 20},
                            "clicked": 280,
                            "claimed": 190,
                            "redeemed": 95,
                            "purchased": 52,
                        },
                    ],  # fmt: skip
                    "verdict": {
                        "kind": "winner",
                        "metric": "redeemed",
                        "winner": "B",
                        "loser": "A",
                        "rate_a": 0.04,
                        "rate_b": 0.0629,
                        "p_value": 0.0056,
                        "z": -2.77,
                        "text": "B beats A on redemption (6.3% vs 4.0%), p = 0.01",
                    },
                }
            ]
        }
    )

    campaign: CampaignPublic
    variants: list[VariantReport] = Field(
        description="Per variant: deliveries by status, skips by reason, and the outcomes "
        "within the attribution window after each sent message."
    )
    verdict: Verdict = Field(
        description="For A/B: the two-proportion z-test on the metric (pooled, two-sided; "
        "`z` > 0 when A's rate is higher), its p-value and the verdict at p < 0.05."
    )

    @classmethod
    def of(cls, report: CampaignReport) -> CampaignReportPublic:
        return cls(
            campaign=CampaignPublic.of(report.campaign),
            variants=report.variants,
            verdict=report.verdict,
        )


class SegmentCount(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"audience": 3120, "by_channel": {"line": 2900, "telegram": 220},
                 "channels": ["telegram", "line"]}
            ]
        }
    )  # fmt: skip

    audience: int = Field(description="Members the segment holds right now.")
    by_channel: dict[str, int] = Field(
        description="Messages a campaign would send on each channel (each member's most "
        "recently seen reachable account); LINE's count is what its monthly quota pays."
    )
    channels: list[str] = Field(description="The configured channels counted.")
