"""A member's whole journey over LINE webhooks (issue 4, acceptance 1 and 5): signed events
in, answers through line-bot-sdk at the fake Messaging API — words typed as LINE members
type them, quick replies, Flex buttons and rich-menu postbacks — on both databases."""

from __future__ import annotations

from sqlmodel import select

import tests.fakes.fixtures as fake_fixtures
from core.models import CouponGrant, LedgerEntry, SurveyAnswer
from tests.channels import line_harness
from tests.channels.line_harness import LineApp
from tests.fakes.webhooks import redelivered

fake_line = fake_fixtures.fake_line
line_app = line_harness.line_app

MEI, KAI = "U" + "3c" * 16, "U" + "d4" * 16


def ledger(app: LineApp, source: str) -> int:
    with app.services.database.reader() as session:
        return len(session.exec(select(LedgerEntry).where(LedgerEntry.source == source)).all())


def test_a_line_member_joins_claims_answers_invites_checks_in_and_erases(line_app: LineApp) -> None:
    app = line_app
    welcome = app.exchange(app.events.follow(MEI))
    assert "歡迎來到會員中心" in welcome and "隱私權政策" in welcome
    assert "歡迎加入" in app.tap(MEI, "同意")
    member = app.member(MEI)
    assert "0 點" in app.say(MEI, "我的點數") and member.number in app.texts(MEI)[-1]

    # Coupons: offers in a carousel with claim buttons; the claim shows the code once.
    assert "優惠券" in app.say(MEI, "優惠券")
    claim = app.events.postback(MEI, app.postback_data(MEI, "新會員"))
    claimed = app.exchange(claim)
    with app.services.database.reader() as session:
        grant = session.exec(select(CouponGrant)).one()
    assert grant.code in claimed
    app.deliver(redelivered(claim))
    app.settled()
    with app.services.database.reader() as session:
        assert len(session.exec(select(CouponGrant)).all()) == 1

    # The tier card from the rich menu's postback.
    assert "會員等級" in app.exchange(app.events.postback(MEI, "cmd:tier"))

    # A survey by taps: a score from the quick replies, a choice, a skip; rewarded once.
    question = app.say(MEI, "問卷")
    if "1/3" not in question:  # a list of surveys first: start the one offered
        question = app.tap(MEI, app.quick_replies(MEI)[0]["label"])
    assert "1/3" in question
    scores = [a["label"] for a in app.quick_replies(MEI)]
    assert "9" in scores and len(scores) <= 13
    assert "2/3" in app.tap(MEI, "9")
    assert "3/3" in app.say(MEI, "晚上")
    finished = app.tap(MEI, "略過")
    assert "20 點" in finished
    with app.services.database.reader() as session:
        answers = session.exec(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()  # type: ignore[arg-type]
    assert [(a.value_int, a.value_text, a.skipped) for a in answers] == [
        (9, None, False),
        (3, "晚上", False),
        (None, None, True),
    ]
    assert ledger(app, "survey") == 1

    # An invite: on LINE the friend types the code (there are no deep links).
    code = app.member(MEI).invite_code
    assert code in app.say(MEI, "邀請好友")
    app.exchange(app.events.follow(KAI))
    assert "同意" in app.say(KAI, code.lower())  # the code, typed; consent with it
    pushes_before = len(app.fake.deliveries("push"))
    joined = app.tap(KAI, "同意")
    assert "50 點" in joined
    app.fake.wait_for(lambda: len(app.fake.deliveries("push")) > pushes_before)
    notice = app.fake.deliveries("push")[-1]
    assert notice.to == MEI and "100" in str(notice.messages)  # the referrer, told by push
    assert ledger(app, "referral") == 2

    # A daily check-in, twice on the same day: one reward.
    assert "簽到成功" in app.say(MEI, "簽到")
    app.say(MEI, "/checkin")
    assert ledger(app, "checkin") == 1

    # Erasure, confirmed with a quick reply.
    assert "確定要刪除" in app.say(MEI, "/deleteme")
    assert "已刪除" in app.tap(MEI, "刪除我的資料")
    assert not app.has_member(MEI)  # the LINE user id is replaced by a hash
    assert app.scalar("select count(*) from member where erased_at is not null") == 1
    assert app.fake.total_usage == 1  # everything but the referral notice went by free reply
