import pytest
from sqlmodel import col, func, select

from core.kernel import SurveyNotFound
from core.models import AuditLog, Survey, SurveyAnswer, SurveyQuestion
from core.programme import Question, SurveyRule
from core.surveys import current_question, define_survey, survey_results, sync_surveys
from tests.support.members import new_member
from tests.support.surveys import TASTE, answer, finish, start, with_taste


def run_sync(db, clock, programme):
    with db.session() as session:
        return sync_surveys(session, clock=clock, programme=programme)


def questions(db, code):
    with db.session() as session:
        return list(
            session.exec(
                select(SurveyQuestion)
                .join(Survey, col(Survey.id) == SurveyQuestion.survey_id)
                .where(Survey.code == code)
                .order_by(col(SurveyQuestion.position))
            ).all()
        )


def survey(db, code):
    with db.session() as session:
        return session.exec(select(Survey).where(Survey.code == code)).one()


def replace_survey(programme, rule):
    others = [s for s in programme.surveys if s.code != rule.code]
    return programme.model_copy(update={"surveys": [*others, rule]})


def reworded(rule, **changes):
    return rule.model_copy(update=changes)


def test_sync_creates_the_configured_surveys_once(db, clock, programme):
    configured = with_taste(programme)
    first = run_sync(db, clock, configured)
    assert sorted(first.created) == ["nps", "taste"]
    ids = [q.id for q in questions(db, "taste")]
    assert [q.key for q in questions(db, "taste")] == ["score", "stars", "size", "note"]
    assert survey(db, "taste").reward_points == 10

    clock.advance(days=1)
    again = run_sync(db, clock, configured)
    assert again.model_dump() == {"created": [], "updated": [], "deactivated": [], "kept_shape": []}
    assert [q.id for q in questions(db, "taste")] == ids
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Survey)).one() == 2


def test_texts_choices_title_and_reward_are_updated_in_place(db, clock, programme):
    run_sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    start(db, clock, member_id)
    answer(db, clock, programme, member_id, 0, 9)
    before = [q.id for q in questions(db, "nps")]

    nps = programme.surveys[0]
    visit = nps.questions[1].model_copy(
        update={"choices": ["AM", "Midday", "PM", "Late night"], "required": True}
    )
    changed = reworded(
        nps,
        title="Tell us",
        reward_points=50,
        questions=[nps.questions[0], visit, nps.questions[2]],
    )
    result = run_sync(db, clock, replace_survey(programme, changed))

    assert (result.updated, result.kept_shape) == (["nps"], [])
    rows = questions(db, "nps")
    assert [q.id for q in rows] == before
    assert rows[1].choices == [{"*": "AM"}, {"*": "Midday"}, {"*": "PM"}, {"*": "Late night"}]
    assert rows[1].required is True
    assert (survey(db, "nps").title, survey(db, "nps").reward_points) == ({"*": "Tell us"}, 50)
    # The member mid-survey goes on with the new wording, and the new choice is accepted.
    done = finish(db, clock, replace_survey(programme, changed), member_id)
    assert done.reward_points == 50


def test_a_survey_removed_from_the_config_becomes_inactive_but_keeps_its_results(
    db, clock, programme
):
    run_sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    start(db, clock, member_id)
    answer(db, clock, programme, member_id, 0, 10)

    result = run_sync(db, clock, programme.model_copy(update={"surveys": []}))
    assert result.deactivated == ["nps"]
    assert survey(db, "nps").active is False
    with pytest.raises(SurveyNotFound):
        start(db, clock, new_member(db, clock, programme, "bob"))
    with pytest.raises(SurveyNotFound):
        answer(db, clock, programme, member_id, 1, 1)
    with db.session() as session:
        assert current_question(session, member_id=member_id) is None
        assert survey_results(session, survey_code="nps").questions[0].nps.score == 100.0

    back = run_sync(db, clock, programme)
    assert (back.updated, survey(db, "nps").active) == (["nps"], True)
    assert start(db, clock, member_id).position == 1


def test_the_shape_changes_freely_while_nobody_has_answered(db, clock, programme):
    run_sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    start(db, clock, member_id)  # started, but no answers yet
    shorter = reworded(
        programme.surveys[0], questions=[Question(key="stars", kind="rating", text="Stars?")]
    )
    result = run_sync(db, clock, replace_survey(programme, shorter))
    assert (result.updated, result.kept_shape) == (["nps"], [])
    assert [(q.key, q.kind) for q in questions(db, "nps")] == [("stars", "rating")]
    with db.session() as session:
        current = current_question(session, member_id=member_id)
    assert (current.kind, current.total) == ("rating", 1)


@pytest.mark.parametrize(
    "change",
    ["kind", "removed", "fewer_choices", "reordered"],
)
def test_an_incompatible_shape_change_is_not_applied_once_there_are_answers(
    db, clock, programme, change
):
    run_sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    start(db, clock, member_id)
    answer(db, clock, programme, member_id, 0, 9)
    before = [(q.id, q.key, q.kind, q.choices) for q in questions(db, "nps")]

    recommend, visit, comment = programme.surveys[0].questions
    new_questions = {
        "kind": [recommend.model_copy(update={"kind": "rating"}), visit, comment],
        "removed": [recommend, visit],
        "fewer_choices": [recommend, visit.model_copy(update={"choices": ["AM", "PM"]}), comment],
        "reordered": [visit, recommend, comment],
    }[change]
    changed = reworded(programme.surveys[0], questions=new_questions, title="Renamed")
    result = run_sync(db, clock, replace_survey(programme, changed))

    assert result.kept_shape == ["nps"]
    assert [(q.id, q.key, q.kind, q.choices) for q in questions(db, "nps")] == before
    assert survey(db, "nps").title == {"*": "Renamed"}  # what is safe still applies
    with db.session() as session:
        assert session.exec(select(SurveyAnswer.value_int)).all() == [9]


def test_questions_appended_after_answers_are_asked_of_members_mid_survey(db, clock, programme):
    run_sync(db, clock, programme)
    member_id = new_member(db, clock, programme)
    start(db, clock, member_id)
    answer(db, clock, programme, member_id, 0, 9)
    longer = reworded(
        programme.surveys[0],
        questions=[*programme.surveys[0].questions, Question(key="again", kind="rating", text="?")],
    )
    configured = replace_survey(programme, longer)
    result = run_sync(db, clock, configured)
    assert (result.updated, result.kept_shape) == (["nps"], [])

    answer(db, clock, configured, member_id, 1, 1)
    third = answer(db, clock, configured, member_id, 2, "ok")
    assert third.completed is False
    assert (third.next_question.key, third.next_question.total) == ("again", 4)
    assert answer(db, clock, configured, member_id, 3, 5).completed


def test_an_admin_defined_survey_survives_config_syncs(db, clock, programme):
    run_sync(db, clock, programme)
    rule = SurveyRule(
        code="pop_up",
        title="Pop-up store",
        questions=[Question(key="liked", kind="rating", text="Did you like it?")],
    )
    with db.session() as session:
        defined = define_survey(session, clock=clock, rule=rule, actor="api:marketing")
    assert (defined.created, defined.active, defined.questions) == (True, True, 1)

    result = run_sync(db, clock, programme)
    assert result.deactivated == []
    assert survey(db, "pop_up").active is True
    with db.session() as session:
        audit = session.exec(select(AuditLog)).one()
    assert (audit.actor, audit.action, audit.target) == ("api:marketing", "survey.define", "pop_up")

    member_id = new_member(db, clock, programme)
    assert finish(db, clock, programme, member_id, "pop_up").completed


def test_defining_an_existing_survey_again_changes_nothing_the_second_time(db, clock, programme):
    with db.session() as session:
        first = define_survey(session, clock=clock, rule=TASTE)
    with db.session() as session:
        again = define_survey(session, clock=clock, rule=TASTE)
    with db.session() as session:
        stopped = define_survey(
            session, clock=clock, rule=TASTE.model_copy(update={"active": False})
        )
    assert (first.created, first.updated) == (True, False)
    assert (again.created, again.updated) == (False, False)
    assert (stopped.updated, stopped.active) == (True, False)
    assert len(questions(db, "taste")) == 4
