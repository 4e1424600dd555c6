"""Sending on LINE through line-bot-sdk 3 to the fake Messaging API: reply token first, push
with retry keys, 429 waits, 5xx retries, blocked users, multicast chunks and the quota."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

import tests.fakes.fixtures as fake_fixtures
from adapters.line import LineChannel
from bot.app import Services
from bot.inbound import Messenger
from core.chat import Button, Card, Reply, SendResult
from core.models import Member
from tests.channels import line_harness
from tests.channels.line_harness import LineApp, line_app_on
from tests.fakes.fixtures import LINE_ACCESS_TOKEN, LINE_CHANNEL_SECRET
from tests.fakes.line import FakeLineAPI
from tests.fakes.webhooks import LineEvents
from tests.support.members import new_member

fake_line = fake_fixtures.fake_line
line_app = line_harness.line_app
T = TypeVar("T")

MEI, KAI = "U" + "a1" * 16, "U" + "b2" * 16


def line_channel(fake: FakeLineAPI, **options: Any) -> LineChannel:
    options.setdefault("backoff", 0.01)
    return LineChannel(
        channel_secret=LINE_CHANNEL_SECRET,
        access_token=options.pop("access_token", LINE_ACCESS_TOKEN),
        api_url=fake.url,
        **options,
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, timeout=60))


def with_channel(channel: LineChannel, work: Callable[[LineChannel], Awaitable[T]]) -> T:
    async def scenario() -> T:
        await channel.start()
        try:
            return await work(channel)
        finally:
            await channel.close()

    return run(scenario())


def send(fake: FakeLineAPI, to: str, reply: Reply, **options: Any) -> SendResult:
    channel = line_channel(fake, **options.pop("channel", {}))
    return with_channel(channel, lambda c: c.send(to, reply, **options))


# ---- reply first, push otherwise ------------------------------------------------------------


def test_a_reply_uses_the_token_and_parts_beyond_five_are_pushed(fake_line: FakeLineAPI) -> None:
    token = fake_line.issue_reply_token(MEI)
    reply = Reply(
        texts=[f"part {n}" for n in range(1, 8)],
        buttons=[Button("Points", "cmd:points")],
    )

    result = send(fake_line, MEI, reply, reply_token=token, retry_key="update-1")

    assert result.status == "sent"
    assert [(d.kind, len(d.messages)) for d in fake_line.deliveries()] == [
        ("reply", 5),
        ("push", 2),
    ]
    assert fake_line.texts_to(MEI) == [f"part {n}" for n in range(1, 8)]
    messages = fake_line.messages_to(MEI)
    assert [m.get("quickReply") is not None for m in messages] == [False] * 6 + [True]
    assert fake_line.total_usage == 1  # the push counts; the reply is free


def test_a_used_token_falls_back_to_a_push(fake_line: FakeLineAPI) -> None:
    token = fake_line.issue_reply_token(MEI)
    assert send(fake_line, MEI, Reply.text("first"), reply_token=token).ok
    assert send(fake_line, MEI, Reply.text("second"), reply_token=token, retry_key="k").ok
    assert [d.kind for d in fake_line.deliveries()] == ["reply", "push"]
    assert [c.status for c in fake_line.calls("/message/reply")] == [200, 400]


def test_a_reply_that_fails_with_5xx_is_pushed_instead(fake_line: FakeLineAPI) -> None:
    token = fake_line.issue_reply_token(MEI)
    fake_line.fail_next("/message/reply", 500)
    assert send(fake_line, MEI, Reply.text("hello"), reply_token=token, retry_key="k").ok
    assert [d.kind for d in fake_line.deliveries()] == ["push"]


# ---- acceptance 4: retries, waits, blocked users ---------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_a_push_failing_after_delivery_is_retried_with_the_same_key_and_delivered_once(
    fake_line: FakeLineAPI, status: int
) -> None:
    fake_line.fail_next("/message/push", status, after_delivery=True)

    result = send(fake_line, MEI, Reply.text("Your coupon"), retry_key="notice-7-0")

    calls = fake_line.calls("/message/push")
    assert result.status == "sent"
    assert [c.status for c in calls] == [status, 409]
    assert calls[0].retry_key == calls[1].retry_key and calls[0].retry_key is not None
    assert len(fake_line.deliveries()) == 1


def test_a_send_retried_later_with_the_same_key_is_not_delivered_twice(
    fake_line: FakeLineAPI,
) -> None:
    # The worker crashed after LINE accepted the push; the next attempt at the same update
    # sends again with the same retry_key.
    for _ in range(2):
        assert send(fake_line, MEI, Reply.text("Points added"), retry_key="update-42").ok
    assert [c.status for c in fake_line.calls("/message/push")] == [200, 409]
    assert len(fake_line.deliveries()) == 1


def test_a_push_failing_before_delivery_is_retried_until_it_goes_through(
    fake_line: FakeLineAPI,
) -> None:
    fake_line.fail_next("/message/push", 502, count=2)
    assert send(fake_line, MEI, Reply.text("hi"), retry_key="k").ok
    assert [c.status for c in fake_line.calls("/message/push")] == [502, 502, 200]
    assert len(fake_line.deliveries()) == 1


def test_endless_5xx_give_up_as_failed_after_the_bounded_attempts(fake_line: FakeLineAPI) -> None:
    fake_line.fail_next("/message/push", 500, count=10)
    result = send(fake_line, MEI, Reply.text("hi"), retry_key="k", channel={"attempts": 3})
    assert result.status == "failed" and "500" in result.detail
    assert len(fake_line.calls("/message/push")) == 3


@pytest.mark.parametrize("path", ["/message/push", "/message/reply"])
def test_429_with_retry_after_waits_and_then_succeeds(fake_line: FakeLineAPI, path: str) -> None:
    token = fake_line.issue_reply_token(MEI) if path.endswith("reply") else None
    fake_line.fail_next(path, 429, retry_after=1)

    started = time.monotonic()
    result = send(fake_line, MEI, Reply.text("hi"), reply_token=token, retry_key="k")

    assert result.ok and time.monotonic() - started >= 1.0
    assert [c.status for c in fake_line.calls(path)] == [429, 200]
    assert len(fake_line.deliveries()) == 1


def test_429_without_retry_after_backs_off_and_succeeds(fake_line: FakeLineAPI) -> None:
    fake_line.fail_next("/message/push", 429, count=2)
    assert send(fake_line, MEI, Reply.text("hi"), retry_key="k").ok
    assert [c.status for c in fake_line.calls("/message/push")] == [429, 429, 200]


def test_the_monthly_limit_fails_at_once_instead_of_waiting() -> None:
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, monthly_quota=1, enforce_quota=True) as fake:
        assert send(fake, MEI, Reply.text("one"), retry_key="a").ok
        result = send(fake, KAI, Reply.text("two"), retry_key="b")
        assert result.status == "failed" and "monthly limit" in result.detail
        assert len(fake.calls("/message/push")) == 2


@pytest.mark.parametrize("status", [400, 403])
def test_a_push_refused_for_a_blocked_user_is_blocked(status: int) -> None:
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, blocked_push_status=status) as fake:
        fake.block(MEI)
        assert send(fake, MEI, Reply.text("hi"), retry_key="k").status == "blocked"
        assert fake.deliveries() == []


def test_a_bad_request_is_failed_not_blocked(fake_line: FakeLineAPI) -> None:
    reply = Reply(texts=[Card(kind="generic", title="x")], buttons=[])
    fake_line.fail_next("/message/push", 400, message="The request body has 1 error(s)")
    result = send(fake_line, MEI, reply, retry_key="k")
    assert result.status == "failed" and "400" in result.detail


def test_a_wrong_access_token_fails_with_a_clear_log_line(
    fake_line: FakeLineAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="adapters.line.calls"):
        result = send(fake_line, MEI, Reply.text("hi"), channel={"access_token": "expired"})
    assert result.status == "failed" and "401" in result.detail
    assert "LINE_CHANNEL_ACCESS_TOKEN" in caplog.text
    assert len(fake_line.calls("/message/push")) == 1  # not retried


# ---- the messenger: unreachable members are never sent to again ------------------------------


def messenger_send(services: Services, fake: FakeLineAPI, member_id: int) -> SendResult:
    async def work(channel: LineChannel) -> SendResult:
        messenger = Messenger(services, {"line": channel})
        return await messenger.send_to_member(member_id, Reply.text("Double points today"))

    return with_channel(line_channel(fake), work)


@pytest.mark.parametrize("status", [400, 403])
def test_a_blocked_push_makes_the_member_unreachable_and_they_are_not_sent_to_again(
    services: Services, status: int
) -> None:
    member_id = new_member(
        services.database, services.clock, services.programme, MEI, channel="line"
    )
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, blocked_push_status=status) as fake:
        fake.block(MEI)
        first = messenger_send(services, fake, member_id)
        second = messenger_send(services, fake, member_id)
        pushes = len(fake.calls("/message/push"))

    assert first.status == "blocked"
    assert second.status == "failed" and "no reachable" in second.detail
    assert pushes == 1
    with services.database.reader() as session:
        member = session.get(Member, member_id)
    assert member is not None and member.unreachable


def test_an_unfollow_makes_the_member_unreachable_and_a_follow_again_reachable(
    line_app: LineApp,
) -> None:
    app = line_app
    app.join(MEI)
    member_id = app.member(MEI).id
    assert member_id is not None

    app.deliver(app.events.unfollow(MEI))
    app.settled()
    assert app.identity(MEI).unreachable and app.member(MEI).unreachable
    deliveries = len(app.fake.deliveries())
    result = messenger_send(app.services, app.fake, member_id)
    assert result.status == "failed" and len(app.fake.deliveries()) == deliveries

    app.deliver(app.events.follow(MEI, is_unblocked=True))
    app.settled()
    assert not app.identity(MEI).unreachable
    assert messenger_send(app.services, app.fake, member_id).ok


def test_a_webhook_answered_by_push_after_a_5xx_is_delivered_once(
    db: Any, clock: Any, programme: Any, fake_line: FakeLineAPI
) -> None:
    with line_app_on(db, clock, programme, fake_line) as app:
        app.join(MEI)
        stale = LineEvents().text(MEI, "/points")  # its reply token is unknown to LINE
        fake_line.fail_next("/message/push", 503, after_delivery=True)
        before = len(fake_line.deliveries())
        app.deliver(stale)
        app.settled()
        pushes = fake_line.calls("/message/push")

    assert [c.status for c in pushes] == [503, 409]
    assert pushes[0].retry_key == pushes[1].retry_key
    assert len(fake_line.deliveries()) == before + 1


# ---- campaigns: multicast and quota ----------------------------------------------------------


def test_multicast_sends_chunks_of_at_most_500_each_with_its_own_retry_key(
    fake_line: FakeLineAPI,
) -> None:
    users = [f"U{index:032x}" for index in range(1201)]
    fake_line.fail_next("/message/multicast", 500, after_delivery=True)

    results = with_channel(
        line_channel(fake_line),
        lambda c: c.multicast(users, Reply.text("Member day: double points"), retry_key="c-9"),
    )

    calls = fake_line.calls("/message/multicast")
    chunks = {c.retry_key: len(c.body["to"]) for c in calls}  # one entry per request
    assert list(chunks.values()) == [500, 500, 201]
    assert [c.status for c in calls[:2]] == [500, 409]  # the first chunk, retried once
    assert calls[0].retry_key == calls[1].retry_key
    assert Counter(d.to for d in fake_line.deliveries("multicast")) == Counter(users)
    assert {r.status for r in results.values()} == {"sent"} and len(results) == 1201


def test_a_repeated_multicast_after_a_crash_delivers_nothing_twice(fake_line: FakeLineAPI) -> None:
    users = [f"U{index:032x}" for index in range(600)]
    reply = Reply.text("Flash sale at noon")
    for _ in range(2):
        results = with_channel(
            line_channel(fake_line), lambda c: c.multicast(users, reply, retry_key="c-10")
        )
        assert {r.status for r in results.values()} == {"sent"}
    assert [c.status for c in fake_line.calls("/message/multicast")] == [200, 200, 409, 409]
    assert len(fake_line.deliveries("multicast")) == 600


def test_a_multicast_chunk_that_fails_for_good_is_failed_for_its_recipients_only(
    fake_line: FakeLineAPI,
) -> None:
    users = [f"U{index:032x}" for index in range(700)]
    fake_line.fail_next("/message/multicast", 500, count=3)
    results = with_channel(
        line_channel(fake_line, attempts=3),
        lambda c: c.multicast(users, Reply.text("x"), retry_key="c-11"),
    )
    statuses = Counter(result.status for result in results.values())
    assert statuses == {"failed": 500, "sent": 200}


def test_the_message_quota_counts_pushes_and_multicasts_not_replies(fake_line: FakeLineAPI) -> None:
    async def work(channel: LineChannel) -> tuple[int | None, int]:
        await channel.send(MEI, Reply.text("push"), retry_key="a")
        await channel.send(MEI, Reply.text("reply"), reply_token=fake_line.issue_reply_token(MEI))
        await channel.multicast([MEI, KAI], Reply.text("promo"), retry_key="b")
        return await channel.message_quota()

    assert with_channel(line_channel(fake_line), work) == (500, 3)
    with FakeLineAPI(access_token=LINE_ACCESS_TOKEN, monthly_quota=None) as unlimited:
        assert with_channel(line_channel(unlimited), lambda c: c.message_quota()) == (None, 0)
