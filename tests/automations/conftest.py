"""Running automations and jobs directly, with a fixed clock, and reading what they queued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.app import Services
from bot.delivery import automation_sending
from core.automations import Sending, run_automation
from core.automations.runs import AutomationResult
from core.members import opt_out
from core.models import Delivery, Member

CHANNELS = ("console", "telegram", "line")


@dataclass
class Automations:
    """The programme's automations on the test database, run by hand."""

    services: Services
    sending: Sending

    def run(self, code: str) -> AutomationResult:
        automation = next(a for a in self.services.programme.automations if a.code == code)
        with self.services.database.session() as session:
            return run_automation(
                session,
                clock=self.services.clock,
                programme=self.services.programme,
                automation=automation,
                sending=self.sending,
            )

    def queued(self, code: str | None = None) -> list[Delivery]:
        """Deliveries in the outbox (of one automation), oldest first."""
        with self.services.database.reader() as session:
            query = select(Delivery).order_by(col(Delivery.id))
            if code is not None:
                query = query.where(Delivery.automation == code)
            return list(session.exec(query).all())

    def recipients(self, code: str) -> list[int]:
        return [delivery.member_id for delivery in self.queued(code)]

    def text(self, delivery: Delivery, locale: str = "en") -> str:
        content: dict[str, Any] = delivery.content
        return content["text"][locale]


@pytest.fixture
def automations(services: Services) -> Automations:
    return Automations(services, automation_sending(services, channels=CHANNELS))


def opt_out_member(services: Services, member_id: int) -> None:
    with services.database.session() as session:
        opt_out(session, clock=services.clock, member_id=member_id, channel="console")


def update_member(services: Services, member_id: int, **values: Any) -> None:
    """Set a member's columns directly (a state the use cases reach only over months)."""
    with services.database.transaction() as session:
        session.execute(sa.update(Member).where(col(Member.id) == member_id).values(**values))
