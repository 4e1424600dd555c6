"""`loyalty chat` on a pipe: a readable transcript, and typed numbers that mean what they say."""

import io

from sqlmodel import select

from bot.inbound import run_chat
from core.models import CouponGrant, SurveyAnswer


def chat(services, lines, user="alice"):
    out = io.StringIO()
    run_chat(
        services,
        user=user,
        stdin=io.StringIO("".join(f"{line}\n" for line in lines)),
        stdout=out,
        interactive=False,
    )
    return out.getvalue()


def test_a_scripted_chat_prints_the_transcript(services):
    text = chat(services, ["/lang en", "/start", "1", "/points", "/coupons"])
    assert "> /points\nbot: 【My points】" in text
    assert "Coupons you can claim now" in text
    assert "[1] Claim: NT$50 off for new members" in text


def test_a_number_typed_on_the_survey_scale_is_that_answer_not_that_button(services, db):
    chat(services, ["/start", "1", "/survey", "9", "1"])
    with db.reader() as session:
        rows = session.exec(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()
    # "9" is the 0–10 answer 9 (not the 9th button, 8); "1" is the first choice, Morning.
    assert [(row.value_int, row.value_text) for row in rows] == [(9, None), (1, "早上")]


def test_a_claim_button_chosen_by_number(services, db):
    text = chat(services, ["/lang en", "/start", "1", "/coupons", "1"])
    with db.reader() as session:
        grant = session.exec(select(CouponGrant)).one()
    assert f"Code: {grant.code}" in text
