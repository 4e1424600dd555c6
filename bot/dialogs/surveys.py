"""/survey as a conversation: one question at a time with buttons, typed answers, skip and stop.

Progress lives in the database (core.surveys), so any process takes the next answer. Button
payloads name the survey and the question they answer: `sv:<survey>:<position>:<value>`
(value a number, or `skip`), `svstop:<survey>` and `svgo:<survey>`, where <survey> is the
code, or `#<id>` when the code would not fit the 64-byte limit. A tap for a question other
than the current one (stale, repeated or tampered) changes nothing and shows the current one.
"""

from __future__ import annotations

from sqlmodel import select

from bot.dialogs.common import error_text, words
from bot.dialogs.turn import Turn
from core.chat import MAX_PAYLOAD_BYTES, Button, Card, Reply
from core.kernel import InvalidAnswer
from core.models import Survey
from core.surveys import (
    AnswerResult,
    CurrentQuestion,
    answer_question,
    current_question,
    open_surveys,
    start_survey,
    stop_survey,
)

ANSWER, STOP, GO = "sv", "svstop", "svgo"
SKIP = "skip"
MAX_OFFERED = 10  # surveys on offer, listed as buttons


def survey(turn: Turn) -> Reply:
    current = now_asking(turn)
    if current is not None:
        return ask(turn, current, note=turn.t("survey.resume") if current.position else None)
    with turn.services.database.reader() as session:
        offered = open_surveys(session, member_id=turn.member_id)
    if not offered:
        return Reply.text(
            turn.t("survey.none"), buttons=[Button(turn.t("menu.coupons"), "cmd:coupons")]
        )
    if len(offered) == 1:
        return begin(turn, offered[0].code)
    return Reply(
        texts=[turn.t("survey.choose")],
        buttons=[
            Button(turn.t.pick(row.title), payload(GO, survey_ref(turn, row.code, row.id)))
            for row in offered[:MAX_OFFERED]
        ],
    )


def go(turn: Turn, args: list[str]) -> Reply:
    code = survey_code(turn, args)
    return begin(turn, code) if code else stale(turn)


def tapped_answer(turn: Turn, args: list[str]) -> Reply:
    if len(args) != 3 or not args[1].isdecimal() or not (args[2].isdecimal() or args[2] == SKIP):
        return stale(turn)
    code, position, value = survey_code(turn, args[:1]), int(args[1]), args[2]
    current = now_asking(turn)
    if current is None or (current.survey_code, current.position) != (code, position):
        return stale(turn, current)
    skip = value == SKIP
    return submit(turn, current, value=None if skip else value, skip=skip)


def stop(turn: Turn, args: list[str]) -> Reply:
    code = survey_code(turn, args)
    if not code:
        return stale(turn)
    with turn.session() as session:
        result = stop_survey(
            session,
            clock=turn.services.clock,
            member_id=turn.member_id,
            channel=turn.channel,
            survey_code=code,
        )
    return Reply.text(
        turn.t("survey.stopped", answered=result.position, total=result.total),
        buttons=[Button(turn.t("survey.continue"), payload(GO, survey_ref(turn, code)))],
    )


def typed_answer(turn: Turn, text: str) -> Reply | None:
    """A message while a survey waits for an answer is the answer ("9", a choice's words),
    unless it is a command word and the question wants a number or a choice."""
    if not turn.member.signed_up:
        return None
    current = now_asking(turn)
    if current is None:
        return None
    if not current.required and text.strip().casefold() in words(turn.t, "survey.skip_words"):
        return submit(turn, current, value=None, skip=True)
    if current.kind != "text" and means_a_command(turn, text):
        return None
    return submit(turn, current, value=text, skip=False)


def begin(turn: Turn, code: str) -> Reply:
    with turn.session() as session:
        current = start_survey(
            session,
            clock=turn.services.clock,
            member_id=turn.member_id,
            survey_code=code,
            channel=turn.channel,
        )
    note = turn.t("survey.resume") if current.position else turn.t("survey.intro")
    return ask(turn, current, note=note)


def submit(turn: Turn, current: CurrentQuestion, *, value: str | None, skip: bool) -> Reply:
    try:
        with turn.session() as session:
            result = answer_question(
                session,
                clock=turn.services.clock,
                programme=turn.programme,
                member_id=turn.member_id,
                survey_code=current.survey_code,
                position=current.position,
                value=value,
                channel=turn.channel,
                skip=skip,
            )
    except InvalidAnswer as error:  # tell what this question accepts, and ask it again
        return ask(turn, current, note=invalid(turn, current, error))
    if result.completed:
        return finished(turn, result)
    following = now_asking(turn) or result.next_question
    return ask(turn, following) if following else finished(turn, result)


def ask(turn: Turn, question: CurrentQuestion, *, note: str | None = None) -> Reply:
    t = turn.t
    texts: list[str | Card] = [note] if note else []
    texts.append(
        t(
            "survey.question",
            title=t.pick(question.survey_title),
            number=question.position + 1,
            total=question.total,
            text=t.pick(question.text),
        )
    )
    texts.append(t(f"survey.hint.{question.kind}", low=question.low, high=question.high))
    return Reply(texts=texts, buttons=answer_buttons(turn, question))


def answer_buttons(turn: Turn, question: CurrentQuestion) -> list[Button]:
    survey = survey_ref(turn, question.survey_code)

    def answer(label: str, value: str) -> Button:
        return Button(label, payload(ANSWER, survey, str(question.position), value))

    if question.kind == "choice":
        buttons = [
            answer(turn.t.pick(choice), str(number))
            for number, choice in enumerate(question.choices, start=1)
        ]
    elif question.low is not None and question.high is not None:
        buttons = [answer(str(n), str(n)) for n in range(question.low, question.high + 1)]
    else:
        buttons = []
    if not question.required:
        buttons.append(answer(turn.t("survey.skip"), SKIP))
    buttons.append(Button(turn.t("survey.stop"), payload(STOP, survey)))
    return buttons


def finished(turn: Turn, result: AnswerResult) -> Reply:
    t = turn.t
    texts: list[str | Card] = [t("survey.thanks")]
    if result.reward_points:
        texts.append(
            t(
                "survey.rewarded",
                points=t.number(result.reward_points),
                balance=t.number(result.balance),
            )
        )
    if result.reward_capped:
        texts.append(t("survey.capped"))
    if result.upgraded_to:
        tier = turn.programme.tiers.by_code(result.upgraded_to)
        texts.append(t("survey.upgraded", tier=t.pick(tier.name)))
    return Reply(
        texts=texts,
        buttons=[
            Button(t("menu.points"), "cmd:points"),
            Button(t("menu.coupons"), "cmd:coupons"),
        ],
    )


def stale(turn: Turn, current: CurrentQuestion | None = None) -> Reply:
    """A tap that answers nothing now: say so and show where the member really is."""
    if current is None:
        current = now_asking(turn)
    if current is None:
        return Reply.text(
            turn.t("survey.stale_none"), buttons=[Button(turn.t("menu.survey"), "cmd:survey")]
        )
    return ask(turn, current, note=turn.t("survey.stale"))


def invalid(turn: Turn, question: CurrentQuestion, error: InvalidAnswer) -> str:
    key = f"survey.invalid.{question.kind}"
    if error.code != InvalidAnswer.code or not turn.t.has(key):
        return error_text(turn.t, error)
    return turn.t(key, **({"low": question.low, "high": question.high} | error.params))


def now_asking(turn: Turn) -> CurrentQuestion | None:
    with turn.services.database.reader() as session:
        return current_question(session, member_id=turn.member_id)


def survey_code(turn: Turn, args: list[str]) -> str | None:
    """The survey a payload names: its code, or `#<id>`; None when it names none."""
    if len(args) != 1 or not args[0]:
        return None
    if not args[0].startswith("#"):
        return args[0]
    if not args[0][1:].isdecimal() or len(args[0]) > 12:
        return None
    with turn.services.database.reader() as session:
        row = session.get(Survey, int(args[0][1:]))
    return row.code if row else None


def survey_ref(turn: Turn, code: str, survey_id: int | None = None) -> str:
    """The code when every survey payload fits 64 bytes with it, else `#<id>`."""
    if len(payload(ANSWER, code, "9999", SKIP)) <= MAX_PAYLOAD_BYTES:
        return code
    if survey_id is None:
        with turn.services.database.reader() as session:
            survey_id = session.exec(select(Survey.id).where(Survey.code == code)).first()
    return f"#{survey_id}"


def payload(*parts: str) -> str:
    return ":".join(parts)


def means_a_command(turn: Turn, text: str) -> bool:
    return turn.commands.command_for_word(turn.t, text) is not None
