"""Surveys over the API: define one, read its results and its responses as CSV."""

from __future__ import annotations

import csv
import io

from core.models import format_member_number
from tests.support.members import new_member
from tests.support.surveys import answer, start

TASTING = {
    "title": {"zh-TW": "試喝心得", "en": "Tasting"},
    "reward_points": 10,
    "questions": [
        {"key": "score", "kind": "nps", "text": "Would you recommend it?", "required": True},
        {"key": "note", "kind": "text", "text": "Anything else?"},
    ],
}


def test_a_survey_is_defined_then_updated(api):
    created = api.put("/api/v1/surveys/tasting", json=TASTING)
    assert created.status_code == 201, created.text
    assert created.json() | {"created": True} == {
        "code": "tasting",
        "active": True,
        "questions": 2,
        "created": True,
        "updated": False,
        "kept_shape": False,
    }
    updated = api.put("/api/v1/surveys/tasting", json=TASTING | {"reward_points": 20})
    assert (updated.status_code, updated.json()["updated"]) == (200, True)


def test_bad_surveys_are_refused(api):
    for body in (
        TASTING | {"questions": []},
        TASTING | {"reward_points": 2**40},
        TASTING | {"questions": [{"key": "c", "kind": "choice", "text": "?", "choices": ["a"]}]},
    ):
        assert api.put("/api/v1/surveys/tasting", json=body).status_code == 422
    assert api.put("/api/v1/surveys/Not-A-Code", json=TASTING).status_code == 422
    assert api.get("/api/v1/surveys/tasting/results").status_code == 404


def test_results_and_csv_hold_the_answers(api, db, clock, programme):
    api.put("/api/v1/surveys/tasting", json=TASTING)
    promoter = new_member(db, clock, programme, "pat")
    detractor = new_member(db, clock, programme, "dan")
    for member_id, score, note in ((promoter, 10, "=great"), (detractor, 3, "too sweet")):
        start(db, clock, member_id, "tasting")
        answer(db, clock, programme, member_id, 0, score, code="tasting")
        answer(db, clock, programme, member_id, 1, note, code="tasting")

    results = api.get("/api/v1/surveys/tasting/results")
    assert results.status_code == 200, results.text
    body = results.json()
    assert (body["started"], body["completed"]) == (2, 2)
    score = body["questions"][0]
    assert score["nps"] == {"score": 0.0, "promoters": 1, "passives": 0, "detractors": 1}
    assert score["average"] == 6.5

    exported = api.get("/api/v1/surveys/tasting/results.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["member_number", "started", "completed", "score", "note"]
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [
        (format_member_number(promoter), "10", "'=great"),
        (format_member_number(detractor), "3", "too sweet"),
    ]
    assert api.get("/api/v1/surveys/nothing/results.csv").status_code == 404
