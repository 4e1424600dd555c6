"""Replies as Telegram messages: escaped HTML, as few messages as fit, keyboards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.telegram.render import (
    BUTTONS_ONLY_TEXT,
    MAX_MESSAGE_UNITS,
    TelegramMessage,
    render,
    utf16_units,
)
from core.chat import Button, Card, Reply
from tests.fakes._telegram_html import html_to_text


def visible(message: TelegramMessage) -> str:
    return html_to_text(message.html)  # raises, as Telegram would, on bad HTML


def labels(message: TelegramMessage) -> list[list[str]]:
    return [[button.label for button in row] for row in message.keyboard]


def test_dynamic_text_is_escaped_so_names_with_html_characters_read_as_typed() -> None:
    card = Card(
        kind="points",
        title="<b>Points</b>",
        subtitle="Mei <3 & Tom",
        highlight="1 < 2",
        fields=(("A&B", "<i>x</i>"),),
        footer="a > b",
    )
    [message] = render(Reply(texts=["Hi <script> & you", card]))
    assert "<script>" not in message.html and "&lt;script&gt; &amp; you" in message.html
    assert visible(message) == (
        "Hi <script> & you\n\n<b>Points</b>\nMei <3 & Tom\n1 < 2\nA&B: <i>x</i>\na > b"
    )


def test_a_card_is_a_bold_title_label_value_lines_and_a_progress_bar() -> None:
    card = Card(
        kind="tier",
        title="Gold",
        highlight="1,200 points",
        fields=(("Tier", "Gold"), ("Next", "VIP")),
        progress=0.5,
        progress_label="50%",
        footer="Keep going",
    )
    [message] = render(Reply(texts=[card]))
    assert message.html == (
        "<b>Gold</b>\n<b>1,200 points</b>\nTier: Gold\nNext: VIP\n▓▓▓▓▓░░░░░ 50%\n<i>Keep going</i>"
    )


def test_texts_and_cards_of_one_reply_share_one_message_with_the_buttons_under_it() -> None:
    reply = Reply(
        texts=["Welcome!", Card(kind="points", title="My points"), "Choose:"],
        buttons=[Button("Points", "cmd:points"), Button("Coupons", "cmd:coupons")],
    )
    [message] = render(reply)
    assert visible(message) == "Welcome!\n\nMy points\n\nChoose:"
    assert labels(message) == [["Points", "Coupons"]]


def test_short_labels_sit_two_to_a_row_long_ones_alone_and_card_buttons_come_first() -> None:
    card = Card(kind="coupon", title="Latte", buttons=(Button("Claim Latte", "claim:LATTE"),))
    reply = Reply(
        texts=[card],
        buttons=[
            Button("My points", "cmd:points"),
            Button("Claim the spend-500-save-100 coupon", "claim:SPEND500"),
            Button("Tier", "cmd:tier"),
            Button("Help", "cmd:help"),
            Button("Shop", url="https://shop.example/"),
        ],
    )
    [message] = render(reply)
    assert labels(message) == [
        ["Claim Latte", "My points"],
        ["Claim the spend-500-save-100 coupon"],
        ["Tier", "Help"],
        ["Shop"],
    ]
    assert message.keyboard[3][0].url == "https://shop.example/"


def test_chinese_labels_count_double_width() -> None:
    buttons = [Button("我的點數我的點數我的點數", "a"), Button("優惠券", "b"), Button("等級", "c")]
    [message] = render(Reply(texts=["選單"], buttons=buttons))
    assert labels(message) == [["我的點數我的點數我的點數"], ["優惠券", "等級"]]


def test_a_reply_of_only_buttons_still_has_text_to_hang_them_on() -> None:
    [message] = render(Reply(buttons=[Button("Join", "cmd:start")]))
    assert message.html == BUTTONS_ONLY_TEXT and labels(message) == [["Join"]]
    assert render(Reply()) == []
    assert render(Reply(texts=["", "\n"])) == []


def test_a_long_reply_is_split_between_parts_under_4096_with_buttons_on_the_last() -> None:
    parts = [f"part {index}: " + "x" * 1500 for index in range(5)]
    messages = render(Reply(texts=list(parts), buttons=[Button("OK", "ok")]))
    assert [visible(message) for message in messages] == [
        f"{parts[0]}\n\n{parts[1]}",
        f"{parts[2]}\n\n{parts[3]}",
        parts[4],
    ]
    assert [bool(message.keyboard) for message in messages] == [False, False, True]


def test_a_text_longer_than_a_message_is_cut_at_spaces_and_keeps_every_character() -> None:
    words = " ".join(f"w{index:04d}" for index in range(1800))  # ~10,800 characters
    messages = render(Reply(texts=[words]))
    assert len(messages) == 3
    assert all(utf16_units(visible(m)) <= MAX_MESSAGE_UNITS for m in messages)
    assert " ".join(visible(m) for m in messages) == words


def test_escaping_is_counted_as_the_visible_characters_it_shows() -> None:
    [message] = render(Reply(texts=["<" * 4000]))
    assert len(message.html) == 16000 and visible(message) == "<" * 4000


def test_emoji_count_as_two_utf16_units_as_telegram_counts_them() -> None:
    messages = render(Reply(texts=["🎉" * 3000]))
    assert [utf16_units(visible(m)) for m in messages] == [4096, 1904]
    assert "".join(visible(m) for m in messages) == "🎉" * 3000


def test_callback_data_is_limited_to_64_bytes_by_the_button_itself() -> None:
    Button("ok", "c" * 64)
    Button("ok", "點" * 21)  # 63 bytes in UTF-8
    with pytest.raises(ValueError):
        Button("too long", "c" * 65)
    with pytest.raises(ValueError):
        Button("too long", "點" * 22)  # 66 bytes
    with pytest.raises(ValueError):
        Button("empty", "")


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=3000)


@given(
    parts=st.lists(texts, max_size=6),
    title=st.text(max_size=300),
    fields=st.lists(st.tuples(st.text(max_size=50), st.text(max_size=2000)), max_size=4),
)
def test_any_reply_renders_as_valid_html_within_the_limit_losing_nothing(
    parts: list[str], title: str, fields: list[tuple[str, str]]
) -> None:
    card = Card(kind="generic", title=title or "T", fields=tuple(fields))
    messages = render(Reply(texts=[*parts, card], buttons=[Button("OK", "ok")]))
    shown = [visible(message) for message in messages]
    assert all(1 <= utf16_units(text) <= MAX_MESSAGE_UNITS for text in shown)
    joined = "".join(shown).replace("\n", "").replace(" ", "")
    expected = "".join(part for part in parts if part.strip("\n").strip())
    expected += (title or "T") + "".join(f"{label}: {value}" for label, value in fields)
    assert joined == expected.replace("\n", "").replace(" ", "")
    assert messages[-1].keyboard and not any(m.keyboard for m in messages[:-1])
