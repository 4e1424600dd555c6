"""The surveys on offer to a member (/survey): active ones not yet completed, oldest first."""

import tests.support.surveys as survey_support
from core.surveys import open_surveys, stop_survey
from tests.support.members import new_member
from tests.support.surveys import TASTE, finish, start, sync

surveys = survey_support.surveys


def offered(db, member_id: int) -> list[str]:
    with db.reader() as session:
        return [survey.code for survey in open_surveys(session, member_id=member_id)]


def test_every_active_survey_is_on_offer_oldest_first(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    assert offered(db, member_id) == ["nps", "taste"]


def test_a_completed_survey_is_no_longer_on_offer_to_that_member_only(db, clock, surveys):
    alice = new_member(db, clock, surveys, "alice")
    bob = new_member(db, clock, surveys, "bob")
    finish(db, clock, surveys, alice, "nps")
    assert offered(db, alice) == ["taste"]
    assert offered(db, bob) == ["nps", "taste"]


def test_a_survey_started_or_stopped_stays_on_offer(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id, "taste")
    assert offered(db, member_id) == ["nps", "taste"]
    with db.session() as session:
        stop_survey(session, clock=clock, member_id=member_id, channel="console")
    assert offered(db, member_id) == ["nps", "taste"]


def test_an_inactive_survey_is_not_on_offer(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    retired = TASTE.model_copy(update={"active": False})
    sync(db, clock, surveys.model_copy(update={"surveys": [*surveys.surveys[:-1], retired]}))
    assert offered(db, member_id) == ["nps"]
