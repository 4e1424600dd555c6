"""Texts live in catalogs (issue 3, acceptance 4): zh-TW and en have the same keys and the same
{placeholders} per key, every key the dialogs ask for exists, and no member-facing text is
written into the dialogs' code.

The code scan reads bot/dialogs/*.py with `ast`. A string literal is member-facing text when
 - it contains CJK characters, or words separated by spaces ("see you soon"), anywhere; or
 - it is (part of) what a reply shows: an argument of `Reply(...)`, `Reply.text(...)`,
   `.add(...)`, a `Button` label, or a `Card` title, subtitle, highlight, footer,
   progress label or field, and contains a letter at all ("Thanks!", "OK").
Not member-facing: docstrings, log messages, exception messages, audit-log details, and what
a catalog lookup is given (keys like "coupons.claimed" are arguments of `t(...)` calls, which
the scan does not enter) and button payloads ("claim:WELCOME50").
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.dialogs import TABLE
from bot.i18n import CATALOG_DIR, DEFAULT_LOCALE, LOCALES, catalog
from core.kernel import errors

DIALOGS = Path(__file__).resolve().parent.parent / "bot" / "dialogs"
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
WORDS = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")
LETTER = re.compile(r"[^\W\d_]")

LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
LOGGERS = {"log", "logger", "logging", "_log", "LOG"}
AUDIT_CALLS = {"audit", "record_audit"}
SINK_CLASSES = {"Reply": {"texts"}, "Button": {"label"}, "Notice": set()}
CARD_FIELDS = {"title", "subtitle", "highlight", "footer", "progress_label", "fields"}


def placeholders(text: str) -> set[str]:
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field, maxsplit=1)[0])
    return names


# --- the catalogs -----------------------------------------------------------------------------


def test_both_languages_have_the_same_catalog_files():
    files = {
        locale: sorted(p.name for p in (CATALOG_DIR / locale).glob("*.toml")) for locale in LOCALES
    }
    assert files["zh-TW"] == files["en"]


def test_both_languages_have_exactly_the_same_keys():
    zh, en = set(catalog("zh-TW")), set(catalog("en"))
    assert sorted(zh - en) == [], "only in zh-TW"
    assert sorted(en - zh) == [], "only in en"


# Keys whose languages say it with different figures; the dialogs pass both.
SAID_DIFFERENTLY = {
    "admin.value.percent_off": "zh-TW names the share paid (85 折), English the saving (15% off)",
}


def test_each_key_has_the_same_placeholders_in_both_languages():
    zh, en = catalog("zh-TW"), catalog("en")
    differing = {
        key: (sorted(placeholders(zh[key])), sorted(placeholders(en[key])))
        for key in zh.keys() & en.keys()
        if placeholders(zh[key]) != placeholders(en[key]) and key not in SAID_DIFFERENTLY
    }
    assert differing == {}


def test_no_text_is_empty_or_left_untranslated_by_accident():
    zh, en = catalog("zh-TW"), catalog("en")
    assert [key for key, text in {**zh, **en}.items() if not text.strip()] == []
    # Texts with words should differ between the languages; names of things may not.
    same = {key for key in zh.keys() & en.keys() if zh[key] == en[key] and WORDS.search(en[key])}
    assert same == set()


def test_every_key_the_dialogs_ask_for_exists():
    keys = set(catalog(DEFAULT_LOCALE))
    missing = []
    for path in sorted(DIALOGS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            key = _catalog_lookup(node)
            if isinstance(key, str) and key not in keys:
                missing.append(f"{path.name}:{node.lineno}: {key}")
            elif isinstance(key, tuple) and not any(k.startswith(key[0]) for k in keys):
                missing.append(f"{path.name}:{node.lineno}: {key[0]}…")
    assert missing == []


def _catalog_lookup(node: ast.AST) -> str | tuple[str] | None:
    """The key of `t("key")`, `turn.t("key")`, `t.has("key")`; for an f-string key its fixed
    start as a 1-tuple."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    is_t = (isinstance(func, ast.Name) and func.id == "t") or (
        isinstance(func, ast.Attribute) and func.attr == "t"
    )
    if not is_t:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
        return (str(first.values[0].value),)
    return None


# --- no texts in the code ---------------------------------------------------------------------


def hard_coded_texts(source: str) -> list[tuple[int, str]]:
    """Member-facing string literals in `source`, as (line, text)."""
    tree = ast.parse(source)
    exempt = _exempt_nodes(tree)
    found: dict[int, tuple[int, str]] = {}
    for node in ast.walk(tree):
        if id(node) in exempt or not _is_str(node):
            continue
        text = node.value  # type: ignore[attr-defined]
        if CJK.search(text) or WORDS.search(text):
            found[id(node)] = (node.lineno, text)
    for node in ast.walk(tree):
        for shown in _sink_arguments(node):
            for literal in _literals(shown):
                if id(literal) not in exempt and LETTER.search(literal.value):
                    found[id(literal)] = (literal.lineno, literal.value)
    return sorted(found.values())


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _exempt_nodes(tree: ast.AST) -> set[int]:
    roots: list[ast.AST] = []
    scopes = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    for node in ast.walk(tree):
        body = node.body if isinstance(node, scopes) else None
        if body and isinstance(body[0], ast.Expr) and _is_str(body[0].value):
            roots.append(body[0].value)  # a docstring
        if isinstance(node, ast.Raise) and node.exc is not None:
            roots.append(node.exc)  # exception messages are for developers
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in AUDIT_CALLS or _is_log_call(node):
                roots.append(node)
            roots.extend(kw.value for kw in node.keywords if kw.arg == "details")
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in LOG_CALLS
        and isinstance(func.value, ast.Name)
        and func.value.id in LOGGERS
    )


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _sink_arguments(node: ast.AST) -> list[ast.AST]:
    """The argument expressions whose strings a member sees."""
    if not isinstance(node, ast.Call):
        return []
    func, name = node.func, _call_name(node)
    if isinstance(func, ast.Attribute) and (
        (func.attr == "text" and isinstance(func.value, ast.Name) and func.value.id == "Reply")
        or func.attr == "add"
    ):
        return [*node.args, *(kw.value for kw in node.keywords if kw.arg != "buttons")]
    if isinstance(func, ast.Name) and name == "Card":
        return [*node.args[1:], *(kw.value for kw in node.keywords if kw.arg in CARD_FIELDS)]
    if isinstance(func, ast.Name) and name in SINK_CLASSES:
        shown = SINK_CLASSES[name]
        return [*node.args[:1], *(kw.value for kw in node.keywords if kw.arg in shown)]
    return []


def _literals(expression: ast.AST) -> list[ast.Constant]:
    """String literals an expression shows as they are: not those handed to a call (catalog
    keys for t(), payloads for nested Buttons), which are checked where they are shown."""
    if isinstance(expression, ast.Call):
        return []
    if _is_str(expression):
        return [expression]  # type: ignore[list-item]
    found: list[ast.Constant] = []
    for child in ast.iter_child_nodes(expression):
        found.extend(_literals(child))
    return found


@pytest.mark.parametrize("path", sorted(DIALOGS.glob("*.py")), ids=lambda p: p.name)
def test_no_member_facing_text_is_hard_coded_in_the_dialogs(path):
    assert hard_coded_texts(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        'Reply.text("Thanks!")',
        'Reply.text(t("a.b"), "OK")',
        'Reply(texts=["Done"])',
        'reply.add(f"{n} points")',
        'Button("Claim", "claim:WELCOME50")',
        'Button(label="Yes", payload="erase:yes")',
        'Card(kind="coupon", title="Coupon")',
        'Card("tier", t("tier.title"), fields=(("Tier", name),))',
        'greeting = "see you soon"',
        'note = "謝謝光臨"',
        'x = f"您好 {name}"',
    ],
)
def test_the_scan_catches_hard_coded_texts(source):
    assert hard_coded_texts(source) != []


@pytest.mark.parametrize(
    "source",
    [
        '"""A module docstring with words."""',
        'def f():\n    """A function docstring."""',
        'Reply.text(t("coupons.claimed"), buttons=[Button(t("menu.points"), "cmd:points")])',
        'Button(t("survey.skip"), payload("sv", code, "0", "skip"))',
        'Card(kind="coupon", title=t.pick(title), fields=((t("a.b"), t.number(3)),))',
        'log.exception("dialog failed for %s", user)',
        'raise CouponNotFound("malformed claim button", coupon=ref)',
        'record_audit(session, actor=a, action="command:sale", details={"reason": "not an admin"})',
        'key = f"coupons.kind.{kind}"',
        'payload = f"claim:{code}"',
    ],
)
def test_the_scan_lets_keys_payloads_logs_and_docstrings_be(source):
    assert hard_coded_texts(source) == []


# --- help and errors --------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_help_names_every_member_command(locale):
    members = set(TABLE.member_commands())
    shown = set(re.findall(r"/(\w+)", catalog(locale)["help.member"]))
    assert members - {"start", "help"} <= shown


MEMBER_ERRORS = [
    errors.CouponNotFound,
    errors.CouponUnavailable,
    errors.CouponOutOfStock,
    errors.CouponLimitReached,
    errors.CouponNotEligible,
    errors.InsufficientPoints,
    errors.SurveyNotFound,
    errors.SurveyAlreadyDone,
    errors.SurveyNotInProgress,
    errors.InvalidAnswer,
    errors.AnswerRequired,
    errors.AnswerOutOfOrder,
    errors.AlreadyCheckedIn,
    errors.ReferralRejected,
    errors.ConsentRequired,
    errors.AlreadySignedUp,
    errors.MemberErased,
    errors.InvalidInput,
    errors.NotFound,
    errors.IdempotencyConflict,
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("error", MEMBER_ERRORS, ids=lambda e: e.code)
def test_every_error_a_member_can_hit_has_a_text(locale, error):
    assert f"error.{error.code}" in catalog(locale)
