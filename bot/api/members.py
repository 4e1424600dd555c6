"""Members over the admin API: look up, search, enrol from a POS or CRM, export and erase."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlmodel import Session

from bot.api.deps import (
    AuditOnCommit,
    ClockDep,
    ProgrammeDep,
    ReaderDep,
    SessionDep,
    TokenDep,
)
from bot.api.errors import ApiRoute, errors
from bot.api.schemas import (
    MEMBER_NUMBER,
    NO_NUL,
    ErasurePublic,
    MemberCreate,
    MemberPage,
    MemberPublic,
)
from core.kernel import MAX_INT, MemberErased, MemberNotFound
from core.members import MAX_PAGE, enrol_member, search_members
from core.models import Member
from core.privacy import erase_member, export_member_data
from core.staff import record_audit

router = APIRouter(tags=["members"], route_class=ApiRoute)

NumberPath = Annotated[
    str,
    Path(
        pattern=MEMBER_NUMBER, description="The member number, e.g. M000123.", examples=["M000123"]
    ),
]


def member_id_of(number: str) -> int:
    return int(number[1:])


def member_by_number(session: Session, number: str) -> Member:
    member_id = member_id_of(number)
    member = (
        session.get(Member, member_id, populate_existing=True) if member_id <= MAX_INT else None
    )
    if member is None:
        raise MemberNotFound("no such member", number=number.upper())
    if member.erased_at is not None:
        raise MemberErased("this member's data was erased", number=member.number)
    return member


@router.get(
    "/members",
    response_model=MemberPage,
    summary="Search members",
    responses=errors(422),
)
def search(
    reader: ReaderDep,
    query: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="A member number, phone, the brand's reference, or the start of a "
            "name (any case). Empty: everyone.",
            examples=["M000123"],
        ),
    ] = None,
    after: Annotated[
        str | None,
        Query(pattern=MEMBER_NUMBER, description="`next_after` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> MemberPage:
    """Members matching the query, in member-number order, a page at a time. Erased
    members are not listed."""
    after_id = min(member_id_of(after), MAX_INT) if after else 0
    found = search_members(reader, query=query, after=after_id, limit=limit)
    return MemberPage(
        items=[MemberPublic.of(member) for member in found],
        next_after=found[-1].number if len(found) == limit else None,
    )


@router.post(
    "/members",
    status_code=201,
    response_model=MemberPublic,
    summary="Enrol a member the brand already knows",
    responses={
        200: {"model": MemberPublic, "description": "A repeat of an earlier request: the member."},
        **errors(409, 410, 422),
    },
)
def create(
    body: MemberCreate,
    session: SessionDep,
    clock: ClockDep,
    programme: ProgrammeDep,
    caller: TokenDep,
    response: Response,
) -> MemberPublic:
    """Create a member from a POS or CRM under the brand's own customer reference
    (`external_ref`, which purchases can then name as their `member`).

    With `consent` (the programme's current consent version, given at the brand) the member
    is signed up; without it the member is known but not signed up, and gets no
    promotions. The same request again answers 200 with the member; the same reference
    with other details is 409 `idempotency.conflict`; a reference already used otherwise
    is 409 `member.exists`. Such a member has no chat account until they contact the bot."""
    consent = body.consent
    watch = AuditOnCommit(
        session, clock=clock, caller=caller, action="member.create", target=body.external_ref
    )
    result = enrol_member(
        session,
        clock=clock,
        programme=programme,
        external_ref=body.external_ref,
        display_name=body.display_name,
        phone=body.phone,
        locale=body.locale,
        consent_version=consent.version if consent else None,
        consent_at=consent.given_at if consent else None,
    )
    if not watch.committed:
        response.status_code = 200
    return MemberPublic.of(member_by_number(session, result.number))


@router.get(
    "/members/{number}",
    response_model=MemberPublic,
    summary="Get a member",
    responses=errors(404, 410, 422),
)
def get_member(number: NumberPath, reader: ReaderDep) -> MemberPublic:
    return MemberPublic.of(member_by_number(reader, number))


@router.get(
    "/members/{number}/export",
    response_model=dict[str, Any],
    summary="Export a member's data (JSON)",
    responses={
        200: {
            "description": "Everything held about the member, as `/mydata` gives it.",
            "content": {
                "application/json": {
                    "example": {
                        "export_version": 1,
                        "profile": {"number": "M000123", "display_name": "王小明"},
                        "consent": {"version": "2026-01", "given_at": "2026-03-02T02:00:00+00:00"},
                        "points": {"balance": 1280, "ledger": []},
                        "purchases": [],
                    }
                }
            },
        },
        **errors(404, 410, 422),
    },
)
def export(number: NumberPath, session: SessionDep, clock: ClockDep, caller: TokenDep) -> Any:
    """The member's data: profile, consent, identities, tier history, points ledger,
    purchases, coupons, survey answers, check-ins, referrals and events. Audited."""
    member = member_by_number(session, number)
    data = export_member_data(session, member_id=member.id or 0)
    record_audit(
        session, clock=clock, actor=caller.actor, action="member.export", target=member.number
    )
    return data


@router.delete(
    "/members/{number}",
    response_model=ErasurePublic,
    summary="Erase a member's personal data",
    responses=errors(404, 422),
)
def erase(
    number: NumberPath, session: SessionDep, clock: ClockDep, caller: TokenDep
) -> ErasurePublic:
    """Erase the profile and replace platform ids with irreversible hashes, keeping only
    anonymous records (purchases, ledger, funnel counts). Audited. Erasing again answers
    the first result."""
    result = erase_member(session, clock=clock, member_id=member_id_of(number), actor=caller.actor)
    return ErasurePublic(
        number=result.number,
        erased_at=result.erased_at,
        identities=result.identities,
        tags=result.tags,
        answers=result.answers,
        events=result.events,
    )
