"""Staff: chat admins, API tokens (stored hashed) and the audit log of their actions."""

from core.staff.admins import (
    AuditRecord,
    add_admin,
    audit,
    chat_user,
    create_api_token,
    record_audit,
    remove_admin,
    revoke_api_token,
    verify_api_token,
)

__all__ = [
    "AuditRecord",
    "add_admin",
    "audit",
    "chat_user",
    "create_api_token",
    "record_audit",
    "remove_admin",
    "revoke_api_token",
    "verify_api_token",
]
