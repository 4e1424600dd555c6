"""The exit codes of `loyalty` (README, Commands): 0 done, 1 refused or partly refused with
the reasons printed, 2 usage or configuration error naming what is wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import loyalty
from tests.support.processes import LOYALTY, clean_env

DONE, REFUSED, USAGE_ERROR = 0, 1, 2

GOOD_ROWS = "member,order_id,amount,time\nC001,POS-1,350,2025-06-01\nC002,POS-2,80,2025-06-02\n"
SOME_BAD_ROWS = (
    "member,order_id,amount,time\nC001,POS-1,350,2025-06-01\nC003,POS-3,12abc,2025-06-01\n"
)

# (case, args, extra settings, exit code, words in the output)
CASES = [
    ("done: migrate", ["migrate"], {}, DONE, "database up to date"),
    ("done: stats", ["stats"], {}, DONE, "no members yet"),
    ("done: token create", ["token", "create", "ci"], {}, DONE, "API token 'ci' created"),
    ("done: import", ["import", "purchases", "good.csv"], {}, DONE, "imported 2"),
    (
        "refused: unknown token",
        ["token", "revoke", "nope"],
        {},
        REFUSED,
        "no token has that name",
    ),
    (
        "refused: unknown admin",
        ["admin", "remove", "telegram:123"],
        {},
        REFUSED,
        "was not an admin; nothing to remove",
    ),
    (
        "refused: unknown campaign",
        ["campaign", "cancel", "999"],
        {},
        REFUSED,
        "no such campaign",
    ),
    (
        "partly refused: import with a bad row",
        ["import", "purchases", "some-bad.csv"],
        {},
        REFUSED,
        "line 3: malformed: ",
    ),
    ("usage: no such command", ["bogus"], {}, USAGE_ERROR, "No such command"),
    ("usage: option out of range", ["stats", "--days", "0"], {}, USAGE_ERROR, "--days"),
    ("usage: missing file", ["import", "purchases", "missing.csv"], {}, USAGE_ERROR, "missing.csv"),
    (
        "usage: unreadable argument",
        ["admin", "add", "nonsense"],
        {},
        USAGE_ERROR,
        "should be CHANNEL:USER_ID",
    ),
    (
        "usage: bad JSON option",
        ["campaign", "create", "--name", "x", "--text", "hi", "--audience", "[1]"],
        {},
        USAGE_ERROR,
        "give a JSON object",
    ),
    (
        "usage: a value the use case cannot take",
        ["token", "create", "x" * 101],
        {},
        USAGE_ERROR,
        "a token name must be 1–100 characters",
    ),
    (
        "configuration: bad programme file",
        ["stats"],
        {"LOYALTY_CONFIG": "bad.toml"},
        USAGE_ERROR,
        "bad.toml: earn.points_per_unit",
    ),
    (
        "configuration: bad setting",
        ["admin", "list"],
        {"LOYALTY_ADMINS": "bogus"},
        USAGE_ERROR,
        "LOYALTY_ADMINS",
    ),
    (
        "configuration: channel not set up",
        ["telegram", "webhook-info"],
        {},
        USAGE_ERROR,
        "set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET",
    ),
    (
        "configuration: not a database URL",
        ["migrate"],
        {"LOYALTY_DATABASE_URL": "nonsense"},
        USAGE_ERROR,
        "LOYALTY_DATABASE_URL: Could not parse",
    ),
    (
        "configuration: unknown database kind",
        ["token", "list"],
        {"LOYALTY_DATABASE_URL": "mysql-ish://db/loyalty"},
        USAGE_ERROR,
        "LOYALTY_DATABASE_URL",
    ),
    (
        "configuration: database cannot be opened",
        ["demo", "--members", "1"],
        {"LOYALTY_DATABASE_URL": "sqlite:////no/such/directory/loyalty.db"},
        USAGE_ERROR,
        "LOYALTY_DATABASE_URL: cannot connect to sqlite:////no/such/directory/loyalty.db",
    ),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path) -> Path:
    """A directory with a migrated SQLite file and the files the cases name."""
    monkeypatch.chdir(tmp_path)  # no loyalty.toml or .env from the repository
    shutil.copy(sqlite_template, tmp_path / "loyalty.db")
    (tmp_path / "good.csv").write_text(GOOD_ROWS, encoding="utf-8")
    (tmp_path / "some-bad.csv").write_text(SOME_BAD_ROWS, encoding="utf-8")
    (tmp_path / "bad.toml").write_text("[earn]\npoints_per_unit = -1\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "env", "code", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_outcome_has_its_exit_code(workdir, monkeypatch, args, env, code, words):
    settings = dict(env)
    url = settings.pop("LOYALTY_DATABASE_URL", f"sqlite:///{workdir / 'loyalty.db'}")
    result = loyalty(monkeypatch, url, *args, **settings)
    assert result.exit_code == code, result.output
    assert words in " ".join(result.output.split()), result.output


def test_a_database_that_cannot_be_reached_exits_2_without_showing_the_password(tmp_path):
    result = subprocess.run(
        [LOYALTY, "migrate"],
        cwd=tmp_path,
        env=clean_env(LOYALTY_DATABASE_URL="postgresql://loyalty:hunter2@127.0.0.1:1/loyalty"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == USAGE_ERROR, result.stderr
    message = " ".join(result.stderr.split())
    assert "configuration error environment: LOYALTY_DATABASE_URL: cannot connect to" in message
    assert "loyalty:***@127.0.0.1:1/loyalty" in message
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_the_installed_command_passes_the_codes_on(tmp_path):
    def run(*args: str) -> int:
        return subprocess.run(
            [LOYALTY, *args], cwd=tmp_path, env=clean_env(), capture_output=True, timeout=120
        ).returncode

    assert run("migrate") == DONE
    assert run("token", "revoke", "nope") == REFUSED
    assert run("stats", "--days", "0") == USAGE_ERROR
