"""`loyalty serve` as a separate process with both channels configured against the fake
servers, driven over HTTP (issue 4, acceptance 7) — on both databases."""

from __future__ import annotations

from pathlib import Path

import httpx

import tests.fakes.fixtures as fake_fixtures
from tests.fakes.fixtures import (
    LINE_ACCESS_TOKEN,
    LINE_CHANNEL_SECRET,
    TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
)
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.webhooks import LineEvents, TelegramUpdates, telegram_headers
from tests.support.processes import clean_env, free_port, start_serve, stop, wait_until_healthy

fake_line = fake_fixtures.fake_line
fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates

MEI = "U" + "5e" * 16


def test_loyalty_serve_answers_line_and_telegram_webhooks(
    database_url: str,
    tmp_path: Path,
    fake_line: FakeLineAPI,
    fake_telegram: FakeTelegramBotAPI,
    telegram_updates: TelegramUpdates,
) -> None:
    port = free_port()
    env = clean_env(
        LOYALTY_DATABASE_URL=database_url,
        LINE_CHANNEL_SECRET=LINE_CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=LINE_ACCESS_TOKEN,
        LINE_API_URL=fake_line.url,
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{fake_telegram.url}/bot",
    )
    process = start_serve(tmp_path, port, env)
    base = f"http://127.0.0.1:{port}"
    events = LineEvents(reply_tokens=fake_line)
    try:
        wait_until_healthy(process, port)
        with httpx.Client(base_url=base, timeout=10) as client:
            body, headers = events.signed(LINE_CHANNEL_SECRET, events.follow(MEI))
            unsigned = {"Content-Type": "application/json"}
            assert client.post("/webhooks/line", content=body, headers=unsigned).status_code == 401
            assert client.post("/webhooks/line", content=body, headers=headers).status_code == 200
            fake_line.wait_for(lambda: len(fake_line.texts_to(MEI)) >= 2, timeout=15)
            consent = fake_line.messages_to(MEI)[-1]["quickReply"]["items"][0]["action"]["data"]
            body, headers = events.signed(LINE_CHANNEL_SECRET, events.postback(MEI, consent))
            assert client.post("/webhooks/line", content=body, headers=headers).status_code == 200
            fake_line.wait_for(lambda: len(fake_line.texts_to(MEI)) >= 3, timeout=15)

            update = telegram_updates.command(4242, "start")
            answer = client.post(
                "/webhooks/telegram", json=update, headers=telegram_headers(TELEGRAM_WEBHOOK_SECRET)
            )
            assert answer.status_code == 200
            fake_telegram.wait_for(lambda: fake_telegram.texts_to(4242), timeout=15)
    finally:
        stop(process)

    assert "歡迎加入" in fake_line.texts_to(MEI)[2]
    assert {d.kind for d in fake_line.deliveries()} == {"reply"}
