"""Campaigns over the admin API: create, launch (idempotent), cancel, list, report, and
audience counts for previews. Writes are audited as `api:<token name>`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from bot.api.campaign_schemas import (
    CampaignCreate,
    CampaignPublic,
    CampaignReportPublic,
    LaunchPublic,
    SegmentCount,
    SegmentIn,
)
from bot.api.deps import (
    AuditOnCommit,
    ClockDep,
    ProgrammeDep,
    ReaderDep,
    ServicesDep,
    SessionDep,
    TokenDep,
)
from bot.api.errors import ApiRoute, ErrorBody, errors
from bot.delivery import push_channels
from core.campaigns import (
    audience_by_channel,
    audience_count,
    campaign_report,
    cancel_campaign,
    create_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
)
from core.kernel import MAX_INT

router = APIRouter(tags=["campaigns"], route_class=ApiRoute)

MAX_LIST = 200
CampaignId = Annotated[int, Path(ge=1, le=MAX_INT, examples=[12])]


def _documented(
    status: int, description: str, example: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """An error status in these routes' own words, with an example of its ErrorBody."""
    content = {"application/json": {"example": example}}
    return {status: {"model": ErrorBody, "description": description, "content": content}}


NO_CAMPAIGN = _documented(
    404,
    "No campaign has that id (`campaign.not_found`).",
    {"error": "campaign.not_found", "message": "no such campaign", "params": {"campaign_id": 99}},
)
NO_COUPON = _documented(
    404,
    "A variant attaches a coupon no active definition has (`coupon.not_found`).",
    {"error": "coupon.not_found", "message": "no active coupon 'SPRING'",
     "params": {"coupon": "SPRING"}},
)  # fmt: skip
CANCELLED = _documented(
    409,
    "The campaign was cancelled (`campaign.closed`).",
    {"error": "campaign.closed", "message": "the campaign was cancelled",
     "params": {"campaign_id": 12}},
)  # fmt: skip
FINISHED = _documented(
    409,
    "The campaign has finished (`campaign.closed`).",
    {"error": "campaign.closed", "message": "the campaign has finished",
     "params": {"campaign_id": 12}},
)  # fmt: skip


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignPublic,
    summary="Create a campaign",
    responses={
        201: {"description": "Stored: a draft, or scheduled when it has a time."},
        **NO_COUPON,
        **errors(422),
    },
)
def create(
    body: CampaignCreate,
    session: SessionDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    caller: TokenDep,
) -> CampaignPublic:
    """Store a campaign after checking its tiers, coupons, texts, buttons and weights. A
    draft (no `send_at`, no `every_days`) waits for `POST /campaigns/{id}/launch`; a
    scheduled one is launched by the scheduler at `send_at` (and every `every_days`)."""
    AuditOnCommit(session, clock=clock, caller=caller, action="campaign.create",
                  target=body.name[:160])  # fmt: skip
    view = create_campaign(
        session, clock=clock, programme=programme, spec=body, created_by=caller.actor
    )
    return CampaignPublic.of(view)


@router.get(
    "/campaigns",
    response_model=list[CampaignPublic],
    summary="List campaigns, newest first",
    responses=errors(422),
)
def list_(
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="How many, newest first.")] = 50,
) -> list[CampaignPublic]:
    return [CampaignPublic.of(view) for view in list_campaigns(reader, limit=limit)]


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignPublic,
    summary="Get a campaign",
    responses={**NO_CAMPAIGN, **errors(422)},
)
def get(campaign_id: CampaignId, reader: ReaderDep) -> CampaignPublic:
    return CampaignPublic.of(get_campaign(reader, campaign_id))


@router.post(
    "/campaigns/{campaign_id}/launch",
    status_code=202,
    response_model=LaunchPublic,
    summary="Launch a campaign now (idempotent)",
    responses={
        202: {"description": "Launched now: one delivery per member of the segment written."},
        200: {"model": LaunchPublic, "description": "A repeat: it was launched already; the "
              "same run and deliveries, nothing written again."},
        **NO_CAMPAIGN,
        **CANCELLED,
        **errors(422),
    },
)  # fmt: skip
def launch(
    campaign_id: CampaignId,
    session: SessionDep,
    services: ServicesDep,
    caller: TokenDep,
    response: Response,
) -> LaunchPublic:
    """Write one delivery per member of the segment (202); the senders drain them at each
    channel's rate, within quiet hours and the frequency cap. A repeat — or a launch of a
    campaign already sending or done — answers 200 with the same run and count and writes
    nothing; a launch a crash interrupted is finished."""
    AuditOnCommit(session, clock=services.clock, caller=caller, action="campaign.launch",
                  target=str(campaign_id))  # fmt: skip
    result = launch_campaign(session, clock=services.clock, campaign_id=campaign_id,
                             channels=push_channels(services))  # fmt: skip
    if not result.started:
        response.status_code = 200
    return LaunchPublic.of(result)


@router.post(
    "/campaigns/{campaign_id}/cancel",
    response_model=CampaignPublic,
    summary="Cancel a campaign",
    responses={**NO_CAMPAIGN, **FINISHED, **errors(422)},
)
def cancel(
    campaign_id: CampaignId, session: SessionDep, clock: ClockDep, caller: TokenDep
) -> CampaignPublic:
    """Stop it: deliveries still queued are skipped (`cancelled`); messages already handed
    to a platform cannot be called back. Cancelling twice changes nothing."""
    AuditOnCommit(session, clock=clock, caller=caller, action="campaign.cancel",
                  target=str(campaign_id))  # fmt: skip
    return CampaignPublic.of(cancel_campaign(session, clock=clock, campaign_id=campaign_id))


@router.get(
    "/campaigns/{campaign_id}/report",
    response_model=CampaignReportPublic,
    summary="A campaign's report per variant, with the A/B test",
    responses={**NO_CAMPAIGN, **errors(422)},
)
def report(campaign_id: CampaignId, reader: ReaderDep) -> CampaignReportPublic:
    """Targeted, sent, failed, blocked, skipped by reason, clicked, claimed, redeemed and
    purchased per variant; for A/B, the z statistic, p-value and a plain verdict."""
    return CampaignReportPublic.of(campaign_report(reader, campaign_id=campaign_id))


@router.post(
    "/segments/count",
    response_model=SegmentCount,
    summary="Count a segment's members (a preview)",
    responses=errors(422),
)
def count_segment(body: SegmentIn, reader: ReaderDep, services: ServicesDep) -> SegmentCount:
    """How many members a campaign to this segment would reach now, in total and per
    channel. Reads only; changes nothing."""
    channels = push_channels(services)
    now = services.clock.now()
    return SegmentCount(
        audience=audience_count(reader, body, now, channels),
        by_channel=audience_by_channel(reader, body, now, channels),
        channels=list(channels),
    )
