"""Surveys: definitions, taking them one question at a time, answers rewarded once,
and results (NPS, distributions, CSV).
"""

from core.surveys.answers import AnswerResult, answer_question
from core.surveys.definitions import SurveyDefinition, define_survey, sync_surveys
from core.surveys.progress import CurrentQuestion
from core.surveys.results import SurveyResults, survey_results, survey_results_csv
from core.surveys.taking import current_question, open_surveys, start_survey, stop_survey

__all__ = [
    "AnswerResult",
    "CurrentQuestion",
    "SurveyDefinition",
    "SurveyResults",
    "answer_question",
    "current_question",
    "define_survey",
    "open_surveys",
    "start_survey",
    "stop_survey",
    "survey_results",
    "survey_results_csv",
    "sync_surveys",
]
