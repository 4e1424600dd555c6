"""Hypothesis strategies for Telegram webhook bodies: valid updates, broken JSON, wrong
shapes, unknown update kinds, and valid updates with one field replaced by junk."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.fakes.webhooks import TelegramUpdates

UPDATE_KINDS = (
    "message", "edited_message", "callback_query", "my_chat_member", "channel_post",
    "edited_channel_post", "inline_query", "poll", "poll_answer", "chat_member",
    "chat_join_request", "message_reaction", "business_message", "purchased_paid_media",
)  # fmt: skip

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _valid_updates(user_id: int) -> list[dict[str, Any]]:
    updates = TelegramUpdates()
    user = updates.user(user_id, first_name="Mei", language_code="en")
    return [
        updates.command(user, "start", "ABCD2345"),
        updates.message(user, "hello"),
        updates.callback_query(user, "cmd:points"),
        updates.my_chat_member(user, "kicked"),
        updates.my_chat_member(user, "member"),
    ]


@st.composite
def valid_updates(draw: st.DrawFn) -> dict[str, Any]:
    user_id = draw(st.integers(min_value=1, max_value=2**40))
    update = draw(st.sampled_from(_valid_updates(user_id)))
    update["update_id"] = draw(st.integers(min_value=0, max_value=2**31))
    return update


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


@st.composite
def mutated_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A valid update with one field (anywhere, update_id included) replaced or removed."""
    update = copy.deepcopy(draw(valid_updates()))
    path = draw(st.sampled_from(_paths(update)))
    parent = update
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return update


@st.composite
def odd_shapes(draw: st.DrawFn) -> dict[str, Any]:
    """Objects with an update_id of any type and an update kind of any shape."""
    body: dict[str, Any] = {"update_id": draw(json_values)}
    kind = draw(st.sampled_from(UPDATE_KINDS) | st.text(max_size=12))
    body[kind] = draw(json_values)
    return body


def encoded(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return strategy.map(lambda value: json.dumps(value).encode())


webhook_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
    encoded(json_values),
    encoded(odd_shapes()),
    encoded(mutated_updates()),
    encoded(valid_updates()),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"update"',
            b"{}",
            b'{"update_id": NaN}',
            b'{"update_id": 1, "x": Infinity}',
            b'{"update_id": 1, "message": {"text": "\\u0000"}}',
            b'{"update_id": 1, "message": {"text": "\\ud800"}}',
            b"[" * 100_000,
            b'{"update_id": 1' + b', "a": 1' * 10 + b"}",
            b'{"update_id": ' + b"9" * 5000 + b"}",
            b"\xff\xfe{}",
        ]
    ),
)
