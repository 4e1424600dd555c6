"""Surveys over the admin API: define one, read its results, download its responses as CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import ConfigDict, Field, ValidationError, model_validator

from bot.api.csvstream import CsvResponse, csv_attachment, csv_doc, text_chunks
from bot.api.deps import ClockDep, ReaderDep, SessionDep, TokenDep
from bot.api.errors import ApiRoute, errors
from bot.api.schemas import storable
from core.kernel import MAX_INT, InvalidInput
from core.programme import Question, SurveyRule
from core.surveys import (
    SurveyDefinition,
    SurveyResults,
    define_survey,
    survey_results,
    survey_results_csv,
)

router = APIRouter(tags=["surveys"], route_class=ApiRoute)

CODE = r"^[a-z0-9_]{1,64}$"
CodePath = Annotated[str, Path(pattern=CODE, examples=["nps_after_purchase"])]
MAX_QUESTIONS, MAX_CHOICES = 50, 20


class SurveyDefinitionIn(SurveyRule):
    """A survey as in `loyalty.toml`; the code comes from the path."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "title": {"zh-TW": "購物滿意度", "en": "How was your visit?"},
                    "reward_points": 20,
                    "questions": [
                        {
                            "key": "nps",
                            "kind": "nps",
                            "text": {
                                "zh-TW": "您有多大可能推薦我們？",
                                "en": "Would you recommend us?",
                            },
                            "required": True,
                        },
                        {"key": "comment", "kind": "text", "text": "Anything else?"},
                    ],
                }
            ]
        },
    )

    code: str | None = Field(  # type: ignore[assignment]
        default=None, pattern=CODE, description="Optional; if given, the path's code."
    )
    reward_points: Annotated[int, Field(ge=0, le=MAX_INT)] = 0
    questions: list[Question] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)

    @model_validator(mode="after")
    def _few_choices(self) -> SurveyDefinitionIn:
        if any(len(question.choices) > MAX_CHOICES for question in self.questions):
            raise ValueError(f"a question can have at most {MAX_CHOICES} choices")
        return self


RESULTS_EXAMPLE = {
    "survey_code": "nps_after_purchase",
    "title": {"en": "How was your visit?"},
    "active": True,
    "started": 40,
    "responses": 36,
    "completed": 31,
    "questions": [
        {
            "position": 0,
            "key": "nps",
            "kind": "nps",
            "text": {"en": "Would you recommend us?"},
            "answered": 31,
            "skipped": 0,
            "distribution": [{"value": 10, "label": None, "count": 12}],
            "average": 8.4,
            "nps": {"score": 32.3, "promoters": 15, "passives": 11, "detractors": 5},
        }
    ],
}


@router.put(
    "/surveys/{code}",
    response_model=SurveyDefinition,
    summary="Define or update a survey",
    responses={
        200: {
            "description": "Updated (or unchanged). Once a survey has answers only new "
            "questions and new choices at the end apply; other shape changes are kept out "
            "and reported with `kept_shape`.",
            "content": {
                "application/json": {
                    "example": {
                        "code": "nps_after_purchase",
                        "active": True,
                        "questions": 2,
                        "created": False,
                        "updated": True,
                        "kept_shape": False,
                    }
                }
            },
        },
        201: {"model": SurveyDefinition, "description": "A new survey was defined."},
        **errors(422),
    },
)
def put_survey(
    code: CodePath,
    body: SurveyDefinitionIn,
    session: SessionDep,
    clock: ClockDep,
    caller: TokenDep,
    response: Response,
) -> SurveyDefinition:
    """Create (201) or update (200) the survey with this code. Audited."""
    if body.code is not None and body.code != code:
        raise InvalidInput("the body's code differs from the path's", code=body.code)
    try:
        rule = SurveyRule.model_validate(body.model_dump(exclude={"code"}) | {"code": code})
    except ValidationError as exc:  # cannot happen after the body's own checks; be safe
        raise InvalidInput(str(exc.errors()[0]["msg"])) from None
    result = define_survey(session, clock=clock, rule=rule, actor=caller.actor)
    if result.created:
        response.status_code = 201
    return result


@router.get(
    "/surveys/{code}/results",
    response_model=SurveyResults,
    summary="Survey results: NPS, distributions, averages",
    responses={
        200: {"content": {"application/json": {"example": RESULTS_EXAMPLE}}},
        **errors(404, 422),
    },
)
def results(code: CodePath, reader: ReaderDep) -> SurveyResults:
    return survey_results(reader, survey_code=code)


@router.get(
    "/surveys/{code}/results.csv",
    response_class=CsvResponse,
    summary="Survey responses as CSV",
    responses={
        200: csv_doc(
            "One row per response: member number, started, completed, then one column per "
            "question key. No names or platform ids.",
            "member_number,started,completed,nps,comment\n"
            "M000123,2026-03-05T04:00:00+00:00,2026-03-05T04:01:10+00:00,9,great coffee\n",
        ),
        **errors(404, 422),
    },
)
def results_csv(code: CodePath, reader: ReaderDep) -> CsvResponse:
    # The core builds the survey's CSV as one text (responses per survey stay modest);
    # it goes out in chunks all the same.
    text = survey_results_csv(reader, survey_code=code)
    return CsvResponse(text_chunks(text), headers=csv_attachment(f"survey-{code}.csv"))
