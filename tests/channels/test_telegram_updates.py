"""Telegram updates → channel-neutral messages, and the webhook secret (no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram import TelegramChannel
from core.chat import BadUpdate
from tests.channels.telegram_bodies import mutated_updates, odd_shapes, webhook_bodies
from tests.fakes.webhooks import TelegramUpdates

SECRET = "the-webhook-secret_1"
CHANNEL = TelegramChannel(token="1:x", webhook_secret=SECRET, api_url="http://127.0.0.1:9/bot")
UPDATES = TelegramUpdates()
MEI = UPDATES.user(42, first_name="Mei", language_code="zh-hant")


def body(update: Any) -> bytes:
    return json.dumps(update).encode()


def incoming(update: dict[str, Any]):  # type: ignore[no-untyped-def]
    [item] = CHANNEL.split(body(update))
    assert item.update_id == str(update["update_id"])
    assert item.payload == update
    assert item.user_key == "telegram:42"
    return CHANNEL.to_incoming(item.payload)


def test_the_secret_header_must_match_exactly() -> None:
    header = "X-Telegram-Bot-Api-Secret-Token"
    assert CHANNEL.verify({header: SECRET}, b"{}")
    assert CHANNEL.verify({header.lower(): SECRET}, b"{}")
    for wrong in ("", SECRET.upper(), SECRET + " ", SECRET[:-1], "é" + SECRET):
        assert not CHANNEL.verify({header: wrong}, b"{}")
    assert not CHANNEL.verify({}, b"{}")
    no_secret = TelegramChannel(token="1:x", webhook_secret="")
    assert not no_secret.verify({header: ""}, b"{}")


def test_a_deep_link_start_gives_the_code_as_the_argument() -> None:
    message = incoming(UPDATES.command(MEI, "start", "ABCD2345"))
    assert message is not None
    assert (message.kind, message.command, message.args) == ("message", "start", ("ABCD2345",))
    assert (message.user_id, message.chat_id, message.address) == ("42", "42", "42")
    assert message.display_name == "Mei"
    assert message.language == "zh-hant"
    assert message.channel == "telegram"


def test_commands_addressed_to_the_bot_and_plain_text() -> None:
    sale = incoming(UPDATES.message(MEI, "/sale@loyalty_test_bot M000123 500 A-1"))
    assert sale is not None
    assert (sale.command, sale.args) == ("sale", ("M000123", "500", "A-1"))
    hello = incoming(UPDATES.message(MEI, "hello there"))
    assert hello is not None
    assert (hello.kind, hello.text, hello.command) == ("message", "hello there", None)


def test_every_update_carries_its_update_id_as_the_event_id() -> None:
    update = UPDATES.message(MEI, "hi", update_id=123456)
    message = incoming(update)
    assert message is not None and message.event_id == "123456"


def test_a_button_tap_carries_the_callback_data_and_the_query_id_to_answer() -> None:
    update = UPDATES.callback_query(MEI, "claim:WELCOME50", query_id="987654321")
    tap = incoming(update)
    assert tap is not None
    assert (tap.kind, tap.payload, tap.reply_token) == ("button", "claim:WELCOME50", "987654321")


def test_blocking_and_unblocking_the_bot() -> None:
    blocked = incoming(UPDATES.my_chat_member(MEI, "kicked"))
    unblocked = incoming(UPDATES.my_chat_member(MEI, "member"))
    assert blocked is not None and blocked.kind == "blocked"
    assert unblocked is not None and unblocked.kind == "unblocked"


def test_first_and_last_names_make_the_display_name() -> None:
    user = {**MEI, "last_name": "Lin"}
    message = incoming(UPDATES.message(user, "hi"))
    assert message is not None and message.display_name == "Mei Lin"


def test_a_photo_is_a_message_without_text_so_the_dialogs_answer_with_help() -> None:
    update = UPDATES.message(MEI, "")
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": "a", "file_unique_id": "b", "width": 90, "height": 90}
    ]
    update["message"]["caption"] = "look"
    photo = incoming(update)
    assert photo is not None
    assert (photo.kind, photo.text, photo.command) == ("message", "", None)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 5, "edited_message": UPDATES.message(MEI, "edit")["message"]},
        {
            "update_id": 6,
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -100, "type": "channel"},
                "text": "x",
            },
        },  # noqa: E501
        {
            "update_id": 7,
            "poll": {
                "id": "1",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        },  # noqa: E501
        {"update_id": 8, "something_new": {"a": 1}},
        {"update_id": 9},
    ],
    ids=["edited", "channel-post", "poll", "unknown-kind", "empty"],
)
def test_updates_we_do_not_serve_are_accepted_and_dropped(update: dict[str, Any]) -> None:
    assert CHANNEL.split(body(update)) == []


def test_group_chats_and_service_messages_are_not_served() -> None:
    group = UPDATES.command(MEI, "points")
    group["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Fans"}
    pinned = UPDATES.message(MEI, "")
    del pinned["message"]["text"]
    pinned["message"]["pinned_message"] = {
        "message_id": 1,
        "date": 0,
        "chat": MEI | {"type": "private"},
    }  # noqa: E501
    group_tap = UPDATES.callback_query(MEI, "cmd:points")
    group_tap["callback_query"]["message"]["chat"] = group["message"]["chat"]
    for update in (group, pinned, group_tap):
        assert CHANNEL.split(body(update)) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"a string"',
        b"42",
        b"{}",
        b'{"update_id": "1"}',
        b'{"update_id": true}',
        b'{"update_id": 1.0}',
        b'{"update_id": -1}',
        b'{"update_id": NaN}',
        b'{"update_id": 1, "message": "text"}',
        b'{"update_id": 1, "message": {}}',
        b'{"update_id": 1, "message": {"text": "\\u0000"}}',
        b"[" * 100_000,
    ],
)
def test_bodies_that_are_not_updates_are_refused(raw: bytes) -> None:
    with pytest.raises(BadUpdate):
        CHANNEL.split(raw)


def test_a_field_of_the_wrong_type_is_refused_not_crashed_on() -> None:
    update = UPDATES.message(MEI, "hi")
    update["message"]["text"] = 5
    with pytest.raises(BadUpdate):
        CHANNEL.split(body(update))
    update = UPDATES.message(MEI, "hi")
    update["message"]["from"]["id"] = "42"
    with pytest.raises(BadUpdate):
        CHANNEL.split(body(update))


@settings(max_examples=400)
@given(raw=webhook_bodies)
def test_any_body_is_split_or_refused_with_bad_update(raw: bytes) -> None:
    try:
        items = CHANNEL.split(raw)
    except BadUpdate:
        return
    for item in items:
        assert CHANNEL.to_incoming(item.payload) is not None
        json.dumps(item.payload, allow_nan=False).encode("utf-8")  # storable as JSON


@settings(max_examples=200)
@given(update=st.one_of(mutated_updates(), odd_shapes()))
def test_a_stored_update_of_any_shape_translates_or_is_ignored(update: dict[str, Any]) -> None:
    message = CHANNEL.to_incoming(update)  # never raises
    assert message is None or (message.channel, message.event_id) == (
        "telegram",
        str(update["update_id"]),
    )
