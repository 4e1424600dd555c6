"""The app served over real HTTP with the LINE channel pointed at the fake Messaging API.

Tests post signed webhook bodies (as LINE sends them) to /webhooks/line and read what the
fake received through line-bot-sdk. Every wait is bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.web import create_app
from core.kernel import Clock, Database
from core.models import ChannelIdentity, Member
from core.programme import Programme
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET
from tests.fakes.line import FakeLineAPI
from tests.fakes.webhooks import LineEvents
from tests.support.server import serving

T = TypeVar("T")
WEBHOOK = "/webhooks/line"
COUNTED_TABLES = ("inbound_update", "member", "channel_identity", "event")


def line_settings(database_url: str, fake: FakeLineAPI) -> Settings:
    return Settings(
        database_url=database_url,
        line_channel_secret=LINE_CHANNEL_SECRET,
        line_channel_access_token=LINE_ACCESS_TOKEN,
        line_api_url=fake.url,
    )


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(0.02)


@dataclass
class LineApp:
    """The served app, an HTTP client for it, the fake LINE API, event builders, services."""

    url: str
    client: httpx.Client
    fake: FakeLineAPI
    events: LineEvents
    services: Services

    def post(self, *events: Any, secret: str = LINE_CHANNEL_SECRET) -> httpx.Response:
        """Post events in one body, signed with `secret` as LINE signs it."""
        body, headers = self.events.signed(secret, *events)
        return self.client.post(WEBHOOK, content=body, headers=headers)

    def deliver(self, *events: Any) -> httpx.Response:
        response = self.post(*events)
        assert response.status_code == 200, response.text
        return response

    def texts(self, user: str) -> list[str]:
        """The text (or a Flex card's altText) of each message delivered to `user`."""
        return self.fake.texts_to(user)

    def wait_texts(self, user: str, count: int, timeout: float = 10.0) -> list[str]:
        self.fake.wait_for(lambda: len(self.fake.texts_to(user)) >= count, timeout=timeout)
        return self.texts(user)[:count]

    def quick_replies(self, user: str) -> list[dict[str, Any]]:
        """The quick-reply actions under the last message delivered to `user`."""
        message = self.fake.messages_to(user)[-1]
        return [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]

    def postback_data(self, user: str, label: str) -> str:
        """The data of the first postback (quick reply or Flex button) whose label contains
        `label`, newest message first."""
        for message in reversed(self.fake.messages_to(user)):
            for action in _actions(message):
                if action.get("type") == "postback" and label.lower() in action["label"].lower():
                    return str(action["data"])
        raise AssertionError(f"no postback {label!r} in the messages to {user}")

    def exchange(self, event: Any, user: str | None = None) -> str:
        """Deliver one event and wait for the answer to its sender: the texts (a Flex
        card's altText) of the messages of that answer, joined."""
        user = user or event["source"]["userId"]
        before = len([d for d in self.fake.deliveries() if d.to == user])
        self.deliver(event)
        self.fake.wait_for(
            lambda: len([d for d in self.fake.deliveries() if d.to == user]) > before
        )
        self.settled()
        new = [d for d in self.fake.deliveries() if d.to == user][before:]
        return "\n".join(str(m.get("text", m.get("altText", ""))) for d in new for m in d.messages)

    def say(self, user: str, text: str) -> str:
        return self.exchange(self.events.text(user, text))

    def tap(self, user: str, label: str) -> str:
        """Tap the newest postback (quick reply or Flex button) whose label has `label`."""
        return self.exchange(self.events.postback(user, self.postback_data(user, label)))

    def settled(self, timeout: float = 10.0) -> None:
        wait_until(lambda: self.count_pending() == 0, timeout, "inbox drained")

    def count_pending(self) -> int:
        return self.scalar(
            "select count(*) from inbound_update where status in ('received', 'processing')"
        )

    def count(self, table: str) -> int:
        return self.scalar(f"select count(*) from {table}")

    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in COUNTED_TABLES}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.services.database.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar_one()

    def identity(self, user: str) -> ChannelIdentity:
        with self.services.database.reader() as session:
            return session.exec(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == "line", ChannelIdentity.platform_user_id == user
                )
            ).one()

    def member(self, user: str) -> Member:
        member_id = self.identity(user).member_id
        with self.services.database.reader() as session:
            found = session.get(Member, member_id)
        assert found is not None
        return found

    def join(self, user: str) -> None:
        """Follow the account, then tap the consent quick reply: a signed-up member."""
        before = len(self.texts(user))
        self.deliver(self.events.follow(user))
        self.wait_texts(user, before + 1)
        self.deliver(self.events.postback(user, self.postback_data(user, "同意")))
        self.fake.wait_for(lambda: self.member(user).signed_up if self.has_member(user) else False)
        self.settled()

    def has_member(self, user: str) -> bool:
        sql = (
            "select count(*) from channel_identity where channel = 'line' and platform_user_id = :u"
        )
        return bool(self.scalar(sql, u=user))


def _actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every action in a message: quick replies and buttons anywhere in a Flex message."""
    found = [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("action"), dict):
                found.append(node["action"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("contents"))
    return found


@contextmanager
def line_app_on(
    db: Database, clock: Clock, programme: Programme, fake: FakeLineAPI
) -> Iterator[LineApp]:
    """`loyalty serve`'s app on the test database, LINE on, `fake` as the Messaging API."""
    services = Services(
        settings=line_settings(db.url, fake), database=db, programme=programme, clock=clock
    )
    sync_programme(services)
    with serving(create_app(services)) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield LineApp(
            url=url,
            client=client,
            fake=fake,
            events=LineEvents(reply_tokens=fake),
            services=services,
        )


@pytest.fixture
def line_app(
    db: Database, clock: Clock, programme: Programme, fake_line: FakeLineAPI
) -> Iterator[LineApp]:
    with line_app_on(db, clock, programme, fake_line) as app:
        yield app


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()
