"""What demo members look like: Taiwanese names, phones, invite and coupon codes, comments.

Codes and phones come from the row's id through a bijection, so they look random yet never
repeat, also across `loyalty demo` runs on one database."""

from __future__ import annotations

import random
from itertools import accumulate

from core.coupons import CODE_ALPHABET, format_code
from core.members import INVITE_ALPHABET

DEMO_TAG = "demo"
DEMO_PREFIX = "demo-"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Repeats weight the common ones: about one in ten Taiwanese is a 陳, one in twelve a 林.
SURNAMES = "陳陳陳林林林黃黃張張李李王王吳吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周" + (
    "葉蘇莊呂江何蕭羅高潘簡朱鍾游彭詹胡施沈余盧梁趙顏柯"
)
GIVEN_NAMES = _words(
    "怡君 雅婷 家豪 志明 淑芬 宗翰 冠宇 詩涵 欣怡 俊傑 佳穎 承恩 思妤 宇軒 柏翰 雅雯 建宏 美玲 "
    "志豪 婉婷 子晴 品妍 彥廷 家瑋 靜怡 玉婷 怡婷 宏志 信宏 佩珊 郁婷 筱涵 凱文 哲瑋 心怡 芷晴 "
    "宥辰 品睿 昱廷 惠雯 秀英 麗華 志偉 文雄 嘉玲 曉雯 偉倫 柏宇"
)
NICKNAMES = _words("小美 阿豪 小安 Coco 咖啡控 貓奴 Momo 阿凱 小葉 Kiki 珊珊 Ben 拿鐵控 Yuki")
ENGLISH_GIVEN = _words(
    "Jason Vivian Kevin Amy Eric Grace Allen Iris Peter Tina Leo Joyce Ryan Emma Ivy Sam"
)
ENGLISH_SURNAMES = {"陳": "Chen", "林": "Lin", "黃": "Huang", "張": "Chang", "李": "Lee"}
ENGLISH_SURNAMES |= {"王": "Wang", "吳": "Wu", "劉": "Liu", "蔡": "Tsai", "楊": "Yang"}

CATEGORIES = ("coffee", "food", "dessert", "beans", "gift")
CATEGORY_ODDS = tuple(accumulate((55, 25, 12, 5, 3)))  # cumulative, for random.choices
COMMENTS = {
    "zh-TW": (
        "拿鐵很好喝！",
        "店員很親切",
        "希望座位多一點",
        "假日人太多了",
        "甜點可以再多一些選擇",
        "結帳速度可以快一點",
        "環境很舒服，會再來",
        "希望有燕麥奶",
        "點數很好累積",
        "冷氣有點冷",
    ),
    "en": (
        "Great latte!",
        "Friendly staff",
        "More seats, please",
        "Too busy at weekends",
        "Would love oat milk",
        "Cosy place, will come back",
    ),
}


def display_name(rng: random.Random, locale: str) -> str:
    """A name as a LINE or Telegram profile shows it: a full name, a nickname, or English."""
    surname = rng.choice(SURNAMES)
    roll = rng.random()
    if locale == "en" or roll < 0.12:
        family = ENGLISH_SURNAMES.get(surname, "Lin")
        return f"{rng.choice(ENGLISH_GIVEN)} {family}"
    if roll < 0.22:
        return rng.choice(NICKNAMES)
    return surname + rng.choice(GIVEN_NAMES)


def pick_category(rng: random.Random) -> str:
    return rng.choices(CATEGORIES, cum_weights=CATEGORY_ODDS)[0]


def _scramble(number: int, multiplier: int, offset: int, modulus: int) -> int:
    # An odd multiplier is invertible modulo a power of two (or of ten, if coprime to 10).
    return (number * multiplier + offset) % modulus


def _encode(value: int, alphabet: str, length: int) -> str:
    base = len(alphabet)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, base)
        chars.append(alphabet[digit])
    return "".join(chars)


def invite_code(member_id: int) -> str:
    """Eight characters of the invite alphabet, one per member id."""
    return _encode(_scramble(member_id, 0x5DEECE66D, 0xB1A5, 32**8), INVITE_ALPHABET, 8)


def coupon_code(grant_id: int) -> str:
    """A counter code (XXXX-XXXX), one per grant id."""
    raw = _encode(_scramble(grant_id, 0x2545F4914F, 0x9E37, 32**8), CODE_ALPHABET, 8)
    return format_code(raw)


def phone(member_id: int) -> str:
    """A Taiwanese mobile number in the stored form (+8869…), one per member id."""
    return f"+8869{_scramble(member_id, 48_271, 13_579_113, 10**8):08d}"


def comment(rng: random.Random, locale: str) -> str:
    return rng.choice(COMMENTS.get(locale, COMMENTS["zh-TW"]))
