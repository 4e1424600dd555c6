"""Welcome on sign-up, and the nudge for members who claimed nothing after three days."""

from __future__ import annotations

from datetime import timedelta

from bot.bootstrap import Services
from core.clock import FixedClock
from tests.automations.conftest import Automations
from tests.support.members import new_member


def test_a_new_member_is_welcomed_once_with_the_welcome_coupon(
    services: Services, clock: FixedClock, automations: Automations
):
    db, programme = services.database, services.programme
    alice = new_member(db, clock, programme, "alice")
    new_member(db, clock, programme, "bob", signed_up=False)  # not signed up: no welcome

    first = automations.run("welcome")
    again = automations.run("welcome")

    assert (first.enqueued, again.enqueued) == (1, 0)
    [delivery] = automations.queued("welcome")
    assert delivery.member_id == alice
    assert delivery.dedupe_key == f"a:welcome:2026-03-02:{alice}"
    assert delivery.content["coupon"] == "WELCOME50"
    assert "NT$50" in automations.text(delivery)
    assert delivery.promotional
