"""The one table of chat commands (bot/dialogs/table.py): DESIGN §3's commands with their
rights, every handler the dialogs define and nothing twice."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.dialogs
from bot.dialogs import TABLE, account, member, surveys
from bot.dialogs.registry import ButtonRoute, Command, StateRoute, Table
from core.chat import Reply

# DESIGN §3 "Chat commands", plus /cancel, which ends any guided step.
MEMBER_COMMANDS = {
    "start", "points", "tier", "coupons", "survey", "invite", "checkin", "lang", "stop",
    "mydata", "deleteme", "help", "cancel",
}  # fmt: skip
ADMIN_COMMANDS = {"stats", "sale", "use", "grant", "member", "broadcast", "campaigns"}
BEFORE_JOINING = {"start", "help", "lang", "cancel"}

DIALOGS = Path(bot.dialogs.__file__).parent
# What a handler looks like: (parameters, return), as written in the source.
COMMAND_SHAPE = (("Turn",), "Reply")
BUTTON_SHAPE = (("Turn", "list[str]"), "Reply")
TEXT_SHAPE = (("Turn", "str"), "Reply | None")


def test_the_table_holds_the_commands_of_the_design_with_their_rights():
    admin = {name for name, command in TABLE.commands.items() if command.admin}
    assert set(TABLE.member_commands()) == MEMBER_COMMANDS
    assert admin == ADMIN_COMMANDS


def test_only_a_few_member_commands_answer_before_joining_and_admins_need_not_join():
    open_to_all = {name for name, command in TABLE.commands.items() if not command.needs_signup}
    assert open_to_all == BEFORE_JOINING | ADMIN_COMMANDS


def test_an_invite_code_is_looked_for_before_a_survey_answer():
    assert [handler.__qualname__ for handler in TABLE.texts] == [
        "typed_invite_code",
        "typed_answer",
    ]


def dialog_functions() -> list[tuple[str, Callable[..., Any]]]:
    """The public functions the dialog modules define (not those they import)."""
    found: list[tuple[str, Callable[..., Any]]] = []
    for info in pkgutil.walk_packages(bot.dialogs.__path__, "bot.dialogs."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if inspect.unwrap(value).__module__ == module.__name__:
                found.append((f"{module.__name__}.{name}", value))
    return found


def shape(function: Callable[..., Any]) -> tuple[tuple[str, ...], str]:
    signature = inspect.signature(function)
    parameters = tuple(str(p.annotation) for p in signature.parameters.values())
    return parameters, str(signature.return_annotation)


def called_names() -> set[str]:
    """The names dialog code calls, outside the table: helpers that look like handlers."""
    names = set()
    for path in DIALOGS.rglob("*.py"):
        if path.name == "table.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def test_every_button_and_text_handler_the_dialogs_define_is_in_the_table():
    buttons = {route.handler for route in TABLE.buttons.values()}
    texts = {route.handler for route in TABLE.states.values()} | set(TABLE.texts)
    functions = dialog_functions()
    missing = [name for name, f in functions if shape(f) == BUTTON_SHAPE and f not in buttons]
    missing += [name for name, f in functions if shape(f) == TEXT_SHAPE and f not in texts]
    assert missing == []
    assert len(buttons) == len(TABLE.buttons)  # no handler under two prefixes


def test_every_command_the_dialogs_define_is_in_the_table_or_a_helper_they_call():
    commands = {command.handler for command in TABLE.commands.values()}
    helpers = called_names()
    unlisted = [
        name
        for name, function in dialog_functions()
        if shape(function) == COMMAND_SHAPE
        and function not in commands
        and name.rsplit(".", 1)[1] not in helpers
    ]
    assert unlisted == []
    assert len(commands) == len(TABLE.commands)  # no handler under two names


def test_the_handler_checks_see_the_shapes_as_written():
    assert shape(member.points) == COMMAND_SHAPE
    assert shape(account.erase_button) == BUTTON_SHAPE
    assert shape(surveys.typed_answer) == TEXT_SHAPE
    assert "erase" in called_names()  # a helper of erase_button, not a command


def reply(*_: object) -> Reply:
    return Reply()


@pytest.mark.parametrize(
    "entries",
    [
        {"commands": [Command("points", reply), Command("points", reply, admin=True)]},
        {"buttons": [ButtonRoute("claim", reply), ButtonRoute("claim", reply)]},
        {"states": [StateRoute("broadcast", reply), StateRoute("broadcast", reply)]},
        {"buttons": [ButtonRoute("cmd", reply)]},  # the router's own `cmd:<name>`
    ],
    ids=["command", "button", "state", "cmd prefix"],
)
def test_a_table_refuses_two_entries_that_claim_the_same_name(entries):
    parts: dict[str, Any] = {"commands": [], "buttons": [], "states": [], "texts": []}
    with pytest.raises(ValueError):
        Table(**(parts | entries))
