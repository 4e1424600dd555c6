"""LINE rich menus: `loyalty line richmenu` against the fake Messaging API, and members
relinked to their tier's menu the moment their tier changes — on both databases."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest
from typer.testing import CliRunner

import tests.fakes.fixtures as fake_fixtures
from adapters.line import LineApiError, LineChannel, menu_image
from bot.app import Services
from bot.cli import app as cli
from core.chat import Button
from core.purchases import record_purchase
from core.tiers import saved_menus
from tests.channels import line_harness
from tests.channels.line_harness import LineApp, wait_until
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET
from tests.fakes.line import FakeLineAPI
from tests.support.members import new_member

fake_line = fake_fixtures.fake_line
line_app = line_harness.line_app

GOLD, BASIC, TELEGRAM_ONLY = "U" + "90" * 16, "U" + "ba" * 16, "tg-42"
TIERS = ("basic", "silver", "gold", "vip")


@pytest.fixture
def line_env(monkeypatch: pytest.MonkeyPatch, services: Services, fake_line: FakeLineAPI) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", services.database.url)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", LINE_CHANNEL_SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", LINE_ACCESS_TOKEN)
    monkeypatch.setenv("LINE_API_URL", fake_line.url)


def buy(services: Services, member_id: int, amount: int, order: str) -> None:
    with services.database.session() as session:
        record_purchase(
            session,
            clock=services.clock,
            programme=services.programme,
            member_id=member_id,
            amount=amount,
            order_id=order,
        )


def menus(services: Services) -> dict[str, str]:
    with services.database.reader() as session:
        return saved_menus(session, channel="line")


def png_size(image: bytes) -> tuple[int, int]:
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image[16:24])
    return width, height


def test_the_cli_creates_a_default_and_a_menu_per_tier_and_links_members(
    services: Services, fake_line: FakeLineAPI, line_env: None
) -> None:
    gold = new_member(services.database, services.clock, services.programme, GOLD, channel="line")
    new_member(services.database, services.clock, services.programme, BASIC, channel="line")
    new_member(
        services.database, services.clock, services.programme, TELEGRAM_ONLY, channel="telegram"
    )
    buy(services, gold, 25_000, "POS-1")

    result = CliRunner().invoke(cli, ["line", "richmenu"])

    assert result.exit_code == 0, result.output
    stored = menus(services)
    assert set(stored) == {"default", *(f"tier:{code}" for code in TIERS)}
    made = fake_line.messaging.rich_menus.menus
    assert set(made) == set(stored.values())
    assert fake_line.messaging.rich_menus.default == stored["default"]
    for menu in made.values():
        assert png_size(menu.image or b"") == (2500, 843)
        assert len(menu.definition["chatBarText"]) <= 14
        actions = [area["action"] for area in menu.definition["areas"]]
        assert [a["data"] for a in actions] == [
            "cmd:points", "cmd:coupons", "cmd:tier", "cmd:checkin", "cmd:survey", "cmd:invite"
        ]  # fmt: skip
        assert actions[0]["displayText"] == "我的點數"
    assert fake_line.rich_menu_of(GOLD) == stored["tier:gold"]
    assert fake_line.rich_menu_of(BASIC) == stored["tier:basic"]
    assert fake_line.rich_menu_of(TELEGRAM_ONLY) is None
    assert "tier:gold" in result.output


def test_running_it_again_keeps_the_menus_unless_told_to_replace_them(
    services: Services, fake_line: FakeLineAPI, line_env: None
) -> None:
    new_member(services.database, services.clock, services.programme, GOLD, channel="line")
    runner = CliRunner()
    assert runner.invoke(cli, ["line", "richmenu"]).exit_code == 0
    first = menus(services)

    again = runner.invoke(cli, ["line", "richmenu"])
    assert again.exit_code == 0 and "exist already" in again.output
    assert menus(services) == first and len(fake_line.messaging.rich_menus.menus) == 5

    replaced = runner.invoke(cli, ["line", "richmenu", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    second = menus(services)
    assert set(second.values()).isdisjoint(first.values())
    assert set(fake_line.messaging.rich_menus.menus) == set(second.values())  # old ones gone
    assert fake_line.rich_menu_of(GOLD) == second["tier:basic"]


def test_an_own_image_is_uploaded_and_a_bad_token_exits_1(
    services: Services, fake_line: FakeLineAPI, line_env: None, tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    picture = tmp_path / "menu.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0 brand artwork")
    assert CliRunner().invoke(cli, ["line", "richmenu", "--image", str(picture)]).exit_code == 0
    images = {m.image_type for m in fake_line.messaging.rich_menus.menus.values()}
    assert images == {"image/jpeg"}

    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "revoked-token")
    refused = CliRunner().invoke(cli, ["line", "richmenu", "--replace"])
    assert refused.exit_code == 1 and "401" in refused.output


def test_the_cli_says_what_is_missing_without_line_settings(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", services.database.url)
    monkeypatch.delenv("LINE_CHANNEL_SECRET", raising=False)
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["line", "richmenu"])
    assert result.exit_code == 2 and "LINE_CHANNEL_ACCESS_TOKEN" in result.output


def test_the_quota_command_shows_what_is_used(fake_line: FakeLineAPI, line_env: None) -> None:
    result = CliRunner().invoke(cli, ["line", "quota"])
    assert result.exit_code == 0, result.output
    assert "0 used of 500, 500 left" in result.output


def test_the_running_app_relinks_a_member_the_moment_their_tier_changes(
    line_app: LineApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = line_app
    app.join(GOLD)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", app.services.database.url)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", LINE_CHANNEL_SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", LINE_ACCESS_TOKEN)
    monkeypatch.setenv("LINE_API_URL", app.fake.url)
    assert CliRunner().invoke(cli, ["line", "richmenu"]).exit_code == 0
    stored = menus(app.services)
    assert app.fake.rich_menu_of(GOLD) == stored["tier:basic"]

    member_id = app.member(GOLD).id
    assert member_id is not None
    buy(app.services, member_id, 6_000, "POS-7")  # crosses silver (5,000)
    wait_until(lambda: app.fake.rich_menu_of(GOLD) == stored["tier:silver"], 10, "silver menu")
    buy(app.services, member_id, 20_000, "POS-8")  # and now gold (20,000)
    wait_until(lambda: app.fake.rich_menu_of(GOLD) == stored["tier:gold"], 10, "gold menu")


def test_the_adapter_links_one_user_and_reports_an_unknown_menu(fake_line: FakeLineAPI) -> None:
    async def scenario() -> str:
        channel = LineChannel(
            channel_secret=LINE_CHANNEL_SECRET,
            access_token=LINE_ACCESS_TOKEN,
            api_url=fake_line.url,
        )
        await channel.start()
        try:
            menu_id = await channel.create_rich_menu(
                name="test",
                chat_bar_text="Menu",
                buttons=[Button("Points", "cmd:points"), Button("Site", url="https://e.x")],
                image=menu_image(["Points", "Site"], title="Test"),
            )
            await channel.link_rich_menu(GOLD, menu_id)
            with pytest.raises(LineApiError) as unknown:
                await channel.link_rich_menu(GOLD, "richmenu-missing")
            assert unknown.value.status == 404
            return menu_id
        finally:
            await channel.close()

    menu_id = asyncio.run(scenario())
    assert fake_line.rich_menu_of(GOLD) == menu_id
    areas = fake_line.messaging.rich_menus.menus[menu_id].definition["areas"]
    assert [a["action"]["type"] for a in areas] == ["postback", "uri"]
    assert [a["bounds"]["width"] for a in areas] == [1250, 1250]
