"""Benchmark B2 (DESIGN §8): a flash sale. LOYALTY_B2_MEMBERS (default 10,000) signed-up
members each tap the claim button of one coupon with stock LOYALTY_B2_STOCK (default 500),
once, as Telegram webhook updates (callback queries) through our server on PostgreSQL.

The same processes as B1 (webhook_load.py): our server (`loyalty serve`, web only, send
limits out of the way), the fake Bot API, PostgreSQL, and this process as the load
generator at LOYALTY_B2_CONCURRENCY (default 32) connections. A short warm-up of `/coupons`
from other members (looking at the offer before the sale) precedes the taps. For a claim
our server answers the callback query in the webhook's answer (Telegram makes that call at
once, and so does this load generator, at the fake), then sends one message: the coupon,
or "sold out". The tap's answer latency is when the member's button stops spinning.

Prints: webhook accept rate and answer p50/p99; replies at the fake (one sendMessage per
member, and the answerCallbackQuery calls); end-to-end latency p50/p99, tap to the
member's message at the fake; the time from the first tap to the last reply; the grants
in the database, the stock left, and where the granted taps were in the posting order
(first come, first served?). And the baseline of DESIGN §7, measured in the same
run: B1's bare python-telegram-bot echo webhook on the same stack, posted the same
callback-query bodies (it sends one message per update and answers no callback query),
with the ratios ours/baseline for replies/s and end-to-end p99.

Asserted, of our server: every post answered 200; exactly STOCK grants in the database (its stock
counter agrees) and no member with two; every member got exactly one message and had their
tap answered; the members the database granted got their coupon's code, everyone else the
sold-out message. Of the baseline: each post it accepted echoed once. Nothing on time.
"""

from __future__ import annotations

import html
import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from bot.dialogs.coupons import claim_payloads
from bot.i18n import LOCALES, catalog
from core.coupons import define_coupon, remaining_stock
from core.kernel import Database, SystemClock
from core.models import ChannelIdentity, CouponDefinition, CouponGrant, InboundUpdate
from core.programme import CouponRule
from tests.bench.webhook_load import (
    Call,
    FakeBotProcess,
    Post,
    Posted,
    drive,
    fake_bot,
    fake_capacity,
    load_average,
    loyalty_server,
    ms,
    percentile,
    ptb_echo,
    reply_latencies,
)
from tests.campaigns.population import add_people, people
from tests.fakes.fixtures import TELEGRAM_TOKEN
from tests.fakes.webhooks import TelegramUpdates
from tests.support.databases import truncate_all

MEMBERS = int(os.environ.get("LOYALTY_B2_MEMBERS", "10000"))
STOCK = int(os.environ.get("LOYALTY_B2_STOCK", "500"))
CONCURRENCY = int(os.environ.get("LOYALTY_B2_CONCURRENCY", "32"))
WORKERS = int(os.environ.get("LOYALTY_B2_WORKERS", "1"))  # server processes
WARM_UP_SECONDS = 2.0
WARM_UP_MEMBERS = 500  # numbered after the buyers: they look, they do not claim
COUPON = "FLASH100"


@dataclass(frozen=True)
class Sale(Posted):
    """What one webhook server did with the taps."""

    messages: list[Call]  # sendMessage calls the fake answered 200
    callback_answers: int  # answerCallbackQuery calls the fake answered 200
    latencies: list[float]  # tap to the member's message at the fake
    strays: int  # messages that answer no tap

    @property
    def last_reply(self) -> float:
        return max(message.at for message in self.messages)

    def reply_rate(self) -> float:
        """Members answered a second, from the first tap to the last reply."""
        return len(self.latencies) / (self.last_reply - self.started)

    def line(self, name: str) -> str:
        answers = [post.answered_in for post in self.accepted]
        return (
            f"  {name}: {len(self.posts):,} taps posted, {len(self.accepted):,} accepted "
            f"({self.accept_rate():,.0f}/s; webhook answer p50 {ms(percentile(answers, 0.5))}, "
            f"p99 {ms(percentile(answers, 0.99))}); {len(self.messages):,} messages and "
            f"{self.callback_answers:,} answerCallbackQuery at the fake; "
            f"{len(self.latencies):,} members answered ({self.reply_rate():,.0f}/s; end to end "
            f"p50 {ms(percentile(self.latencies, 0.5))}, p99 {ms(percentile(self.latencies, 0.99))}"
            f"); last reply {self.last_reply - self.started:,.1f} s after the first tap"
        )


def define_flash_coupon(database: Database) -> str:
    """The coupon on sale, defined as the admin API does; returns its claim button's data."""
    rule = CouponRule(
        code=COUPON,
        title={"zh-TW": "限時搶購折100元", "en": "Flash sale: NT$100 off"},
        kind="amount_off",
        value=100,
        stock=STOCK,
        per_member_limit=1,
        valid_days=7,
    )
    with database.session() as session:
        define_coupon(session, clock=SystemClock(), rule=rule, source="api")
    with database.reader() as session:
        return claim_payloads(session, [COUPON])[COUPON]


def taps(user_ids: list[int], builder: TelegramUpdates, data: str) -> list[tuple[str, bytes]]:
    """Each member's one tap on the claim button under the bot's /coupons message."""
    return [
        (
            str(user_id),
            json.dumps(
                builder.callback_query(
                    TelegramUpdates.user(user_id, first_name=f"Member {user_id}"),
                    data,
                    message_id=2,
                    message_text=catalog("zh-TW")["coupons.offers_heading"],
                )
            ).encode(),
        )
        for user_id in user_ids
    ]


def lookers(user_ids: list[int], builder: TelegramUpdates) -> Iterator[tuple[str, bytes]]:
    """`/coupons` from the warm-up members, round and round."""
    for user_id in itertools.cycle(user_ids):
        who = TelegramUpdates.user(user_id, first_name=f"Member {user_id}")
        yield str(user_id), json.dumps(builder.command(who, "coupons")).encode()


def run_sale(
    url: str,
    fake: FakeBotProcess,
    warm_up: Iterator[tuple[str, bytes]],
    bodies: list[tuple[str, bytes]],
) -> Sale:
    """The warm-up, then every tap once; the fake is reset in between and after."""
    warm = drive(url, warm_up, concurrency=CONCURRENCY, seconds=WARM_UP_SECONDS)
    fake.wait_for_sends(sum(1 for post in warm if post.status == 200))
    fake.reset()
    bot_api = f"{fake.url}/bot{TELEGRAM_TOKEN}"  # Telegram makes the calls webhooks answer
    posts = drive(url, iter(bodies), concurrency=CONCURRENCY, bot_api=bot_api)
    messages = fake.wait_for_sends(sum(1 for post in posts if post.status == 200))
    answers = sum(
        1 for call in fake.calls() if call.method == "answerCallbackQuery" and call.status == 200
    )
    fake.reset()
    latencies, strays = reply_latencies(posts, messages)
    return Sale(posts, messages, answers, latencies, strays)


def granted_codes(database: Database) -> tuple[dict[str, list[str]], int, int]:
    """{Telegram chat: the codes it was granted}, the stock left, and the stock counter."""
    with database.reader() as session:
        definition = session.exec(
            select(CouponDefinition).where(CouponDefinition.code == COUPON)
        ).one()
        rows = session.exec(
            select(ChannelIdentity.platform_user_id, CouponGrant.code)
            .join(ChannelIdentity, col(ChannelIdentity.member_id) == col(CouponGrant.member_id))
            .where(
                CouponGrant.definition_id == definition.id, ChannelIdentity.channel == "telegram"
            )
        ).all()
    codes: dict[str, list[str]] = {}
    for chat, code in rows:
        codes.setdefault(chat, []).append(code)
    left = remaining_stock(definition)
    assert left is not None  # the coupon has a stock
    return codes, left, definition.claimed


def inbox_outcomes(database: Database) -> str:
    """How the server's inbox ended: updates by status, and how many needed a retry."""
    with database.reader() as session:
        rows = session.exec(
            select(
                InboundUpdate.status,
                sa.func.count(),
                sa.func.count().filter(col(InboundUpdate.attempts) > 1),
            ).group_by(InboundUpdate.status)
        ).all()
    return ", ".join(f"{count:,} {status} ({retried:,} retried)" for status, count, retried in rows)


def first_served(posts: list[Post], granted: set[str]) -> str:
    """Where the granted members' taps came in the posting order (1 is the first tap):
    first come, first served would be 1–STOCK, give or take the taps handled together."""
    order = sorted(posts, key=lambda post: post.sent_at)
    ranks = [rank for rank, post in enumerate(order, start=1) if post.chat in granted]
    return f"{min(ranks):,}–{max(ranks):,}" if ranks else "none"


def sorted_replies(replies: dict[str, str]) -> tuple[set[str], set[str]]:
    """The chats whose message (HTML) is a claimed coupon, and those told it sold out."""

    def opens_with(text: str, key: str) -> bool:
        return any(
            text.startswith(html.escape(catalog(locale)[key], quote=False)) for locale in LOCALES
        )

    coupons = {chat for chat, text in replies.items() if opens_with(text, "coupons.claimed")}
    sold_out = {
        chat for chat, text in replies.items() if opens_with(text, "error.coupon.out_of_stock")
    }
    return coupons, sold_out


@pytest.mark.timeout(3600)
def test_b2_flash_sale_over_telegram_webhooks(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("postgres_schema_url")
    truncate_all(url)
    database = Database(url)
    buyers = people(MEMBERS, channel=lambda n: "telegram")
    watchers = people(WARM_UP_MEMBERS, start=MEMBERS + 1, channel=lambda n: "telegram")
    add_people(database, buyers + watchers, now=datetime.now(UTC))
    data = define_flash_coupon(database)
    builder = TelegramUpdates(bot_id=int(TELEGRAM_TOKEN.split(":")[0]))
    bodies = taps([int(person.user_id) for person in buyers], builder, data)
    watcher_ids = [int(person.user_id) for person in watchers]
    print(
        f"\nB2 flash sale over Telegram webhooks on PostgreSQL: {MEMBERS:,} members tap "
        f"{data!r} once, stock {STOCK:,}, {CONCURRENCY} connections, {WORKERS} server "
        f"process(es), after a "
        f"{WARM_UP_SECONDS:g} s warm-up of /coupons; {load_average()}",
        flush=True,
    )
    with fake_bot(tmp_path) as fake:
        capacity = fake_capacity(fake, concurrency=CONCURRENCY)
        with loyalty_server(url, fake, tmp_path, workers=WORKERS) as webhook:
            ours = run_sale(webhook, fake, lookers(watcher_ids, builder), bodies)
        print(ours.line("ours"), flush=True)
        with ptb_echo(fake, tmp_path) as webhook:
            base = run_sale(webhook, fake, lookers(watcher_ids, builder), bodies)
        print(base.line("PTB echo"), flush=True)
    codes, left, claimed = granted_codes(database)
    inbox = inbox_outcomes(database)
    database.dispose()
    replies = {message.chat: message.text for message in ours.messages}
    coupon_replies, sold_out = sorted_replies(replies)
    p99_ours, p99_base = percentile(ours.latencies, 0.99), percentile(base.latencies, 0.99)
    print(
        f"  database: {sum(map(len, codes.values())):,} grants to {len(codes):,} members, "
        f"stock counter {claimed:,}, {left:,} left; replies: {len(coupon_replies):,} coupons, "
        f"{len(sold_out):,} sold out, {len(replies) - len(coupon_replies) - len(sold_out):,} "
        f"other; grants to taps {first_served(ours.posts, set(codes))} in posting order; "
        f"our inbox (warm-up included): {inbox}",
        flush=True,
    )
    print(
        f"  ratio ours/baseline: replies/s {ours.reply_rate() / base.reply_rate():.2f}, "
        f"end-to-end p99 {p99_ours / p99_base:.1f}×; the fake alone takes {capacity:,.0f} "
        f"sendMessage/s from this load generator; {load_average()}",
        flush=True,
    )
    assert ours.statuses == Counter({200: MEMBERS}), ours.statuses
    assert (len(ours.latencies), ours.strays) == (MEMBERS, 0)
    # The yardstick only has to echo what it accepted: its background sends pile up
    # unbounded, and at 10,000 taps a post or two may outwait the generator's timeout.
    assert (len(base.latencies), base.strays) == (len(base.accepted), 0)
    expected = min(STOCK, MEMBERS)
    assert (sum(map(len, codes.values())), claimed) == (expected, expected)
    assert [chat for chat, held in codes.items() if len(held) > 1] == []
    assert ours.callback_answers == MEMBERS
    assert coupon_replies == set(codes)
    assert all(held[0] in replies[chat] for chat, held in codes.items())
    assert sold_out == set(replies) - set(codes)
