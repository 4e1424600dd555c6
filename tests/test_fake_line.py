"""The fake LINE Messaging API against the real line-bot-sdk 3."""

from __future__ import annotations

import datetime as dtm
import json
import uuid
from collections import Counter

import httpx
import pytest
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

import tests.fakes.fixtures as fake_fixtures
from tests.fakes import (
    FakeLineAPI,
    LineEvents,
    line_signature,
    redelivered,
)
from tests.fakes.clients import line_api, run, text
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET

fake_telegram = fake_fixtures.fake_telegram
fake_line = fake_fixtures.fake_line
line_events = fake_fixtures.line_events
telegram_updates = fake_fixtures.telegram_updates


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


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
