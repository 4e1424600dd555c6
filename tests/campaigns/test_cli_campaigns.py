"""`loyalty campaign …` against the fake platforms: create an A/B campaign, preview it with
LINE's quota share, launch and send it, report, list, cancel; bad input exits non-zero."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from bot.app import Services
from tests.campaigns.harness import WEBHOOK_SECRET
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET, TELEGRAM_TOKEN
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.support.cli import loyalty


@pytest.fixture
def env(tmp_path, fake_telegram: FakeTelegramBotAPI, fake_line: FakeLineAPI) -> dict[str, str]:
    config = tmp_path / "loyalty.toml"
    config.write_text("[quiet_hours]\nstart = 00:00:00\nend = 00:00:00\n", encoding="utf-8")
    return {
        "LOYALTY_CONFIG": str(config),
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_URL": f"{fake_telegram.url}/bot",
        "LINE_CHANNEL_SECRET": LINE_CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_ACCESS_TOKEN,
        "LINE_API_URL": fake_line.url,
    }


def test_a_campaign_from_the_command_line(
    services: Services,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    fake_telegram: FakeTelegramBotAPI,
    fake_line: FakeLineAPI,
) -> None:
    add_people(services.database, people(30), now=datetime.now().astimezone())
    run = lambda *args: loyalty(monkeypatch, database_url, *args, **env)  # noqa: E731

    created = run(
        "campaign", "create", "--name", "Spring", "--text", "春季特賣", "--text-en", "Spring sale",
        "--ab-split", "40", "--text-b", "限時春季特賣", "--coupon", "COMEBACK100",
        "--metric", "claimed", "--stage", "interest",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    campaign_id = re.search(r"campaign (\d+) created \(draft\)", created.output)
    assert campaign_id, created.output
    number = campaign_id.group(1)

    preview = run("campaign", "preview", number)
    assert preview.exit_code == 0, preview.output
    assert "30 members" in preview.output
    assert "line: 15 messages" in preview.output and "telegram: 15 messages" in preview.output
    assert "15 of this month's 500 messages (3.0%)" in preview.output

    launched = run("campaign", "launch", number, "--send")
    assert launched.exit_code == 0, launched.output
    assert "run 1, 30 targeted" in launched.output
    assert len(fake_line.deliveries()) == 15 and len(fake_telegram.calls("sendMessage")) == 15
    assert "already launched" in run("campaign", "launch", number).output

    report = run("campaign", "report", number)
    assert report.exit_code == 0, report.output
    rows = {line.split("│")[1].strip(): line for line in report.output.splitlines()
            if line.count("│") > 5}  # fmt: skip
    assert set(rows) >= {"A", "B"}
    assert "no significant difference yet" in report.output

    listed = run("campaign", "list")
    assert "Spring" in listed.output and "done" in listed.output
    assert run("campaign", "cancel", number).exit_code == 1  # done: nothing to cancel


@pytest.mark.parametrize(
    "args",
    [
        ("--coupon", "NOPE"),
        ("--ab-split", "120", "--text-b", "b"),
        ("--audience", "[1]"),
        ("--at", "next tuesday"),
        ("--metric", "opened"),
    ],
)
def test_bad_campaign_options_are_refused(
    services: Services,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: tuple[str, ...],
) -> None:
    result = loyalty(monkeypatch, database_url, "campaign", "create", "--name", "x",
                     "--text", "hello", *args, **env)  # fmt: skip
    assert result.exit_code in (1, 2), result.output
    listed = loyalty(monkeypatch, database_url, "campaign", "list", **env)
    assert "hello" not in listed.output and "│ x " not in listed.output
