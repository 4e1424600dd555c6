"""`loyalty telegram set-webhook` and `webhook-info` against the fake Bot API."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

import tests.fakes.fixtures as fake_fixtures
from bot.cli import app
from bot.dialogs import TABLE
from tests.fakes.fixtures import TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fakes.telegram import FakeTelegramBotAPI

fake_telegram = fake_fixtures.fake_telegram


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LOYALTY_LOCALE", raising=False)


def loyalty(fake: FakeTelegramBotAPI, *args: str, **env: str) -> Result:
    environment = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_WEBHOOK_SECRET,
        "TELEGRAM_API_URL": f"{fake.url}/bot",
        **env,
    }
    return CliRunner().invoke(app, ["telegram", *args], env=environment)


def menu(fake: FakeTelegramBotAPI, language: str = "") -> dict[str, str]:
    return {c["command"]: c["description"] for c in fake.methods.commands[f"default:{language}"]}


def test_set_webhook_sets_url_secret_updates_and_the_command_menu_in_each_language(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    result = loyalty(fake_telegram, "set-webhook", "https://loyalty.example")

    assert result.exit_code == 0, result.output
    assert "https://loyalty.example/webhooks/telegram" in result.output
    webhook = fake_telegram.webhook
    assert webhook["url"] == "https://loyalty.example/webhooks/telegram"
    assert webhook["secret_token"] == TELEGRAM_WEBHOOK_SECRET
    assert webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert webhook["drop_pending_updates"] is False

    member_commands = set(TABLE.member_commands())
    assert set(menu(fake_telegram)) == member_commands
    assert not set(menu(fake_telegram)) & {"sale", "grant", "stats", "use", "member"}
    assert menu(fake_telegram)["points"] == "我的點數"  # zh-TW is the default
    assert menu(fake_telegram, "zh")["points"] == "我的點數"
    assert menu(fake_telegram, "en")["points"] == "My points"
    assert list(menu(fake_telegram))[:2] == ["start", "points"]
    # every command has a real description, not the "/name" fallback
    assert not any(text.startswith("/") for text in menu(fake_telegram, "en").values())


def test_a_full_webhook_url_is_kept_and_the_default_menu_follows_the_locale(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    url = "https://bots.example/loyalty/webhooks/telegram"
    result = loyalty(fake_telegram, "set-webhook", url, LOYALTY_LOCALE="en")
    assert result.exit_code == 0, result.output
    assert fake_telegram.webhook["url"] == url
    assert menu(fake_telegram)["points"] == "My points"


def test_webhook_info_prints_what_telegram_knows(fake_telegram: FakeTelegramBotAPI) -> None:
    loyalty(fake_telegram, "set-webhook", "https://loyalty.example")
    result = loyalty(fake_telegram, "webhook-info")
    assert result.exit_code == 0, result.output
    assert "url: https://loyalty.example/webhooks/telegram" in result.output
    assert "allowed_updates: message, callback_query, my_chat_member" in result.output
    assert "pending_update_count: 0" in result.output


def test_telegram_refusing_the_webhook_exits_1_with_its_reason(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    result = loyalty(fake_telegram, "set-webhook", "http://insecure.example")
    assert result.exit_code == 1
    assert "https url must be provided" in result.output.lower()
    assert fake_telegram.webhook == {}


def test_without_a_token_it_says_what_to_set(fake_telegram: FakeTelegramBotAPI) -> None:
    result = CliRunner().invoke(app, ["telegram", "webhook-info"])
    assert result.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in result.output
    assert fake_telegram.calls() == []
