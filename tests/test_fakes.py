"""The fake platform servers work with the real SDKs: python-telegram-bot 22, line-bot-sdk 3."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import telegram
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MessageAction,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    TextMessage,
)
from linebot.v3.webhooks import (
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

import tests.fakes.fixtures as fake_fixtures
from tests.fakes import (
    FakeLineAPI,
    FakeTelegramBotAPI,
    LineEvents,
    TelegramUpdates,
    line_signature,
    redelivered,
)
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET, TELEGRAM_TOKEN

fake_telegram = fake_fixtures.fake_telegram
fake_line = fake_fixtures.fake_line
line_events = fake_fixtures.line_events
telegram_updates = fake_fixtures.telegram_updates

T = TypeVar("T")
ROOT = Path(__file__).parent.parent
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="claim:42")]])


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


def bot_for(fake: FakeTelegramBotAPI, token: str = TELEGRAM_TOKEN) -> telegram.Bot:
    return telegram.Bot(token, base_url=f"{fake.url}/bot")


# PTB 22.2+ warns that RetryAfter.retry_after will become a timedelta; we accept both.
ignore_ptb_timedelta_warning = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def line_api(fake: FakeLineAPI) -> ApiClient:
    return ApiClient(Configuration(host=fake.url, access_token=LINE_ACCESS_TOKEN))


def text(value: str) -> TextMessage:
    return TextMessage(text=value)


# ---- Telegram ---------------------------------------------------------------------------


def test_bot_sends_a_message_with_an_inline_keyboard_and_the_fake_records_it(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    async def scenario() -> tuple[telegram.Message, telegram.Message]:
        async with bot_for(fake_telegram) as bot:
            first = await bot.send_message(
                42, "<b>120</b> points", parse_mode="HTML", reply_markup=KEYBOARD
            )
            second = await bot.send_message(42, "again")
            return first, second

    first, second = run(scenario())

    assert first.text == "120 points"
    assert first.reply_markup == KEYBOARD
    assert first.chat.id == 42 and first.chat.type == "private"
    assert second.message_id > first.message_id
    assert [call.method for call in fake_telegram.calls()] == [
        "getMe",
        "sendMessage",
        "sendMessage",
    ]
    sent = fake_telegram.messages_to(42)[0]
    assert sent["chat_id"] == 42
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Claim", "callback_data": "claim:42"}]]
    }
    assert fake_telegram.texts_to(42) == ["<b>120</b> points", "again"]


@ignore_ptb_timedelta_warning
def test_injected_429_raises_retry_after_with_the_seconds_asked(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=2)

    async def scenario() -> None:
        async with bot_for(fake_telegram) as bot:
            with pytest.raises(telegram.error.RetryAfter) as error:
                await bot.send_message(42, "hi")
            assert seconds(error.value.retry_after) == 2
            await bot.send_message(42, "hi")  # only the next call failed

    run(scenario())
    assert [call.status for call in fake_telegram.calls("sendMessage")] == [429, 200]
    assert fake_telegram.texts_to(42) == ["hi"]


def test_a_blocked_chat_raises_forbidden_until_unblocked(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    fake_telegram.block(42)

    async def scenario() -> None:
        async with bot_for(fake_telegram) as bot:
            with pytest.raises(telegram.error.Forbidden, match="bot was blocked by the user"):
                await bot.send_message(42, "hi")
            await bot.send_message(43, "others still get messages")
            fake_telegram.unblock(42)
            await bot.send_message(42, "welcome back")

    run(scenario())
    assert fake_telegram.texts_to(42) == ["welcome back"]


def test_server_errors_missing_params_and_unknown_methods_map_to_ptb_errors(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    fake_telegram.fail_next("sendMessage", 502, chat_id=7)

    async def scenario() -> None:
        async with bot_for(fake_telegram) as bot:
            await bot.send_message(8, "the failure is only for chat 7")
            with pytest.raises(telegram.error.NetworkError, match="Bad Gateway"):
                await bot.send_message(7, "hi")
            with pytest.raises(telegram.error.BadRequest, match="(?i)message text is empty"):
                await bot.send_message(7, "")
            with pytest.raises(telegram.error.EndPointNotFound):
                await bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": 7})

    run(scenario())


def test_a_wrong_token_is_rejected(fake_telegram: FakeTelegramBotAPI) -> None:
    async def scenario() -> None:
        with pytest.raises(telegram.error.InvalidToken):
            await bot_for(fake_telegram, token="999:wrong").get_me()

    run(scenario())
    assert fake_telegram.calls()[0].status == 401


def test_unescaped_html_is_rejected_as_telegram_does(fake_telegram: FakeTelegramBotAPI) -> None:
    async def scenario() -> None:
        async with bot_for(fake_telegram) as bot:
            with pytest.raises(telegram.error.BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(42, "I <3 coupons", parse_mode="HTML")
            message = await bot.send_message(42, "I &lt;3 coupons", parse_mode="HTML")
            assert message.text == "I <3 coupons"

    run(scenario())


def test_edits_callback_answers_webhook_and_commands(fake_telegram: FakeTelegramBotAPI) -> None:
    async def scenario() -> None:
        async with bot_for(fake_telegram) as bot:
            sent = await bot.send_message(42, "Claim?", reply_markup=KEYBOARD)
            edited = await bot.edit_message_text("Claimed", chat_id=42, message_id=sent.message_id)
            assert isinstance(edited, telegram.Message)
            assert edited.text == "Claimed" and edited.reply_markup is None
            with pytest.raises(telegram.error.BadRequest, match="(?i)not modified"):
                await bot.edit_message_text("Claimed", chat_id=42, message_id=sent.message_id)
            assert await bot.answer_callback_query("query-1", text="Done")
            with pytest.raises(telegram.error.BadRequest, match="(?i)query is too old"):
                await bot.answer_callback_query("query-1")
            assert await bot.set_webhook(
                "https://loyalty.example/webhooks/telegram",
                secret_token="s3cret_token-1",
                allowed_updates=["message", "callback_query", "my_chat_member"],
            )
            info = await bot.get_webhook_info()
            assert info.url == "https://loyalty.example/webhooks/telegram"
            assert info.allowed_updates == ("message", "callback_query", "my_chat_member")
            with pytest.raises(telegram.error.BadRequest, match="(?i)https url"):
                await bot.set_webhook("http://insecure.example/hook")
            assert await bot.set_my_commands([("points", "My points"), ("tier", "My tier")])
            assert [c.command for c in await bot.get_my_commands()] == ["points", "tier"]
            photo = await bot.send_photo(42, photo=b"\x89PNG fake image", caption="Your card")
            assert photo.caption == "Your card" and photo.photo

    run(scenario())
    assert fake_telegram.webhook["secret_token"] == "s3cret_token-1"
    assert fake_telegram.calls("sendPhoto")[0].params["photo"]["size"] == len(b"\x89PNG fake image")


@ignore_ptb_timedelta_warning
def test_the_rate_limit_answers_429_beyond_the_limit() -> None:
    with FakeTelegramBotAPI(rate_limit_per_second=5) as limited:

        async def scenario() -> list[float]:
            waits = []
            async with bot_for(limited) as bot:
                for index in range(7):
                    try:
                        await bot.send_message(index + 1, "promo")
                    except telegram.error.RetryAfter as error:
                        waits.append(seconds(error.retry_after))
            return waits

        waits = run(scenario())
        assert waits == [1.0, 1.0]
        assert sum(call.ok for call in limited.calls("sendMessage")) == 5


def test_concurrent_clients_are_all_recorded_with_unique_message_ids(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    url = f"{fake_telegram.url}/bot{TELEGRAM_TOKEN}/sendMessage"
    ids: list[int] = []

    def client(chat_id: int) -> None:
        with httpx.Client(timeout=10) as http:
            for index in range(25):
                answer = http.post(url, data={"chat_id": chat_id, "text": f"m{index}"}).json()
                ids.append(answer["result"]["message_id"])

    threads = [threading.Thread(target=client, args=(chat,)) for chat in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(ids) == len(set(ids)) == 200
    assert len(fake_telegram.calls("sendMessage")) == 200
    assert fake_telegram.wait_for(lambda: len(fake_telegram.messages_to(3)) == 25, timeout=1)
    with pytest.raises(TimeoutError):
        fake_telegram.wait_for(lambda: False, timeout=0.2)


def test_update_builders_parse_as_ptb_updates(telegram_updates: TelegramUpdates) -> None:
    command = telegram.Update.de_json(telegram_updates.command(42, "start", "INVITE_123"), None)
    tap = telegram.Update.de_json(telegram_updates.callback_query(42, "claim:7"), None)
    blocked = telegram.Update.de_json(telegram_updates.my_chat_member(42, "kicked"), None)
    unblocked = telegram.Update.de_json(telegram_updates.my_chat_member(42, "member"), None)

    assert command.message is not None and command.message.text == "/start INVITE_123"
    assert command.message.parse_entities(["bot_command"]) == {
        command.message.entities[0]: "/start"
    }
    assert tap.callback_query is not None and tap.callback_query.data == "claim:7"
    assert tap.update_id == command.update_id + 1
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert unblocked.my_chat_member is not None
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    assert blocked.effective_user is not None and blocked.effective_user.id == 42


# ---- LINE -------------------------------------------------------------------------------


def test_async_client_pushes_and_the_fake_records_one_delivery(fake_line: FakeLineAPI) -> None:
    async def scenario() -> None:
        configuration = Configuration(host=fake_line.url, access_token=LINE_ACCESS_TOKEN)
        async with AsyncApiClient(configuration) as client:
            api = AsyncMessagingApi(client)
            quick = QuickReply(
                items=[QuickReplyItem(action=MessageAction(label="Points", text="/points"))]
            )
            answer = await api.push_message(
                PushMessageRequest(to="Uaaa", messages=[TextMessage(text="hi", quick_reply=quick)])
            )
            assert len(answer.sent_messages) == 1
            fake_line.fail_next("/message/push", 500)
            with pytest.raises(ApiException) as error:
                await api.push_message(PushMessageRequest(to="Uaaa", messages=[text("again")]))
            assert error.value.status == 500

    run(scenario())
    assert [(d.kind, d.to) for d in fake_line.deliveries()] == [("push", "Uaaa")]
    assert fake_line.messages_to("Uaaa")[0]["quickReply"]["items"][0]["action"]["text"] == "/points"
    assert fake_line.texts_to("Uaaa") == ["hi"]


def test_a_reply_token_works_once(fake_line: FakeLineAPI) -> None:
    token = fake_line.issue_reply_token("Ubbb")
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("one")]))
        with pytest.raises(ApiException) as error:
            api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("two")]))
        with pytest.raises(ApiException) as unknown:
            api.reply_message(ReplyMessageRequest(reply_token="made-up", messages=[text("x")]))

    assert error.value.status == 400 and "Invalid reply token" in error.value.body
    assert unknown.value.status == 400
    assert [(d.kind, d.to) for d in fake_line.deliveries()] == [("reply", "Ubbb")]
    assert fake_line.texts_to("Ubbb") == ["one"]


def test_a_repeated_retry_key_answers_409_and_delivers_once(fake_line: FakeLineAPI) -> None:
    key = str(uuid.uuid4())
    request = MulticastRequest(to=["U1", "U2", "U3"], messages=[text("Double points today")])
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        api.multicast(request, x_line_retry_key=key)
        with pytest.raises(ApiException) as error:
            api.multicast(request, x_line_retry_key=key)

    first = fake_line.calls("/multicast")[0]
    assert error.value.status == 409
    assert json.loads(error.value.body) == {"message": "The retry key is already accepted"}
    assert error.value.headers["x-line-accepted-request-id"] == first.request_id
    assert Counter(d.to for d in fake_line.deliveries("multicast")) == {"U1": 1, "U2": 1, "U3": 1}
    assert fake_line.total_usage == 3


def test_a_5xx_after_delivery_then_a_retry_with_the_same_key_delivers_once(
    fake_line: FakeLineAPI,
) -> None:
    fake_line.fail_next("/message/push", 503, after_delivery=True)
    key = str(uuid.uuid4())
    request = PushMessageRequest(to="Uccc", messages=[text("Your coupon")])
    statuses = []
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        for _ in range(2):
            try:
                api.push_message(request, x_line_retry_key=key)
                statuses.append(200)
            except ApiException as error:
                statuses.append(error.status)
        with pytest.raises(ApiException) as invalid:
            api.push_message(request, x_line_retry_key="campaign-7-chunk-1")

    assert statuses == [503, 409]
    assert invalid.value.status == 400  # LINE wants a UUID
    assert len(fake_line.deliveries()) == 1


def test_multicast_beyond_500_ids_is_400(fake_line: FakeLineAPI) -> None:
    # The SDK refuses 501 ids itself, so post the body directly.
    body = {
        "to": [f"U{index}" for index in range(501)],
        "messages": [{"type": "text", "text": "x"}],
    }
    answer = httpx.post(
        f"{fake_line.url}/v2/bot/message/multicast",
        json=body,
        headers={"Authorization": f"Bearer {LINE_ACCESS_TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.json()["details"] == [
        {"message": "Size must be between 1 and 500", "property": "to"}
    ]
    assert fake_line.deliveries() == []


def test_bad_message_bodies_and_tokens_are_refused(fake_line: FakeLineAPI) -> None:
    too_long = QuickReply(items=[QuickReplyItem(action=MessageAction(label="x" * 21, text="y"))])
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        with pytest.raises(ApiException) as error:
            api.push_message(
                PushMessageRequest(to="U1", messages=[TextMessage(text="", quick_reply=too_long)])
            )
    wrong_token = Configuration(host=fake_line.url, access_token="wrong")
    with ApiClient(wrong_token) as client, pytest.raises(ApiException) as unauthorized:
        MessagingApi(client).get_message_quota()

    assert error.value.status == 400
    assert {d["property"] for d in json.loads(error.value.body)["details"]} == {
        "messages[0].text",
        "messages[0].quickReply.items[0].action.label",
    }
    assert unauthorized.value.status == 401
    assert fake_line.deliveries() == []


def test_quota_and_consumption_count_recipients_and_replies_are_free(
    fake_line: FakeLineAPI,
) -> None:
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        api.multicast(MulticastRequest(to=["U1", "U2"], messages=[text("a"), text("b")]))
        api.push_message(PushMessageRequest(to="U1", messages=[text("c")]))
        token = fake_line.issue_reply_token("U1")
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[text("d")]))
        quota = api.get_message_quota()
        consumption = api.get_message_quota_consumption()

    assert (quota.type, quota.value) == ("limited", 500)
    assert consumption.total_usage == 3


def test_a_blocked_user_is_not_reached_and_their_profile_is_gone(fake_line: FakeLineAPI) -> None:
    fake_line.block("Ublocked")
    with line_api(fake_line) as client:
        api = MessagingApi(client)
        api.push_message(PushMessageRequest(to="Ublocked", messages=[text("hi")]))
        api.multicast(MulticastRequest(to=["Ublocked", "Uok"], messages=[text("promo")]))
        with pytest.raises(ApiException) as profile:
            api.get_profile("Ublocked")
        assert api.get_profile("Uok").user_id == "Uok"

    assert profile.value.status == 404
    assert [d.to for d in fake_line.deliveries()] == ["Uok"]
    with FakeLineAPI(blocked_push_status=400) as strict:
        strict.block("Ublocked")
        with line_api(strict) as client, pytest.raises(ApiException) as error:
            MessagingApi(client).push_message(
                PushMessageRequest(to="Ublocked", messages=[text("hi")])
            )
        assert error.value.status == 400 and "Failed to send messages" in error.value.body


def test_a_rich_menu_is_created_uploaded_and_linked(fake_line: FakeLineAPI) -> None:
    menu = RichMenuRequest(
        size=RichMenuSize(width=2500, height=843),
        selected=True,
        name="gold tier",
        chat_bar_text="Menu",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=1250, height=843),
                action=PostbackAction(label="Points", data="points"),
            )
        ],
    )
    with line_api(fake_line) as client:
        api, blob = MessagingApi(client), MessagingApiBlob(client)
        rich_menu_id = api.create_rich_menu(menu).rich_menu_id
        with pytest.raises(ApiException) as too_early:
            api.link_rich_menu_id_to_user("Ugold", rich_menu_id)
        png = {"Content-Type": "image/png"}
        blob.set_rich_menu_image(rich_menu_id, body=b"\x89PNG", _headers=png)
        api.link_rich_menu_id_to_user("Ugold", rich_menu_id)
        api.set_default_rich_menu(rich_menu_id)
        listed = api.get_rich_menu_list().richmenus

    assert too_early.value.status == 400
    assert fake_line.rich_menu_of("Ugold") == rich_menu_id
    assert [m.name for m in listed] == ["gold tier"]


def test_the_messages_per_second_limit_answers_429() -> None:
    with FakeLineAPI(messages_per_second=3) as limited, line_api(limited) as client:
        api = MessagingApi(client)
        api.multicast(MulticastRequest(to=["U1", "U2", "U3"], messages=[text("a")]))
        with pytest.raises(ApiException) as error:
            api.push_message(PushMessageRequest(to="U4", messages=[text("b")]))
        assert error.value.status == 429
        assert len(limited.deliveries()) == 3


def test_signed_events_round_trip_through_the_webhook_parser(line_events: LineEvents) -> None:
    follow = line_events.follow("Umember")
    events = [
        follow,
        line_events.text("Umember", "/points"),
        line_events.postback("Umember", "claim:7"),
        line_events.unfollow("Umember"),
    ]
    raw, headers = line_events.signed(LINE_CHANNEL_SECRET, *events)

    parsed = WebhookParser(LINE_CHANNEL_SECRET).parse(raw.decode(), headers["X-Line-Signature"])

    assert [type(event) for event in parsed] == [
        FollowEvent,
        MessageEvent,
        PostbackEvent,
        UnfollowEvent,
    ]
    assert isinstance(parsed[1].message, TextMessageContent)
    assert parsed[1].message.text == "/points"
    assert parsed[2].postback.data == "claim:7"
    assert parsed[0].source.user_id == "Umember"
    assert parsed[0].webhook_event_id == follow["webhookEventId"]
    assert parsed[0].delivery_context.is_redelivery is False
    assert line_signature(LINE_CHANNEL_SECRET, raw) == headers["X-Line-Signature"]
    with pytest.raises(InvalidSignatureError):
        WebhookParser("another-secret").parse(raw.decode(), headers["X-Line-Signature"])
    again = redelivered(follow)
    assert again["webhookEventId"] == follow["webhookEventId"]
    assert again["deliveryContext"]["isRedelivery"] is True


def test_reply_tokens_in_built_events_are_accepted_by_the_fake(
    fake_line: FakeLineAPI, line_events: LineEvents
) -> None:
    event = line_events.text("Umember", "/points")
    with line_api(fake_line) as client:
        MessagingApi(client).reply_message(
            ReplyMessageRequest(reply_token=event["replyToken"], messages=[text("120 points")])
        )
    assert fake_line.texts_to("Umember") == ["120 points"]
    assert LineEvents().body()["events"] == []


# ---- as separate processes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "path", "headers"),
    [
        ("tests.fakes.telegram", f"/bot{TELEGRAM_TOKEN}/getMe", {}),
        ("tests.fakes.line", "/v2/bot/info", {"Authorization": "Bearer any"}),
    ],
)
def test_each_fake_runs_as_a_process_and_prints_its_url(
    module: str, path: str, headers: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=20)
        assert lines and lines[0].startswith("http://127.0.0.1:"), process.stderr
        url = lines[0].strip()
        assert httpx.get(url + path, headers=headers, timeout=5).status_code == 200
        recorded = httpx.get(f"{url}/_fake/calls", timeout=5).json()["calls"]
        assert len(recorded) == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
