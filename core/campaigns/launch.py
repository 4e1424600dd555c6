"""Launching a campaign: one delivery row per member of its segment, written set-based
(INSERT … SELECT) in batches of member ids, one transaction per batch.

A run is numbered; each row's dedupe key is `c:<campaign>:<run>:<member>`, so a launch
repeated or resumed after a crash adds only the rows that are missing. Variant assignment
is a multiplicative hash of the member id (its multiplier drawn from the campaign id)
against the weights: the same member always gets the same variant of a campaign, and
different campaigns split their members independently.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from core.campaigns.definitions import CampaignView, lock_campaign, next_run
from core.campaigns.segments import Segment, reachable_channels, segment_filter
from core.kernel import CampaignClosed, Clock, commit, upsert_insert
from core.members import latest_identity
from core.models import Campaign, ChannelIdentity, Delivery, Member, UTCDateTime

BATCH_MEMBERS = 10_000
ANALYZE_AFTER = 5_000  # rows a launch writes before PostgreSQL's statistics are refreshed
HASH_SPACE = 2**32
KNUTH = 2_654_435_761  # ⌊2³² / φ⌋: consecutive ids spread evenly over the hash space
STEP = 2 * 0x9E3779B9  # each campaign its own multiplier, so their splits are independent

_T = Delivery.__table__  # type: ignore[attr-defined]
_M = Member.__table__  # type: ignore[attr-defined]
_CI = ChannelIdentity.__table__  # type: ignore[attr-defined]


class LaunchResult(BaseModel):
    campaign_id: int
    run: int
    targeted: int
    status: str
    started: bool  # False when the run had been launched already


def hash_multiplier(campaign_id: int) -> int:
    """An odd multiplier below 2³² (so id × multiplier fits a signed 64-bit integer)."""
    return (KNUTH + campaign_id * STEP) % HASH_SPACE | 1


def variant_bucket(member_id: int, campaign_id: int) -> int:
    """0–99: where the member falls in the campaign's split (the SQL computes the same)."""
    return member_id * hash_multiplier(campaign_id) % HASH_SPACE * 100 // HASH_SPACE


def variant_for(member_id: int, campaign_id: int, variants: list[dict[str, Any]]) -> str:
    bucket, edge = variant_bucket(member_id, campaign_id), 0
    for variant in variants:
        edge += int(variant["weight"])
        if bucket < edge:
            return str(variant["name"])
    return str(variants[-1]["name"])


def launch_campaign(
    session: Session,
    *,
    clock: Clock,
    campaign_id: int,
    channels: Collection[str],
    batch_members: int = BATCH_MEMBERS,
) -> LaunchResult:
    """Start a run now (a draft, or a scheduled campaign early), or finish writing a run a
    crash interrupted. Launching a campaign that is sending or done changes nothing.
    Commits once to start the run, once per batch, and once at the end."""
    campaign = lock_campaign(session, campaign_id)
    if campaign.status == "cancelled":
        session.rollback()
        raise CampaignClosed("the campaign was cancelled", campaign_id=campaign_id)
    started = campaign.status in ("draft", "scheduled")
    if not started and campaign.status != "launching":
        session.rollback()
        return _result(campaign, started=False)
    now = clock.now()
    if started:
        campaign.runs += 1
        campaign.status = "launching"
        campaign.launched_at = now
        campaign.next_run_at = next_run(campaign, now)
    view = CampaignView.of(campaign)
    commit(session)
    _write_rows(session, view, now=now, channels=channels, batch_members=batch_members)
    campaign = lock_campaign(session, campaign_id)
    if campaign.status == "launching":  # not cancelled meanwhile
        campaign.status = "sending"
        campaign.targeted = _count_run(session, campaign)
    commit(session)
    if campaign.targeted >= ANALYZE_AFTER and _dialect(session) == "postgresql":
        # Fresh planner statistics before the senders start claiming the new rows.
        session.execute(sa.text("ANALYZE delivery"))
        commit(session)
    return _result(campaign, started=started)


def launch_due_campaigns(
    session: Session, *, clock: Clock, channels: Collection[str]
) -> list[LaunchResult]:
    """The scheduler's job: launch scheduled campaigns whose time has come, and finish
    launches a crash interrupted."""
    now = clock.now()
    due = session.exec(
        select(Campaign.id)
        .where(
            sa.or_(
                sa.and_(col(Campaign.status) == "scheduled", col(Campaign.next_run_at) <= now),
                col(Campaign.status) == "launching",
            )
        )
        .order_by(col(Campaign.id))
    ).all()
    session.rollback()
    return [
        launch_campaign(session, clock=clock, campaign_id=campaign_id, channels=channels)
        for campaign_id in due
        if campaign_id is not None
    ]


def complete_campaigns(session: Session, *, now: datetime) -> int:
    """Campaigns whose outbox has drained are done (a recurring one waits for its next
    run). Commits; returns how many changed."""
    table = Campaign.__table__  # type: ignore[attr-defined]
    drained = ~sa.exists().where(
        _T.c.campaign_id == table.c.id, _T.c.status.in_(("queued", "sending"))
    )
    changed = 0
    for recurring, status in ((False, "done"), (True, "scheduled")):
        result = session.execute(
            sa.update(table)
            .where(
                table.c.status == "sending",
                table.c.every_days.is_not(None) if recurring else table.c.every_days.is_(None),
                drained,
            )
            .values(status=status, completed_at=now)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    commit(session)
    return changed


def _write_rows(
    session: Session,
    campaign: CampaignView,
    *,
    now: datetime,
    channels: Collection[str],
    batch_members: int,
) -> None:
    bounds = session.execute(sa.select(sa.func.min(_M.c.id), sa.func.max(_M.c.id))).one()
    session.rollback()
    if bounds[0] is None:
        return
    spec = Segment.model_validate(campaign.audience)
    insert = upsert_insert(session, _T)
    for low in range(int(bounds[0]), int(bounds[1]) + 1, batch_members):
        select_rows = _rows_select(
            session, campaign, spec, now=now, channels=channels,
            low=low, high=low + batch_members - 1,
        )  # fmt: skip
        session.execute(
            insert.from_select(list(_COLUMNS), select_rows).on_conflict_do_nothing(
                index_elements=["dedupe_key"]
            )
        )
        commit(session)


_COLUMNS = (
    "dedupe_key",
    "campaign_id",
    "run",
    "variant",
    "member_id",
    "channel",
    "user_id",
    "locale",
    "promotional",
    "content",
    "status",
    "not_before",
    "attempts",
    "created_at",
)


def _rows_select(
    session: Session,
    campaign: CampaignView,
    spec: Segment,
    *,
    now: datetime,
    channels: Collection[str],
    low: int,
    high: int,
) -> sa.Select[Any]:
    usable = reachable_channels(spec, channels)
    key_prefix = sa.literal(f"c:{campaign.id}:{campaign.runs}:", sa.String)
    return (
        sa.select(
            key_prefix + sa.cast(_M.c.id, sa.String),
            sa.literal(campaign.id, sa.Integer),
            sa.literal(campaign.runs, sa.Integer),
            _variant_case(campaign),
            _M.c.id,
            _CI.c.channel,
            _CI.c.platform_user_id,
            _M.c.locale,
            sa.true(),
            _empty_json(session),
            sa.literal("queued", sa.String),
            sa.literal(now, UTCDateTime()),
            sa.literal(0, sa.Integer),
            sa.literal(now, UTCDateTime()),
        )
        .select_from(_M.join(_CI, _CI.c.id == latest_identity(_M.c.id, usable)))
        .where(_M.c.id.between(low, high), *segment_filter(spec, now, channels))
    )


def _variant_case(campaign: CampaignView) -> Any:
    multiplier = sa.literal(hash_multiplier(campaign.id), sa.BigInteger)
    mixed = (_M.c.id * multiplier) % sa.literal(HASH_SPACE, sa.BigInteger)
    bucket = mixed * sa.literal(100, sa.BigInteger) // sa.literal(HASH_SPACE, sa.BigInteger)
    whens, edge = [], 0
    for variant in campaign.variants[:-1]:
        edge += int(variant["weight"])
        whens.append((bucket < edge, sa.literal(variant["name"], sa.String)))
    last = sa.literal(campaign.variants[-1]["name"], sa.String)
    return sa.case(*whens, else_=last) if whens else last


def _empty_json(session: Session) -> Any:
    # Campaign rows carry no content of their own: the sender reads the variant's.
    if _dialect(session) == "postgresql":
        return sa.cast(sa.literal("{}"), postgresql.JSONB)
    return sa.literal("{}", sa.String)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _count_run(session: Session, campaign: Campaign) -> int:
    statement = (
        sa.select(sa.func.count())
        .select_from(_T)
        .where(_T.c.campaign_id == campaign.id, _T.c.run == campaign.runs)
    )
    return int(session.execute(statement).scalar_one())


def _result(campaign: Campaign, *, started: bool) -> LaunchResult:
    return LaunchResult(
        campaign_id=campaign.id or 0,
        run=campaign.runs,
        targeted=campaign.targeted,
        status=campaign.status,
        started=started,
    )
