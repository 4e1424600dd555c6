"""Telegram end to end: update JSON posted to /webhooks/telegram over HTTP, handled by the
dialogs, replies sent through python-telegram-bot to the fake Bot API — on both databases."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import select

import tests.fakes.fixtures as fake_fixtures
from adapters.telegram import TelegramChannel
from bot.inbound import Messenger
from core.chat import Reply
from core.models import ChannelIdentity, Member
from tests.channels import telegram_harness
from tests.channels.telegram_harness import TelegramApp, wait_until
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.webhooks import TelegramUpdates, telegram_headers

fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates
telegram_app = telegram_harness.telegram_app

MEI = 4242
# PTB 22 warns from inside RetryAfter that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def join(app: TelegramApp, updates: TelegramUpdates, who: int | dict, chat: int) -> None:
    """/start, then tap the consent button: a signed-up member."""
    before = len(app.fake.texts_to(chat))
    app.deliver(updates.command(who, "start"))
    app.wait_texts(chat, before + 1)
    app.deliver(updates.callback_query(who, app.callback_data(chat, "agree")))
    app.wait_texts(chat, before + 2)


def member(app: TelegramApp, user_id: int) -> Member:
    with app.services.database.reader() as session:
        identity = session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "telegram",
                ChannelIdentity.platform_user_id == str(user_id),
            )
        ).one()
        found = session.get(Member, identity.member_id)
    assert found is not None
    return found


def identity(app: TelegramApp, user_id: int) -> ChannelIdentity:
    with app.services.database.reader() as session:
        return session.exec(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "telegram",
                ChannelIdentity.platform_user_id == str(user_id),
            )
        ).one()


# ---- the member's first steps --------------------------------------------------------------


def test_start_asks_for_consent_with_buttons_a_tap_joins_and_points_shows_the_card(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    mei = telegram_updates.user(MEI, first_name="Mei <3 & Co", language_code="en")

    app.deliver(telegram_updates.command(mei, "start"))
    [consent] = app.wait_texts(MEI, 1)
    assert "Welcome to" in consent and "privacy policy (version 2026-01)" in consent
    keyboard = app.last_message(MEI)["reply_markup"]["inline_keyboard"]
    assert [button["text"] for row in keyboard for button in row] == [
        "✅ Agree and join",
        "Not now",
    ]
    assert app.last_message(MEI)["parse_mode"] == "HTML"

    tap = telegram_updates.callback_query(mei, app.callback_data(MEI, "agree"))
    app.deliver(tap)
    joined = app.wait_texts(MEI, 2)[1]
    # The name went out HTML-escaped (the fake rejects bad HTML) and reads as typed.
    assert "Welcome aboard, Mei <3 & Co" in joined and "M000001" in joined
    answers = app.fake.calls("answerCallbackQuery")
    assert [call.params["callback_query_id"] for call in answers] == [tap["callback_query"]["id"]]

    app.deliver(telegram_updates.command(mei, "points"))
    card = app.wait_texts(MEI, 3)[2]
    assert "My points" in card and "M000001" in card and "0 points" in card
    assert "<b>My points</b>" in app.fake.texts_to(MEI)[2]  # the card's title in bold

    joined_member = member(app, MEI)
    assert joined_member.stage == "interest"
    assert joined_member.consent_version == "2026-01"
    assert joined_member.display_name == "Mei <3 & Co"


def test_a_tap_is_answered_in_the_webhook_answer_and_a_message_is_not(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    """The callback answer rides on the webhook's answer, so the button stops spinning
    before the reply is even handled; a message's answer asks Telegram for nothing."""
    app = telegram_app
    mei = telegram_updates.user(MEI, language_code="en")
    start = app.client.post(
        "/webhooks/telegram",
        json=telegram_updates.command(mei, "start"),
        headers=telegram_headers(TELEGRAM_WEBHOOK_SECRET),
    )
    assert start.json() == {"ok": True, "accepted": 1}
    app.wait_texts(MEI, 1)
    tap = telegram_updates.callback_query(mei, app.callback_data(MEI, "agree"))
    answer = app.client.post(
        "/webhooks/telegram", json=tap, headers=telegram_headers(TELEGRAM_WEBHOOK_SECRET)
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": tap["callback_query"]["id"],
    }
    assert answer.headers["X-Loyalty-Accepted"] == "1"
    app.wait_texts(MEI, 2)
    app.settled()
    assert app.fake.calls("answerCallbackQuery") == []  # no second answer from the inbox


def test_a_deep_link_start_carries_the_invite_code_into_the_sign_up(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    join(app, telegram_updates, telegram_updates.user(1001, language_code="en"), 1001)
    code = member(app, 1001).invite_code
    friend = telegram_updates.user(1002, first_name="Ann", language_code="en")

    app.deliver(telegram_updates.command(friend, "start", code))
    app.wait_texts(1002, 1)
    agree = app.callback_data(1002, "agree")
    assert agree.endswith(f":{code}")
    app.deliver(telegram_updates.callback_query(friend, agree))

    joined = app.wait_texts(1002, 2)[1]
    assert "Welcome aboard, Ann" in joined
    assert "friend's invite" in joined
    assert member(app, 1002).referrer_id == member(app, 1001).id


def test_stickers_and_photos_get_a_helpful_answer_and_group_chats_are_not_served(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    user = telegram_updates.user(77, language_code="en")
    sticker = telegram_updates.message(user, "")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {
        "file_id": "CAAC",
        "file_unique_id": "AgAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    group = telegram_updates.command(user, "points")
    group["message"]["chat"] = {"id": -1001234, "type": "supergroup", "title": "Fans"}

    assert app.deliver(group).json()["accepted"] == 0
    assert app.deliver(sticker).json()["accepted"] == 1
    [answer] = app.wait_texts(77, 1)
    assert "Here is what I can do" in answer
    app.settled()
    assert app.fake.messages_to(-1001234) == []
    assert app.count("inbound_update") == 1


# ---- acceptance 2: the secret ----------------------------------------------------------------


def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_written(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    update = telegram_updates.command(MEI, "start")
    before = app.counts()
    for secret in (None, "", "wrong", TELEGRAM_WEBHOOK_SECRET[:-1], TELEGRAM_WEBHOOK_SECRET + "x"):
        response = app.post(update, secret=secret)
        assert response.status_code == 401, secret
    bad_header_case = {"content-type": "application/json", "x-telegram-bot-api-secret": "x"}
    response = app.client.post("/webhooks/telegram", content=b"{}", headers=bad_header_case)
    assert response.status_code == 401
    assert app.counts() == before
    assert app.fake.calls("sendMessage") == []


def test_the_secret_header_is_matched_case_insensitively_as_http_requires(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    headers = {"x-telegram-bot-api-secret-token": TELEGRAM_WEBHOOK_SECRET}
    update = telegram_updates.command(MEI, "help")
    response = app.client.post("/webhooks/telegram", json=update, headers=headers)
    assert response.status_code == 200
    app.wait_texts(MEI, 1)


# ---- acceptance 3: redelivery --------------------------------------------------------------


def test_a_redelivered_update_is_stored_once_and_answered_once(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    start = telegram_updates.command(MEI, "start")
    assert app.deliver(start).json()["accepted"] == 1
    app.wait_texts(MEI, 1)
    assert app.deliver(start).json()["accepted"] == 0
    app.settled()
    assert app.count("inbound_update") == 1
    assert app.count("member") == 1
    assert len(app.fake.texts_to(MEI)) == 1


def test_ten_concurrent_deliveries_of_one_update_have_one_effect(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    start = telegram_updates.command(MEI, "start")
    headers = telegram_headers(TELEGRAM_WEBHOOK_SECRET)

    def post(_: int) -> int:
        with httpx.Client(base_url=app.url, timeout=10) as client:
            return client.post("/webhooks/telegram", json=start, headers=headers).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(post, range(10)))

    assert statuses == [200] * 10
    app.wait_texts(MEI, 1)
    app.settled()
    assert app.count("inbound_update") == 1
    assert app.count("member") == 1
    assert len(app.fake.texts_to(MEI)) == 1


def test_a_coupon_claim_tap_delivered_ten_times_at_once_grants_one_coupon(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    mei = telegram_updates.user(MEI, language_code="en")
    join(app, telegram_updates, mei, MEI)
    app.deliver(telegram_updates.command(mei, "coupons"))
    app.wait_texts(MEI, 3)
    claim = telegram_updates.callback_query(mei, app.callback_data(MEI, "claim"))
    headers = telegram_headers(TELEGRAM_WEBHOOK_SECRET)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=app.url, timeout=10) as client:
            return client.post("/webhooks/telegram", json=claim, headers=headers)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(post, range(10)))
    # Each delivery is answered with the callback answer for Telegram to make; one was new.
    assert [answer.status_code for answer in answers] == [200] * 10
    call = {"method": "answerCallbackQuery", "callback_query_id": claim["callback_query"]["id"]}
    assert all(answer.json() == call for answer in answers)
    assert sorted(answer.headers["X-Loyalty-Accepted"] for answer in answers) == ["0"] * 9 + ["1"]

    app.wait_texts(MEI, 4)
    app.settled()
    assert app.count("coupon_grant") == 1
    assert (
        app.scalar(
            "select count(*) from inbound_update where update_id = :id",
            id=str(claim["update_id"]),
        )
        == 1
    )
    assert len(app.fake.texts_to(MEI)) == 4
    # The server made no callback answer of its own (Telegram makes the one it was given).
    answered = [c.params["callback_query_id"] for c in app.fake.calls("answerCallbackQuery")]
    assert claim["callback_query"]["id"] not in answered


# ---- acceptance 4: rate limits and blocking --------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_and_the_reply_then_delivered(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    app.fake.fail_next("sendMessage", 429, retry_after=1)

    app.deliver(telegram_updates.command(MEI, "help"))

    app.wait_texts(MEI, 1)
    refused, delivered = app.fake.calls("sendMessage")
    assert (refused.status, delivered.status) == (429, 200)
    assert 0.95 <= delivered.time - refused.time < 5


def test_a_member_who_blocked_the_bot_is_marked_unreachable_and_not_sent_to_again(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    join(app, telegram_updates, telegram_updates.user(MEI, language_code="en"), MEI)
    app.fake.block(MEI)

    app.deliver(telegram_updates.command(MEI, "points"))

    wait_until(lambda: identity(app, MEI).unreachable, what="unreachable")
    assert app.fake.calls("sendMessage")[-1].status == 403
    sends_before = len(app.fake.calls("sendMessage"))
    member_id = member(app, MEI).id
    assert member_id is not None

    async def push() -> str:
        channel = TelegramChannel(
            token=TELEGRAM_TOKEN,
            webhook_secret=TELEGRAM_WEBHOOK_SECRET,
            api_url=f"{app.fake.url}/bot",
        )
        await channel.start()
        try:
            messenger = Messenger(app.services, {"telegram": channel})
            return (await messenger.send_to_member(member_id, Reply.text("promo"))).status
        finally:
            await channel.close()

    assert asyncio.run(push()) == "failed"
    assert len(app.fake.calls("sendMessage")) == sends_before


def test_my_chat_member_kicked_marks_unreachable_and_member_again_reachable(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    join(app, telegram_updates, telegram_updates.user(MEI, language_code="en"), MEI)
    sends = len(app.fake.calls("sendMessage"))

    app.deliver(telegram_updates.my_chat_member(MEI, "kicked"))
    wait_until(lambda: identity(app, MEI).unreachable, what="unreachable")
    app.settled()
    assert len(app.fake.calls("sendMessage")) == sends  # nobody to tell

    app.deliver(telegram_updates.my_chat_member(MEI, "member"))
    wait_until(lambda: not identity(app, MEI).unreachable, what="reachable again")
