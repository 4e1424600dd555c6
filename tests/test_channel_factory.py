"""Channels are built in one factory (bot/app/channels.py), and nothing else branches on a
channel's name (issue 11, "One way to do each thing").

The tree is read with `ast`: a TelegramChannel or LineChannel is constructed only by the
factory, an SDK client or a send limiter only inside its adapter; a comparison, lookup or
subscript with "telegram"/"line" appears only where the name itself is the point. Then the
factory's functions are run: what they build, and that building touches no network.
"""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.fakes.fixtures as fake_fixtures
from adapters.line import LineChannel
from adapters.telegram import TelegramChannel
from bot.app import (
    Settings,
    SettingsError,
    build_channels,
    enabled_channels,
    line_channel,
    quota_channels,
    remember_bot_username,
    telegram_channel,
)
from bot.line import LineQuota, read_line_quota, read_message_quotas
from tests.fakes.fixtures import (
    LINE_ACCESS_TOKEN,
    LINE_CHANNEL_SECRET,
    TELEGRAM_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
)
from tests.fakes.line import FakeLineAPI
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.unanswering import UnansweringServer

fake_line = fake_fixtures.fake_line
fake_telegram = fake_fixtures.fake_telegram

ROOT = Path(__file__).parent.parent
TOPS = ("core", "bot", "adapters")
FACTORY = "bot/app/channels.py"
CHANNEL_NAMES = {"telegram", "line"}

# Where "telegram"/"line" is compared or looked up because the name itself is the point.
NAME_IS_THE_POINT = {
    FACTORY: "the factory: which name is which channel",
    "bot/app/settings.py": "LOYALTY_ADMINS entries name their channel (telegram:123)",
}
# Left for the packages' owners in issue 11 (both read LINE's quota by name; with
# bot.line.read_message_quotas the preview loops over the channels that count one).
PENDING = {
    "bot/cli/campaigns.py": "`loyalty campaign preview`: by_channel['line'], channels['line']",
    "bot/dialogs/campaigns/commands.py": "/broadcast preview: 'line' in channels",
}


def sources() -> Iterator[tuple[str, ast.AST]]:
    for top in TOPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def constructed(names: set[str]) -> dict[str, set[str]]:
    """Which of these names are called in which module."""
    found: dict[str, set[str]] = {}
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called_name(node) in names:
                found.setdefault(path, set()).add(called_name(node) or "")
    return found


def names_a_channel(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in CHANNEL_NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(names_a_channel(element) for element in node.elts)
    return False


def name_branches(tree: ast.AST) -> list[str]:
    """`x == "line"`, `"line" in channels`, `channels["line"]`, `channels.get("line")`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            hit = names_a_channel(node.left) or any(map(names_a_channel, node.comparators))
        elif isinstance(node, ast.Subscript):
            is_type = isinstance(node.value, ast.Name) and node.value.id == "Literal"
            hit = names_a_channel(node.slice) and not is_type
        elif isinstance(node, ast.Call) and called_name(node) in ("get", "pop"):
            hit = bool(node.args) and names_a_channel(node.args[0])
        else:
            hit = False
        if hit:
            found.append(f"{getattr(node, 'lineno', '?')}: {ast.unparse(node)}")
    return found


# ---- the tree -------------------------------------------------------------------------------


def test_only_the_factory_constructs_a_telegram_or_line_channel() -> None:
    assert constructed({"TelegramChannel", "LineChannel"}) == {
        FACTORY: {"TelegramChannel", "LineChannel"}
    }


def test_sdk_clients_and_send_limiters_are_built_inside_their_adapter_only() -> None:
    """The factory hands an adapter its settings; the adapter makes its SDK client and its
    own limiter in `start()`. A limit shared across processes is the factory's (the admin
    API keeps its own per-token one)."""
    clients = {"Bot", "ExtBot", "AsyncApiClient", "ApiClient", "ChatRateLimiter", "TokenBucket"}
    outside = {path for path in constructed(clients) if not path.startswith("adapters/")}
    assert outside == set()
    assert set(constructed({"SharedRateLimiter"})) <= {FACTORY, "bot/api/ratelimit.py"}


def test_nothing_outside_the_factory_branches_on_a_channel_s_name() -> None:
    branches = {
        path: found
        for path, tree in sources()
        if path not in NAME_IS_THE_POINT and path not in PENDING
        if (found := name_branches(tree))
    }
    assert branches == {}


def test_the_name_branch_scan_sees_each_kind_of_branch() -> None:
    source = 'a == "line"\n"telegram" in b\nc["line"]\nd.get("telegram", 0)\ne in ("line",)\n'
    assert len(name_branches(ast.parse(source))) == 5
    assert name_branches(ast.parse('f: Literal["telegram", "line"]\ng = {"line": 1}')) == []


# ---- what the factory builds ----------------------------------------------------------------


def both_on(
    telegram_api: str = "http://127.0.0.1:9/bot", line_api: str = "http://127.0.0.1:9"
) -> Settings:
    return Settings(
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=TELEGRAM_WEBHOOK_SECRET,
        telegram_api_url=telegram_api,
        line_channel_secret=LINE_CHANNEL_SECRET,
        line_channel_access_token=LINE_ACCESS_TOKEN,
        line_api_url=line_api,
    )


def line_on(line_api: str) -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        line_channel_secret=LINE_CHANNEL_SECRET,
        line_channel_access_token=LINE_ACCESS_TOKEN,
        line_api_url=line_api,
    )


def nothing_on() -> Settings:
    """No channel, whatever the environment or a .env file says."""
    return Settings(
        _env_file=None,
        telegram_bot_token=None,
        telegram_webhook_secret=None,
        line_channel_secret=None,
        line_channel_access_token=None,
    )


def test_the_settings_switch_on_the_channels_the_factory_builds_by_name() -> None:
    channels = build_channels(both_on())
    assert enabled_channels(both_on()) == ("telegram", "line") == tuple(channels)
    assert isinstance(channels["telegram"], TelegramChannel)
    assert isinstance(channels["line"], LineChannel)
    assert [name for name, channel in channels.items() if channel.name != name] == []

    assert enabled_channels(line_on("http://127.0.0.1:9")) == ("line",)
    assert enabled_channels(nothing_on()) == () and build_channels(nothing_on()) == {}


def test_building_every_channel_touches_no_network(
    fake_telegram: FakeTelegramBotAPI, fake_line: FakeLineAPI
) -> None:
    settings = both_on(f"{fake_telegram.url}/bot", fake_line.url)
    build_channels(settings)
    telegram_channel(settings), line_channel(settings), quota_channels(settings, timeout=1)
    assert fake_telegram.calls() == [] and fake_line.calls() == []


def test_a_channel_asked_for_while_its_settings_are_off_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        telegram_channel(nothing_on())
    with pytest.raises(SettingsError, match="LINE_CHANNEL_ACCESS_TOKEN"):
        line_channel(nothing_on())
    assert quota_channels(nothing_on(), timeout=1) == {}


def test_a_started_telegram_channel_tells_the_settings_the_bot_s_username(
    fake_telegram: FakeTelegramBotAPI,
) -> None:
    settings = both_on(f"{fake_telegram.url}/bot")
    channels = build_channels(settings)
    telegram = channels["telegram"]

    async def started() -> None:
        await telegram.start()
        try:
            remember_bot_username(settings, channels)
        finally:
            await telegram.close()

    asyncio.run(started())
    assert settings.telegram_bot_username == "loyalty_test_bot"


# ---- the quota read: a quick, short-lived client from the factory ---------------------------


def test_the_quota_is_read_per_channel_that_counts_one(fake_line: FakeLineAPI) -> None:
    assert read_message_quotas(line_on(fake_line.url)) == {"line": LineQuota(limit=500, used=0)}
    assert read_line_quota(line_on(fake_line.url)) == LineQuota(limit=500, used=0)
    assert read_message_quotas(nothing_on()) == {} and read_line_quota(nothing_on()) is None


def test_an_unanswered_quota_read_gives_up_after_one_try_within_its_time_limit() -> None:
    with UnansweringServer(hang_up=False) as silent:
        started = time.monotonic()
        assert read_message_quotas(line_on(silent.url), timeout=0.5) == {"line": None}
        assert time.monotonic() - started < 5  # one try, not the app's five with backoff
        assert silent.requests_to("/v2/bot/message/quota") == 1
