"""The LINE adapter without a network: webhook checks, events to incoming messages, and
replies rendered within LINE's limits in a shape line-bot-sdk accepts unchanged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from linebot.v3.messaging import ApiClient, Configuration, Message

from adapters.line import LineChannel
from adapters.line.render import render_reply, split_text, units
from core.chat import BadUpdate, Button, Card, Reply
from tests.fakes.webhooks import LineEvents, line_signature

SECRET = "render-test-secret"
USER = "U" + "7e" * 16
events = LineEvents()
channel = LineChannel(channel_secret=SECRET, access_token="token", api_url="http://127.0.0.1:9")
sdk = ApiClient(Configuration(access_token="token"))


def through_sdk(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the SDK would send it, after parsing it into its models."""
    return sdk.sanitize_for_serialization(Message.from_dict(message))


def card(kind: str = "points", **fields: Any) -> Card:
    fields.setdefault("title", "我的點數")
    return Card(kind=kind, **fields)  # type: ignore[arg-type]


# ---- webhooks ------------------------------------------------------------------------------


def test_verify_accepts_lines_signature_in_any_header_case() -> None:
    body = json.dumps(events.body(events.follow(USER))).encode()
    signature = line_signature(SECRET, body)
    assert channel.verify({"X-Line-Signature": signature}, body)
    assert channel.verify({"x-line-signature": signature}, body)
    assert not channel.verify({}, body)
    assert not channel.verify({"x-line-signature": signature}, body + b" ")
    assert not channel.verify({"x-line-signature": line_signature("other", body)}, body)


def test_split_gives_one_item_per_event_keyed_by_webhook_event_id() -> None:
    follow, text = events.follow(USER), events.text(USER, "hi")
    no_id = events.text(USER, "x")
    del no_id["webhookEventId"]
    body = json.dumps(events.body(follow, text, follow, no_id)).encode()

    items = channel.split(body)

    assert [item.update_id for item in items] == [follow["webhookEventId"], text["webhookEventId"]]
    assert items[0].payload == follow and items[0].user_key == f"line:{USER}"
    assert channel.split(b'{"destination": "U1", "events": []}') == []
    for bad in (b"", b"{", b"[]", b'{"events": null}', b'{"events": ["x"]}'):
        with pytest.raises(BadUpdate):
            channel.split(bad)


def test_events_become_incoming_messages() -> None:
    follow = channel.to_incoming(events.follow(USER))
    assert follow is not None and follow.kind == "follow" and follow.reply_token
    again = channel.to_incoming(events.follow(USER, is_unblocked=True))
    assert again is not None and again.kind == "unblocked"
    gone = channel.to_incoming(events.unfollow(USER))
    assert gone is not None and gone.kind == "unfollow" and gone.reply_token is None
    sale = channel.to_incoming(events.text(USER, "/sale M000123 500"))
    assert sale is not None and (sale.command, sale.args) == ("sale", ("M000123", "500"))
    word = channel.to_incoming(events.text(USER, "點數"))
    assert word is not None and word.command is None and word.text == "點數"
    tap = events.postback(USER, "claim:SPEND500SAVE100")
    button = channel.to_incoming(tap)
    assert button is not None and button.kind == "button"
    assert button.payload == "claim:SPEND500SAVE100"
    assert button.event_id == tap["webhookEventId"] and button.user_id == USER
    assert button.channel == "line" and button.received_at is not None


def test_group_room_standby_and_unknown_events_are_ignored() -> None:
    in_group = events.text(USER, "/points")
    in_group["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": USER}
    in_room = events.text(USER, "/points")
    in_room["source"] = {"type": "room", "roomId": "R" + "1" * 32, "userId": USER}
    standby = events.text(USER, "/points")
    standby["mode"] = "standby"
    standby_unfollow = events.unfollow(USER)
    standby_unfollow["mode"] = "standby"

    assert channel.to_incoming(in_group) is None
    assert channel.to_incoming(in_room) is None
    assert channel.to_incoming(standby) is None
    assert channel.to_incoming(events._event("beacon", USER)) is None
    assert channel.to_incoming({"type": "follow"}) is None
    kept = channel.to_incoming(standby_unfollow)  # a block still counts
    assert kept is not None and kept.kind == "unfollow"


# ---- rendering -----------------------------------------------------------------------------


def test_texts_cards_and_buttons_render_in_order_with_quick_replies_on_the_last() -> None:
    reply = Reply(
        texts=["Hello", card(highlight="1,200 點", fields=(("會員編號", "M000001"),))],
        buttons=[Button("Coupons", "cmd:coupons"), Button("Website", url="https://example.com")],
    )
    messages = render_reply(reply)

    assert [m["type"] for m in messages] == ["text", "flex", "text"]
    assert messages[1]["altText"] == "【我的點數】\n1,200 點\n會員編號: M000001"
    assert messages[2]["text"] == "Website: https://example.com"
    assert [m.get("quickReply") is not None for m in messages] == [False, False, True]
    [item] = messages[2]["quickReply"]["items"]
    assert item["action"] == {
        "type": "postback",
        "label": "Coupons",
        "data": "cmd:coupons",
        "displayText": "Coupons",
    }
    for message in messages:
        assert through_sdk(message) == message


@pytest.mark.parametrize("kind", ["points", "coupon", "tier", "member", "generic"])
def test_every_card_kind_is_a_flex_bubble_the_sdk_takes_unchanged(kind: str) -> None:
    rich = card(
        kind,
        subtitle="Mei",
        highlight="ABCD-2345" if kind == "coupon" else "Gold",
        fields=(("Benefits", "• 2× points\n• Birthday gift"), ("Empty", "")),
        progress=0.37,
        progress_label="NT$7,400 / NT$20,000",
        footer="Show this at the counter",
        buttons=(Button("Claim: NT$100 off NT$500", "claim:X"), Button("Map", url="https://m.e")),
    )
    [message] = render_reply(Reply(texts=[rich]))
    bubble = message["contents"]
    assert bubble["type"] == "bubble"
    assert '"width": "37%"' in json.dumps(bubble)
    assert [b["action"]["type"] for b in bubble["footer"]["contents"]] == ["postback", "uri"]
    assert "-" in json.dumps(bubble)  # the empty value shows as "-" (Flex refuses "")
    assert through_sdk(message) == message
    minimal = render_reply(Reply(texts=[card(kind)]))[0]
    assert through_sdk(minimal) == minimal


def test_cards_in_a_row_share_a_carousel_of_at_most_12() -> None:
    cards = [card("coupon", title=f"Coupon {n}") for n in range(13)]
    messages = render_reply(Reply(texts=["Coupons you can claim", *cards]))
    assert [m["type"] for m in messages] == ["text", "flex", "flex"]
    assert len(messages[1]["contents"]["contents"]) == 12
    assert messages[2]["contents"]["type"] == "bubble"
    assert len(messages[1]["altText"]) <= 400


def test_labels_are_cut_to_20_and_at_most_13_quick_replies_are_kept() -> None:
    buttons = [Button(f"Choice number {n} with a long label", f"pick:{n}") for n in range(15)]
    [message] = render_reply(Reply(texts=["Pick one"], buttons=buttons))
    items = message["quickReply"]["items"]
    assert len(items) == 13
    assert all(units(item["action"]["label"]) <= 20 for item in items)
    assert items[0]["action"]["label"] == "Choice number 0…"
    assert items[0]["action"]["displayText"] == "Choice number 0 with a long label"
    emoji = render_reply(Reply(texts=["x"], buttons=[Button("🎁" * 15, "gift")]))[0]
    assert units(emoji["quickReply"]["items"][0]["action"]["label"]) <= 20


def test_buttons_alone_still_get_a_message_to_carry_them() -> None:
    [message] = render_reply(Reply(buttons=[Button("Join", "cmd:start")]))
    assert message["type"] == "text" and message["text"] and message["quickReply"]


@given(st.text(min_size=1, max_size=12_000))
def test_long_texts_split_into_pieces_of_at_most_5000_that_keep_everything(text: str) -> None:
    pieces = split_text(text)
    assert all(units(piece) <= 5000 for piece in pieces)
    visible = "".join(char for char in text if not char.isspace())
    assert "".join(char for piece in pieces for char in piece if not char.isspace()) == visible


def test_a_long_text_breaks_after_a_line() -> None:
    text = ("x" * 99 + "\n") * 120
    pieces = split_text(text)
    assert [units(p) for p in pieces] == [5000, 5000, 2000]
    assert all(piece.endswith("\n") for piece in pieces)


def test_lines_own_address_leaves_each_call_to_its_sdk_host() -> None:
    # With Configuration(host=...) the SDK sends every call there, rich menu images (which
    # live on api-data.line.me) included; LINE's own address must therefore not be set.
    async def hosts() -> list[str | None]:
        found = []
        for url in ("https://api.line.me", "https://api.line.me/", "http://127.0.0.1:9/"):
            line = LineChannel(channel_secret=SECRET, access_token="token", api_url=url)
            await line.start()
            found.append(line.calls.api.api_client.configuration.host)
            await line.close()
        return found

    assert asyncio.run(hosts()) == [None, None, "http://127.0.0.1:9"]
