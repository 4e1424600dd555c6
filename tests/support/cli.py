"""Running `loyalty` commands in-process (Typer's CliRunner) against a chosen database."""

from __future__ import annotations

import os

import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.cli import app

_SETTINGS_PREFIXES = ("LOYALTY_", "TELEGRAM_", "LINE_")


def loyalty(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str, **env: str) -> Result:
    """`loyalty ARGS` with LOYALTY_DATABASE_URL set and no other settings from outside."""
    for name in os.environ:
        if name.startswith(_SETTINGS_PREFIXES):
            monkeypatch.delenv(name)
    return CliRunner().invoke(
        app, list(args), env={"LOYALTY_DATABASE_URL": database_url, **env}, catch_exceptions=False
    )
