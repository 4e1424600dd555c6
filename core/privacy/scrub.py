"""Finding and blanking what names a person in free text and JSON, for an erasure: their
names, phone in the forms people type it, email, the brand's reference and chat ids."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.models import AuditLog, ChannelIdentity, Member

ERASED_TEXT = "[erased]"
# Payload keys that hold what a person typed or who they are; dropped where they are scrubbed.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "display_name",
        "first_name",
        "last_name",
        "username",
        "phone",
        "email",
        "birthday",
        "address",
        "platform_user_id",
        "user_id",
        "text",
        "message",
        "answer",
        "comment",
        "query",
    }
)
MIN_SCRUBBED_LENGTH = 3  # shorter values would blank unrelated words and numbers


def personal_values(member: Member, identities: list[ChannelIdentity]) -> set[str]:
    values = {member.display_name, member.email, member.external_ref}
    if member.phone:
        values |= _phone_forms(member.phone)
    for identity in identities:
        values |= {identity.platform_user_id, identity.display_name}
    return {value for value in values if value and len(value) >= MIN_SCRUBBED_LENGTH}


def _phone_forms(phone: str) -> set[str]:
    """The stored +886… form and the ways people type it (0912…, 886912…)."""
    forms = {phone, phone.lstrip("+")}
    if phone.startswith("+886"):
        forms.add("0" + phone[4:])
    return forms


def scrub(value: Any, personal: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: scrub(item, personal) for key, item in value.items() if key not in PERSONAL_KEYS
        }
    if isinstance(value, list):
        return [scrub(item, personal) for item in value]
    if isinstance(value, str):
        return scrub_text(value, personal)
    return value


def scrub_text(text: str, personal: set[str]) -> str:
    for value in sorted(personal, key=len, reverse=True):  # "+886912…" before "886912…"
        if value in text:
            text = text.replace(value, ERASED_TEXT)
    return text


def scrub_audit_log(session: Session, personal: set[str], *, own: set[str], number: str) -> int:
    """Audit entries stay (who did what, when) but no longer name the member: the member's
    own chat accounts as actor become the member number, and their names, phone, reference
    or chat ids in a target or in details (a staff search, a refused command) are blanked."""
    if not personal and not own:
        return 0
    mentions: list[sa.ColumnElement[bool]] = [col(AuditLog.actor).in_(own)] if own else []
    details = sa.cast(col(AuditLog.details), sa.Text)
    for value in personal:
        # JSON text holds non-ASCII as itself (PostgreSQL) or as \\u escapes (SQLite).
        escaped = json.dumps(value)[1:-1]
        mentions += [
            col(AuditLog.target).contains(value, autoescape=True),
            details.contains(value, autoescape=True),
            details.contains(escaped, autoescape=True),
        ]
    entries = session.exec(select(AuditLog).where(sa.or_(*mentions))).all()
    for entry in entries:
        if entry.actor in own:
            entry.actor = f"member:{number}"
        entry.target = scrub_text(entry.target, personal) if entry.target else entry.target
        cleaned = scrub(entry.details, personal)
        if cleaned != entry.details:
            entry.details = cleaned
    return len(entries)
