"""What every admin command shares: usage replies for malformed arguments, finding the
member, notices to members, and the audit log."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from bot.dialogs.admin import views
from bot.dialogs.registry import Handler
from bot.dialogs.turn import Turn
from core.chat import Notice, Reply
from core.kernel import MemberNotFound, run_once
from core.members import find_member
from core.models import IdempotencyRecord, Member
from core.staff import AuditRecord, audit

QUERY_MAX = 100


class Usage(Exception):
    """Malformed arguments: answered with how to use the command, and nothing changes."""

    def __init__(self, problem: str | None = None, **params: object) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params


class NotJoined(Exception):
    """The member has not given consent, so staff cannot record anything for them."""

    def __init__(self, member: Member) -> None:
        super().__init__(member.number)
        self.member = member


def admin_command(name: str) -> Callable[[Handler], Handler]:
    """An admin command's malformed arguments and unknown members become helpful replies
    (the usage of `name`) instead of errors. The table (bot/dialogs/table.py) marks it an
    admin command, which the router refuses and audits for non-admins."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def guarded(turn: Turn) -> Reply:
            try:
                return handler(turn)
            except Usage as problem:
                return views.usage(turn, name, problem.problem, **problem.params)
            except MemberNotFound as error:
                query = str(error.params.get("query", ""))[:QUERY_MAX]
                return Reply.text(turn.t("admin.member_not_found", query=query))
            except NotJoined as refusal:
                return Reply.text(turn.t("admin.not_joined", number=refusal.member.number))

        return guarded

    return wrap


def member_arg(turn: Turn, query: str, *, joined: bool = True) -> Member:
    """The member staff named by number (M000123) or phone; raises MemberNotFound, or
    NotJoined when `joined` is asked for and the member has not given consent."""
    if not query.strip() or len(query) > QUERY_MAX:
        raise Usage()
    with turn.services.database.reader() as session:
        member = find_member(session, query)
    if joined and not member.signed_up:
        raise NotJoined(member)
    return member


def notify(turn: Turn, member: Member, text: str, *, kind: str) -> None:
    """Tell the member what staff did for them, in the member's own language."""
    turn.notices.append(Notice(member_id=member.id or 0, reply=Reply.text(text), kind=kind))


def replayed(turn: Turn, purpose: str) -> bool:
    """Whether this platform event was handled before (a redelivered update): its use case
    then returns the first result, and the member is not told twice."""
    key = _audit_key(turn, purpose)
    if key is None:
        return False
    with turn.services.database.reader() as session:
        return session.get(IdempotencyRecord, key) is not None


def audit_action(
    turn: Turn, purpose: str, *, target: str | None, details: dict[str, Any] | None = None
) -> None:
    """Write the admin action to the audit log, once per platform event.

    The core use cases commit on their own, so this is a second transaction right after;
    the event-based key keeps a redelivered update from logging the action twice."""
    with turn.session() as session:

        def work() -> AuditRecord:
            entry = audit(
                session,
                actor=turn.actor,
                action=f"command:{purpose}",
                target=target,
                details=details,
                now=turn.now,
            )
            session.flush()
            return AuditRecord.model_validate(entry, from_attributes=True)

        run_once(
            session,
            key=_audit_key(turn, purpose),
            operation="audit_admin_command",
            request={"command": purpose},
            result_type=AuditRecord,
            now=turn.now,
            work=work,
        )


def _audit_key(turn: Turn, purpose: str) -> str | None:
    key = turn.key(purpose)
    return f"audit:{key}" if key else None
