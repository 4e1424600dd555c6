"""Helpers for member dialog tests: joined members and the rows that must (not) change."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import select

from bot.app import Services
from bot.dialogs import Dialogs
from core.kernel import Database
from core.members.accounts import member_by_identity
from core.models import (
    Checkin,
    CouponGrant,
    LedgerEntry,
    Member,
    Referral,
    SurveyAnswer,
    SurveyProgress,
)
from core.purchases import record_purchase
from tests.support.chat import ChatUser

# The rows a member's actions write; "nothing changed" means none of these moved.
EFFECTS = (LedgerEntry, CouponGrant, SurveyAnswer, SurveyProgress, Checkin, Referral)


def joined(
    dialogs: Dialogs, name: str, *, language: str | None = "en", **kwargs: object
) -> ChatUser:
    """A chat user who sent /start and agreed to the terms."""
    user = ChatUser(dialogs, name, language=language, **kwargs)  # type: ignore[arg-type]
    user.say("/start")
    user.tap("Agree" if language == "en" else "同意")
    return user


def member_of(db: Database, user: ChatUser) -> Member:
    """The member behind a chat user, read fresh from the database."""
    with db.reader() as session:
        member = member_by_identity(session, channel=user.channel, platform_user_id=user.name)
    assert member is not None, f"{user.name} is no member"
    return member


def count(db: Database, model: type, *where: object) -> int:
    with db.reader() as session:
        return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()


def effect_counts(db: Database) -> dict[str, int]:
    return {model.__name__: count(db, model) for model in EFFECTS}


def buy(services: Services, member_id: int, amount: int, order_id: str) -> None:
    with services.database.session() as session:
        record_purchase(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=member_id,
            amount=Decimal(amount),
            order_id=order_id,
        )
