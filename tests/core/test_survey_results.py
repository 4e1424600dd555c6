import csv
import io

import pytest

from core.kernel import SurveyNotFound
from core.models import format_member_number
from core.stats import nps_score
from core.surveys import stop_survey, survey_results, survey_results_csv
from tests.support.members import new_member
from tests.support.surveys import answer, start, sync, with_taste

# Ten completers of `taste`: (score or None for skipped, stars, size, note or None).
COMPLETERS = [
    (10, 5, 1, "Great coffee"),
    (10, 4, 2, None),
    (9, 4, 1, None),
    (9, 2, 2, '=HYPERLINK("http://x")'),
    (8, 3, 1, None),
    (7, 5, 1, None),
    (6, 1, 2, None),
    (0, 1, 1, None),
    (5, 5, 2, None),
    (None, 5, 1, None),
]


def take(db, clock, programme, member_id, values):
    start(db, clock, member_id, "taste")
    for position, value in enumerate(values):
        answer(db, clock, programme, member_id, position, value, code="taste", skip=value is None)


@pytest.fixture
def taste(db, clock, programme):
    configured = with_taste(programme)
    sync(db, clock, configured)
    return configured


@pytest.fixture
def responses(db, clock, taste):
    """The ten completers, one who answered only the score (10) and one who only started."""
    for index, values in enumerate(COMPLETERS):
        take(db, clock, taste, new_member(db, clock, taste, f"m{index}"), values)
    partial = new_member(db, clock, taste, "partial")
    take(db, clock, taste, partial, [10])
    start(db, clock, new_member(db, clock, taste, "idle"), "taste")


def test_nps_is_promoters_minus_detractors_over_answered_scores(db, responses):
    with db.reader() as session:
        results = survey_results(session, survey_code="taste")
    score = results.questions[0]
    # Scores answered: 10,10,9,9,8,7,6,0,5 and the partial's 10 -> 10 answers;
    # promoters 5 (50 %), passives 2, detractors 3 (30 %) -> NPS 20. The one skip is not
    # counted (counting it would give 100 × (5 − 3) / 11 = 18.2).
    assert (score.answered, score.skipped) == (10, 1)
    assert score.nps.model_dump() == {
        "score": pytest.approx(20.0),
        "promoters": 5,
        "passives": 2,
        "detractors": 3,
    }
    assert score.average == pytest.approx(7.4)  # 74 / 10
    assert {b.value: b.count for b in score.distribution} == {
        0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 1, 7: 1, 8: 1, 9: 2, 10: 3,
    }  # fmt: skip


def test_results_give_distributions_averages_and_counts(db, responses):
    with db.reader() as session:
        results = survey_results(session, survey_code="taste")
    assert (results.started, results.responses, results.completed) == (12, 11, 10)
    stars, size, note = results.questions[1:]
    assert stars.average == pytest.approx(3.5)  # 35 / 10
    assert [(b.value, b.count) for b in stars.distribution] == [
        (1, 2), (2, 1), (3, 1), (4, 2), (5, 4),
    ]  # fmt: skip
    assert stars.nps is None
    assert [(b.value, b.label["en"], b.count) for b in size.distribution] == [
        (1, "Small", 6),
        (2, "Large", 4),
    ]
    assert size.average is None
    assert (note.answered, note.skipped, note.distribution, note.average) == (2, 8, [], None)


@pytest.mark.parametrize(
    ("counts", "score"),
    [
        ({10: 3, 9: 2, 8: 1, 7: 1, 6: 1, 0: 2}, 20.0),
        ({9: 4}, 100.0),
        ({0: 1, 6: 3}, -100.0),
        ({7: 2, 8: 5}, 0.0),
        ({10: 1, 8: 1, 3: 1}, 0.0),
        ({10: 2, 1: 1}, 100 / 3),
    ],
)
def test_nps_score_by_hand(counts, score):
    assert nps_score(counts).score == pytest.approx(score)


def test_nps_of_no_answers_is_none():
    assert nps_score({}) is None


def test_results_of_a_survey_nobody_took_are_zeros(db, clock, taste):
    with db.reader() as session:
        results = survey_results(session, survey_code="nps")
    assert (results.started, results.responses, results.completed) == (0, 0, 0)
    assert results.questions[0].nps is None
    assert sum(b.count for b in results.questions[0].distribution) == 0
    assert len(results.questions[0].distribution) == 11


def test_results_of_an_unknown_survey_are_refused(db, taste):
    with db.reader() as session, pytest.raises(SurveyNotFound):
        survey_results(session, survey_code="nope")
    with db.reader() as session, pytest.raises(SurveyNotFound):
        survey_results_csv(session, survey_code="nope")


def test_the_csv_has_one_row_per_response_and_no_platform_ids(db, clock, taste):
    done = new_member(db, clock, taste, "platform-user-alice")
    start(db, clock, done)
    answer(db, clock, taste, done, 0, 9)
    answer(db, clock, taste, done, 1, "Morning")
    answer(db, clock, taste, done, 2, '=cmd|" /C calc"!A0')
    clock.advance(hours=1)
    partial = new_member(db, clock, taste, "platform-user-bob")
    start(db, clock, partial)
    answer(db, clock, taste, partial, 0, 6)
    with db.session() as session:
        stop_survey(session, clock=clock, member_id=partial, channel="console")
    start(db, clock, new_member(db, clock, taste, "platform-user-carol"))  # no answers yet

    with db.reader() as session:
        text = survey_results_csv(session, survey_code="nps")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["member_number", "started", "completed", "recommend", "visit", "comment"]
    assert rows[1] == [
        format_member_number(done),
        "2026-03-02T02:00:00+00:00",
        "2026-03-02T02:00:00+00:00",
        "9",
        "早上",
        '\'=cmd|" /C calc"!A0',  # a formula is kept as text in spreadsheets
    ]
    assert rows[2] == [format_member_number(partial), "2026-03-02T03:00:00+00:00", "", "6", "", ""]
    assert len(rows) == 3
    assert "platform-user" not in text.lower()  # neither platform ids nor display names
