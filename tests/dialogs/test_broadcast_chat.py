"""/broadcast and /campaigns in chat: staff put a promotion together step by step, see the
audience and LINE's quota before sending, send it once, and follow it in /campaigns."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import select

from bot.app import Services
from bot.dialogs import Dialogs
from core.campaigns import create_campaign, launch_campaign
from core.chat import Button
from core.members import opt_out
from core.models import AuditLog, Campaign, ChatState, Delivery, IdempotencyRecord
from core.purchases import record_purchase
from tests.fakes.fixtures import (
    LINE_ACCESS_TOKEN,
    LINE_CHANNEL_SECRET,
    TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
    fake_line,  # noqa: F401
)
from tests.fakes.line import FakeLineAPI
from tests.support.chat import ChatUser, verify_dialog
from tests.support.members import new_member

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: the quota cannot be read


def with_channels(services: Services, line_url: str | None = None) -> Services:
    """The services with Telegram switched on and, given a URL, LINE too."""
    update: dict[str, object] = {
        "telegram_bot_token": SecretStr(TELEGRAM_TOKEN),
        "telegram_webhook_secret": SecretStr(TELEGRAM_WEBHOOK_SECRET),
    }
    if line_url is not None:
        update |= {
            "line_channel_secret": SecretStr(LINE_CHANNEL_SECRET),
            "line_channel_access_token": SecretStr(LINE_ACCESS_TOKEN),
            "line_api_url": line_url,
        }
    return dataclasses.replace(services, settings=services.settings.model_copy(update=update))


@pytest.fixture
def line_services(services: Services, fake_line: FakeLineAPI) -> Services:  # noqa: F811
    return with_channels(services, fake_line.url)


@pytest.fixture
def chat(line_services: Services) -> Dialogs:
    return Dialogs(line_services)


@pytest.fixture
def staff(chat: Dialogs) -> ChatUser:
    return ChatUser(chat, "staff", language="en")


@pytest.fixture
def members(services: Services) -> dict[str, int]:
    """Three members in the interest stage who can be reached (two on Telegram, one on
    LINE), and four who cannot be in that audience."""
    db, clock, programme = services.database, services.clock, services.programme
    found = {
        name: new_member(db, clock, programme, name, channel=channel)
        for name, channel in [
            ("tina", "telegram"),
            ("tom", "telegram"),
            ("U00000000000000000000000000000001", "line"),
            ("olive", "telegram"),  # opted out below
            ("bob", "telegram"),  # bought below: the action stage
            ("cora", "console"),  # no channel a campaign can use
        ]
    }
    found["pat"] = new_member(db, clock, programme, "pat", channel="telegram", signed_up=False)
    with db.session() as session:
        opt_out(session, clock=clock, member_id=found["olive"], channel="telegram")
    with db.session() as session:
        record_purchase(session, clock=clock, programme=programme, member_id=found["bob"],
                        amount=300, order_id="POS-1")  # fmt: skip
    return found


def interest_ids(members: dict[str, int]) -> set[int]:
    return {members["tina"], members["tom"], members["U00000000000000000000000000000001"]}


def count(db, model, *where) -> int:
    with db.reader() as session:
        return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()


def nothing_sent(db) -> dict[str, int]:
    return {
        "campaigns": count(db, Campaign),
        "deliveries": count(db, Delivery),
        "allowed audits": count(db, AuditLog, AuditLog.allowed),
        "chat states": count(db, ChatState),
    }


def to_the_preview(staff: ChatUser) -> None:
    verify_dialog(
        staff,
        [
            ("/broadcast", "New broadcast. Who should get it?"),
            ("tap:Funnel stage", "Which funnel stage?"),
            ("tap:Interest", ["Audience: stage Interest, 3 members right now.",
                              "Now type the message as members should read it, in English"]),
            ("Spring sale: 20% off all week", "Message saved (English)"),
            ("tap:Add 繁體中文", "Type the message in 繁體中文."),
            ("春季特賣：全品項八折", "Attach a coupon?"),
            ("tap:NT$100 off NT$500", "Preview"),
        ],
    )  # fmt: skip


def test_a_broadcast_to_the_interest_stage_with_a_coupon_reaches_each_member_once(
    staff, db, members
):
    to_the_preview(staff)
    assert staff.reply.texts[0] == "\n".join([
        "📣 Preview",
        "🎯 Audience: stage Interest, 3 members right now.",
        "By channel: LINE 1 · Telegram 2",
        "LINE: 1 to send, 0.2% of the 500 messages left this month (0 of 500 used).",
        "Coupon: NT$100 off NT$500",
    ])  # fmt: skip
    for piece in (
        "As members will see it (English):\nSpring sale: 20% off all week\n"
        "[ Claim: NT$100 off NT$500 ]",
        "As members will see it (繁體中文):\n春季特賣：全品項八折\n[ 領取：滿 NT$500 折 NT$100 ]",
    ):
        assert piece in staff.text
    assert nothing_sent(db)["campaigns"] == 0  # a preview sends nothing

    staff.tap("Send to 3 members")
    assert staff.text.startswith("🚀 Campaign #1 “Chat broadcast")
    assert "3 messages queued" in staff.text
    with db.reader() as session:
        [campaign] = session.exec(select(Campaign)).all()
        deliveries = session.exec(select(Delivery)).all()
    assert (campaign.status, campaign.targeted, campaign.created_by) == (
        "sending",
        3,
        "console:staff",
    )
    assert campaign.audience == {"stages": ["interest"]}
    assert campaign.variants[0]["content"] == {
        "text": {"en": "Spring sale: 20% off all week", "zh-TW": "春季特賣：全品項八折"},
        "coupon": "SPEND500SAVE100",
    }
    assert {row.member_id for row in deliveries} == interest_ids(members)
    assert {(row.campaign_id, row.status) for row in deliveries} == {(1, "queued")}
    assert count(db, ChatState) == 0
    with db.reader() as session:
        [audit] = session.exec(select(AuditLog).where(AuditLog.action == "command:broadcast"))
    assert (audit.actor, audit.target, audit.details["targeted"]) == (
        "console:staff",
        "campaign:1",
        3,
    )


def test_a_redelivered_or_repeated_send_tap_launches_nothing_more(staff, db, members):
    to_the_preview(staff)
    send = staff.button("Send to 3 members")
    staff.press(send)
    first = staff.text
    staff.resend()  # the platform delivers the same tap again
    assert staff.text == first
    staff.press(send)  # a second tap on the old button: a new event
    assert staff.text == first
    assert count(db, Campaign) == 1
    assert count(db, Delivery) == 3
    assert count(db, AuditLog, AuditLog.action == "command:broadcast") == 1
    assert count(db, IdempotencyRecord, IdempotencyRecord.operation == "broadcast") == 1


STEPS = [
    [],
    ["tap:Funnel stage"],
    ["tap:Funnel stage", "tap:Interest"],
    ["tap:Funnel stage", "tap:Interest", "Hello members"],
    ["tap:Funnel stage", "tap:Interest", "Hello members", "tap:Add"],
    ["tap:Funnel stage", "tap:Interest", "Hello members", "tap:Next"],
    ["tap:All members", "Hello members", "tap:Next", "tap:No coupon"],
]


@pytest.mark.parametrize("how", ["/cancel", "tap:Cancel"])
@pytest.mark.parametrize("steps", STEPS, ids=[f"after {len(s)} steps" for s in STEPS])
def test_cancelling_at_any_step_sends_and_keeps_nothing(staff, db, members, steps, how):
    before = nothing_sent(db)
    staff.say("/broadcast")
    for step in steps:
        staff.tap(step[4:]) if step.startswith("tap:") else staff.say(step)
    assert "something went wrong" not in staff.text
    old_buttons = staff.buttons
    verify_dialog(staff, [(how, "Broadcast cancelled; nothing was sent.")])
    assert nothing_sent(db) == before
    # A button of the cancelled draft does nothing now.
    staff.press(old_buttons[0])
    assert staff.text in (
        "That broadcast is no longer open (a draft lasts 30 minutes). Start again with /broadcast.",
        "Broadcast cancelled; nothing was sent.",  # the old button was Cancel itself
    )
    assert count(db, Campaign) == 0


def test_a_send_tap_after_cancelling_sends_nothing(staff, db, members):
    to_the_preview(staff)
    send = staff.button("Send to")
    staff.say("/cancel")
    staff.press(send)
    assert "That broadcast is no longer open" in staff.text
    assert (count(db, Campaign), count(db, Delivery)) == (0, 0)


def test_the_draft_expires(staff, db, members, services):
    verify_dialog(staff, [("/broadcast", "Who should get it?"), ("tap:All members", "type")])
    services.clock.advance(minutes=31)
    staff.say("Hello members")  # no longer taken as the message
    assert "Message saved" not in staff.text
    staff.say("/cancel")
    assert staff.text == "There is nothing to cancel."


def test_typing_where_a_tap_is_expected_asks_again(staff, members):
    verify_dialog(
        staff,
        [
            ("/broadcast", "Who should get it?"),
            ("everyone please", ["Please choose with the buttons below", "Who should get it?"]),
            ("tap:Tier", "Which tier?"),
            ("tap:Back", "Who should get it?"),
            ("tap:Birthday this month", "birthday in March, 0 members"),
        ],
    )


def test_nobody_in_the_audience_offers_no_send_button(staff, db, members):
    verify_dialog(
        staff,
        [
            ("/broadcast", "Who should get it?"),
            ("tap:RFM segment", "Which RFM segment?"),
            ("tap:champions", "RFM champions, 0 members"),
            ("Hi", "Message saved"),
            ("tap:Next", "Attach a coupon?"),
            ("tap:No coupon", ["No coupon attached.", "Nobody matches this audience"]),
        ],
    )
    assert [button.label for button in staff.buttons] == ["Cancel"]


def test_the_preview_says_when_lines_quota_cannot_be_read(services, db, members):
    staff = ChatUser(Dialogs(with_channels(services, CLOSED_PORT)), "staff", language="en")
    verify_dialog(
        staff,
        [
            ("/broadcast", "Who should get it?"),
            ("tap:All members", "4 members"),  # bob too: all stages
            ("Hi", "Message saved"),
            ("tap:Next", "Attach a coupon?"),
            ("tap:No coupon", "LINE: 1 to send (this month's quota could not be read"),
        ],
    )
    assert "✅ Send to 4 members" in [button.label for button in staff.buttons]


def test_without_line_the_preview_has_no_quota_line(services, db, members):
    staff = ChatUser(Dialogs(with_channels(services)), "staff", language="en")
    for step in ("/broadcast", "tap:All members", "Hi", "tap:Next", "tap:No coupon"):
        staff.tap(step[4:]) if step.startswith("tap:") else staff.say(step)
    assert "By channel: Telegram 3" in staff.text
    assert "LINE" not in staff.text
    assert "✅ Send to 3 members" in [button.label for button in staff.buttons]


def test_an_admin_writing_in_chinese_sends_one_text_to_everyone(line_services, db, members):
    staff = ChatUser(Dialogs(line_services), "staff")  # zh-TW
    verify_dialog(
        staff,
        [
            ("/broadcast", "要發給誰？"),
            ("tap:全體會員", "對象：全體會員，目前共 4 位會員。"),
            ("週末快閃", "訊息已儲存（繁體中文）"),
            ("tap:下一步", "要附上優惠券嗎？"),
            ("tap:不附優惠券", ["會員看到的樣子（繁體中文）：\n週末快閃", "LINE：1 則"]),
            ("tap:發送給 4 位會員", "已開始發送：4 則訊息排入佇列"),
        ],
    )
    with db.reader() as session:
        campaign = session.exec(select(Campaign)).one()
    assert campaign.variants[0]["content"] == {"text": "週末快閃"}
    assert campaign.metric == "clicked"


def test_campaigns_lists_them_with_status_figures_and_a_report(staff, db, members):
    staff.say("/campaigns")
    assert staff.text == "No campaigns yet. Send one with /broadcast."
    to_the_preview(staff)
    staff.tap("Send to 3 members")
    verify_dialog(
        staff,
        [
            ("/campaigns", ["Recent campaigns", "#1 Chat broadcast", "sending · launched",
                            "Audience: stage Interest · 3 targeted",
                            "Delivery: 3 targeted · 0 sent · 0 failed · 0 blocked · 3 waiting",
                            "Results: 0 clicked · 0 redeemed"]),
            ("tap:Report #1", ["Judged on: redemption", "Outcomes: 0 clicked · 0 claimed"]),
        ],
    )  # fmt: skip
    assert "A/B" not in staff.text
    table = Delivery.__table__  # all out, one of them in doubt (a Telegram send unanswered)
    with db.engine.begin() as connection:
        connection.execute(sa.update(table).values(status="sent"))
        connection.execute(sa.update(table).where(table.c.id == 1).values(reason="in_doubt"))
    staff.say("/campaigns")
    assert "Delivery: 3 targeted · 3 sent (1 in doubt: Telegram never" in staff.text
    with db.reader() as session:
        actions = session.exec(select(AuditLog.action).where(AuditLog.allowed)).all()
    assert sorted(actions) == ["command:broadcast", "command:campaign_report",
                               "command:campaigns", "command:campaigns",
                               "command:campaigns"]  # fmt: skip


def test_an_ab_campaign_shows_its_verdict(staff, db, services):
    for n in range(20):
        new_member(db, services.clock, services.programme, f"ab{n}", channel="telegram")
    with db.session() as session:
        view = create_campaign(session, clock=services.clock, programme=services.programme,
                               created_by="test", spec={
            "name": "Two texts", "metric": "clicked", "audience": {"stages": ["interest"]},
            "variants": [{"name": "A", "weight": 50, "text": "A"},
                         {"name": "B", "weight": 50, "text": "B"}]})  # fmt: skip
    with db.session() as session:
        launch_campaign(session, clock=services.clock, campaign_id=view.id,
                        channels=("telegram",))  # fmt: skip
    staff.say("/campaigns")
    assert "A/B: No A/B result yet: nothing sent to both versions." in staff.text
    table = Delivery.__table__
    with db.engine.begin() as connection:  # every message out; only B's tapped
        connection.execute(sa.update(table).values(status="sent", sent_at=services.clock.now()))
        connection.execute(
            sa.update(table).where(table.c.variant == "B").values(clicked_at=services.clock.now())
        )
    with db.reader() as session:
        counted = select(Delivery.variant, sa.func.count()).group_by(Delivery.variant)
        split = dict(session.exec(counted).all())
    assert min(split.values()) >= 5, split  # both variants reached enough members to tell
    staff.say("/campaigns")
    assert "A/B: B beats A on clicks (100% vs 0%), p < 0.001." in staff.text
    assert "Results: " + str(split["B"]) + " clicked · 0 redeemed" in staff.text
    staff.tap("Report #1")
    assert f"A: Delivery: {split['A']} targeted · {split['A']} sent" in staff.text
    assert f"B: Outcomes: {split['B']} clicked · 0 claimed" in staff.text
    assert staff.text.endswith("B beats A on clicks (100% vs 0%), p < 0.001.")


def test_a_member_cannot_use_the_broadcast_buttons(chat, db, members):
    mallory = ChatUser(chat, "mallory", language="en")
    mallory.say("/start")
    mallory.tap("Agree")
    for payload in ("bcast:seg:all", "bcast:report:1", "bcast:go:abcd1234", "bcast:cancel"):
        mallory.press(Button("crafted", payload))
        assert mallory.text == "Sorry, that command is for admins only."
    with db.reader() as session:
        refusals = session.exec(select(AuditLog).where(AuditLog.allowed == False)).all()  # noqa: E712
    assert [(r.actor, r.action, r.target) for r in refusals] == [
        ("console:mallory", "button:bcast", "seg:all"),
        ("console:mallory", "button:bcast", "report:1"),
        ("console:mallory", "button:bcast", "go:abcd1234"),
        ("console:mallory", "button:bcast", "cancel"),
    ]
    assert count(db, Campaign) == 0


def test_cancel_ends_an_erase_confirmation_and_says_when_there_is_nothing(chat, db):
    alice = ChatUser(chat, "alice", language="en")
    alice.say("/start")
    alice.tap("Agree")
    verify_dialog(
        alice,
        [
            ("/cancel", "There is nothing to cancel."),
            ("/deleteme", "Do you really want to erase your data?"),
            ("/cancel", "OK, cancelled."),
            ("/points", "points"),
        ],
    )
    assert count(db, ChatState) == 0
