"""A demo member answering the programme's survey the day after a visit, one question at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from bot.demo.data import comment
from bot.demo.member import MemberRecord
from core.programme import pick_text

# A café's usual spread: about half promoters, a fifth detractors (NPS around +30).
NPS_ODDS = tuple(accumulate((2, 1, 1, 2, 2, 5, 6, 12, 17, 22, 30)))  # cumulative
RATING_ODDS = tuple(accumulate((3, 5, 15, 37, 40)))
NPS_SCORES, RATINGS = tuple(range(11)), tuple(range(1, 6))
STOP_SHARE = 0.08


class SurveyTaker(MemberRecord):
    """The survey side of a member's history."""

    def answer_survey(self, at: datetime, _: Any = None) -> None:
        """Start, answer (or skip optional questions), and complete with the reward; a few stop."""
        survey = self.ctx.survey
        if survey is None or self.member["consent_at"] is None:
            return
        progress_id = self.ctx.take_ids("survey_progress")
        progress = self.rows.add(
            "survey_progress",
            {
                "id": progress_id,
                "member_id": self.id,
                "survey_id": survey.id,
                "status": "in_progress",
                "position": 0,
                "reward_points": 0,
                "started_at": at,
                "updated_at": at,
                "completed_at": None,
            },
        )
        payload = {"survey": survey.code, "position": 0, "resumed": False}
        self.event("survey_started", at, payload)
        for question_id, key, kind, choices, required in survey.questions:
            at += timedelta(seconds=self.rng.randint(8, 90))
            value_int, value_text = self._answer(kind, choices, required)
            skipped = value_int is None and value_text is None
            self.rows.add(
                "survey_answer",
                {
                    "progress_id": progress_id,
                    "question_id": question_id,
                    "value_int": value_int,
                    "value_text": value_text,
                    "skipped": skipped,
                    "created_at": at,
                },
            )
            progress.update(position=progress["position"] + 1, updated_at=at)
            answered: dict[str, Any] = {"survey": survey.code, "key": key, "skipped": skipped}
            if kind != "text":
                answered["value"] = value_int
            self.event("survey_answered", at, answered)
            if self.rng.random() < STOP_SHARE and progress["position"] < len(survey.questions):
                progress["status"] = "stopped"
                self.event("survey_stopped", at, {"survey": survey.code})
                return
        points = self.wallet.activity_room(at, survey.reward_points)
        if points:
            reason = f"survey {survey.code}"
            self.wallet.credit(
                at, points, source="survey", reason=reason, key=f"survey:{progress_id}"
            )
        progress.update(status="completed", completed_at=at, reward_points=points)
        self.qualify(at, self.ctx.programme.tiers.growth_per_survey, "survey")
        capped = points < survey.reward_points
        self.event(
            "survey_completed", at, {"survey": survey.code, "points": points, "capped": capped}
        )

    def _answer(
        self, kind: str, choices: list[dict[str, str]], required: bool
    ) -> tuple[int | None, str | None]:
        rng, locale = self.rng, self.member["locale"]
        if kind == "nps":
            return rng.choices(NPS_SCORES, cum_weights=NPS_ODDS)[0], None
        if kind == "rating":
            return rng.choices(RATINGS, cum_weights=RATING_ODDS)[0], None
        if kind == "choice" and choices:
            chosen = rng.randint(1, len(choices))
            return chosen, pick_text(choices[chosen - 1], locale)
        if required or rng.random() < 0.35:
            return None, comment(rng, locale)
        return None, None
