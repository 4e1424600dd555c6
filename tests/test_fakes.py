"""The fake Telegram Bot API against the real python-telegram-bot 22; both fakes as processes."""

from __future__ import annotations

import datetime as dtm
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

import tests.fakes.fixtures as fake_fixtures
from tests.fakes import (
    FakeTelegramBotAPI,
    TelegramUpdates,
)
from tests.fakes.clients import bot_for, ignore_ptb_timedelta_warning, run
from tests.fakes.fixtures import TELEGRAM_TOKEN

fake_telegram = fake_fixtures.fake_telegram
fake_line = fake_fixtures.fake_line
line_events = fake_fixtures.line_events
telegram_updates = fake_fixtures.telegram_updates

ROOT = Path(__file__).parent.parent
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="claim:42")]])


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


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
