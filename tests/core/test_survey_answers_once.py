"""Survey answers are kept once: across a process restart, repeated and concurrent answers,
the daily activity cap on the reward."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

import tests.support.surveys as survey_support
from core.kernel import Database, MemberNotFound
from core.models import IdempotencyRecord, LedgerEntry, Member, SurveyAnswer, SurveyProgress
from core.programme.sections import Caps
from core.surveys import answer_question, current_question
from tests.support.members import new_member
from tests.support.surveys import answer, count, finish, start, survey_events, walk_to

surveys = survey_support.surveys


def test_a_restarted_process_takes_the_next_answer(db, database_url, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    answer(db, clock, surveys, member_id, 0, 10)
    db.dispose()

    restarted = Database(database_url)
    try:
        with restarted.session() as session:
            current = current_question(session, member_id=member_id)
        assert (current.position, current.key) == (1, "visit")
        answer(restarted, clock, surveys, member_id, 1, 1)
        done = answer(restarted, clock, surveys, member_id, 2, "thanks")
        assert done.completed and done.balance == 20
    finally:
        restarted.dispose()


def test_repeating_an_answer_returns_the_first_result_and_writes_once(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    first = answer(db, clock, surveys, member_id, 0, 9)
    clock.advance(seconds=5)
    again = answer(db, clock, surveys, member_id, 0, 9)
    other_button = answer(db, clock, surveys, member_id, 0, 2)
    assert again == first
    assert other_button == first
    with db.session() as session:
        assert session.exec(select(SurveyAnswer.value_int)).all() == [9]
        assert session.exec(select(SurveyProgress.position)).one() == 1
    assert survey_events(db, member_id).count("survey_answered") == 1

    answer(db, clock, surveys, member_id, 1, 1)
    last = answer(db, clock, surveys, member_id, 2, "fine")
    assert answer(db, clock, surveys, member_id, 2, "fine") == last
    assert count(db, LedgerEntry) == 1


def test_a_repeat_without_its_idempotency_record_is_rebuilt_from_the_progress(db, clock, surveys):
    member_id = new_member(db, clock, surveys)
    start(db, clock, member_id)
    first = answer(db, clock, surveys, member_id, 0, 9)
    with db.session() as session:
        session.delete(session.get(IdempotencyRecord, f"survey_answer:{member_id}:nps:0"))
        session.commit()
    again = answer(db, clock, surveys, member_id, 0, 3)
    assert again == first
    assert count(db, SurveyAnswer) == 1


@pytest.mark.parametrize("position", [0, 2])
def test_concurrent_duplicate_answers_write_one_answer_and_at_most_one_reward(
    db, clock, surveys, position
):
    member_id = new_member(db, clock, surveys)
    walk_to(db, clock, surveys, member_id, position, code="nps")
    values = {0: lambda i: i, 2: lambda i: f"comment {i}"}[position]
    barrier = threading.Barrier(10)

    def tap(i: int):
        barrier.wait()
        return answer(db, clock, surveys, member_id, position, values(i))

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(tap, range(10)))

    assert len({result.model_dump_json() for result in results}) == 1
    assert count(db, SurveyAnswer) == position + 1
    assert survey_events(db, member_id).count("survey_answered") == position + 1
    with db.session() as session:
        rewards = session.exec(select(LedgerEntry.amount)).all()
        assert rewards == ([20] if position == 2 else [])
        assert session.get(Member, member_id).points_balance == sum(rewards)
        assert session.exec(select(SurveyProgress.position)).one() == position + 1


def test_the_survey_reward_respects_the_daily_activity_cap(db, clock, surveys):
    capped = surveys.model_copy(update={"caps": Caps(activity_points_per_day=25)})
    member_id = new_member(db, clock, capped)
    first = finish(db, clock, capped, member_id, "nps")
    second = finish(db, clock, capped, member_id, "taste")
    assert (first.reward_points, first.reward_capped) == (20, False)
    assert (second.reward_points, second.reward_capped) == (5, True)
    assert second.balance == 25
    with db.session() as session:
        assert session.exec(select(SurveyProgress.reward_points)).all() == [20, 5]


def test_no_reward_entry_is_written_when_the_cap_is_used_up(db, clock, surveys):
    capped = surveys.model_copy(update={"caps": Caps(activity_points_per_day=0)})
    member_id = new_member(db, clock, capped)
    done = finish(db, clock, capped, member_id)
    assert done.completed
    assert (done.reward_points, done.reward_capped, done.balance) == (0, True, 0)
    assert count(db, LedgerEntry) == 0
    assert survey_events(db, member_id)[-1] == "survey_completed"


def test_the_cap_counts_the_members_local_day(db, clock, surveys):
    capped = surveys.model_copy(update={"caps": Caps(activity_points_per_day=20)})
    member_id = new_member(db, clock, capped)
    finish(db, clock, capped, member_id, "nps")
    clock.advance(days=1)
    assert finish(db, clock, capped, member_id, "taste").reward_points == 10


def test_unknown_member_cannot_answer(db, clock, surveys):
    with db.session() as session, pytest.raises(MemberNotFound):
        answer_question(
            session,
            clock=clock,
            programme=surveys,
            member_id=12345,
            survey_code="nps",
            position=0,
            value=9,
            channel="console",
        )
    assert count(db, IdempotencyRecord) == 0
