"""`loyalty admin add|list|remove` and `loyalty token create|list|revoke` on a SQLite file."""

import pytest
from sqlmodel import select

from core.kernel import Database, SystemClock
from core.models import Admin, ApiToken, AuditLog
from core.staff import verify_api_token
from core.staff.admins import hash_token
from tests.support.cli import loyalty


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no loyalty.toml or .env from the repository
    return f"sqlite:///{tmp_path / 'loyalty.db'}"


@pytest.fixture
def cli(monkeypatch, url):
    return lambda *args, **env: loyalty(monkeypatch, url, *args, **env)


def rows(url, query):
    database = Database(url)
    try:
        with database.reader() as session:
            return session.exec(query).all()
    finally:
        database.dispose()


def test_admin_add_list_and_remove(cli, url):
    added = cli("admin", "add", "telegram:123456")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "telegram:123456 is now an admin"
    assert cli("admin", "add", "telegram:123456").stdout.strip() == (
        "telegram:123456 was already an admin"
    )
    [admin] = rows(url, select(Admin))
    assert (admin.channel, admin.platform_user_id) == ("telegram", "123456")
    assert admin.added_by.startswith("cli")
    assert rows(url, select(AuditLog.action, AuditLog.target)) == [("admin.add", "telegram:123456")]

    listed = cli("admin", "list", LOYALTY_ADMINS="line:Uabc")
    assert listed.exit_code == 0
    assert "line:Uabc" in listed.stdout and "LOYALTY_ADMINS" in listed.stdout
    assert "telegram:123456" in listed.stdout and "loyalty admin add" in listed.stdout

    removed = cli("admin", "remove", "telegram:123456")
    assert removed.stdout.strip() == "telegram:123456 is no longer an admin"
    assert rows(url, select(Admin)) == []
    again = cli("admin", "remove", "telegram:123456")
    assert again.exit_code == 1  # refused: not an admin
    assert "was not an admin; nothing to remove" in again.stdout
    assert "No admins yet" in cli("admin", "list").stdout


def test_removing_an_admin_named_in_the_settings_says_where_it_still_comes_from(cli):
    result = cli("admin", "remove", "line:Uabc", LOYALTY_ADMINS="line:Uabc")
    assert result.exit_code == 1  # refused: still an admin
    assert "still an admin through LOYALTY_ADMINS" in result.stdout


def test_a_token_is_printed_once_and_only_its_hash_is_stored(cli, url, tmp_path):
    created = cli("token", "create", "pos-system")
    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()
    [plaintext] = [line for line in lines if line.startswith("lty_")]
    assert created.stdout.count(plaintext) == 1
    assert "cannot be shown again" in created.stdout
    [token] = rows(url, select(ApiToken))
    assert token.token_hash == hash_token(plaintext)
    assert plaintext not in token.token_hash and token.prefix == plaintext[:10]
    assert plaintext.encode() not in (tmp_path / "loyalty.db").read_bytes()

    listed = cli("token", "list")
    assert "pos-system" in listed.stdout and f"{token.prefix}…" in listed.stdout
    assert "never" in listed.stdout and "active" in listed.stdout
    assert plaintext not in listed.stdout


def test_a_revoked_token_stops_working(cli, url):
    plaintext = next(
        line for line in cli("token", "create", "ci").stdout.splitlines() if line.startswith("lty_")
    )
    database = Database(url)
    try:
        with database.session() as session:
            assert verify_api_token(session, token=plaintext, clock=SystemClock()) is not None
        revoked = cli("token", "revoke", "ci")
        assert revoked.exit_code == 0
        assert "'ci'" in revoked.stdout and "revoked" in revoked.stdout
        with database.session() as session:
            assert verify_api_token(session, token=plaintext, clock=SystemClock()) is None
    finally:
        database.dispose()
    assert "revoked" in cli("token", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("admin", "add", "nonsense"), "should be CHANNEL:USER_ID"),
        (("admin", "add", "slack:U1"), "should be CHANNEL:USER_ID"),
        (("admin", "add", "telegram:"), "should be CHANNEL:USER_ID"),
        (("admin", "add", "telegram:" + "9" * 129), "should be CHANNEL:USER_ID"),
        (("admin", "remove", ":123"), "should be CHANNEL:USER_ID"),
        (("token", "create", "  "), "a token name must be 1–100 characters"),
        (("token", "create", "x" * 101), "a token name must be 1–100 characters"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(cli, url, args, message):
    assert cli("migrate").exit_code == 0
    result = cli(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert rows(url, select(Admin)) == []
    assert rows(url, select(ApiToken)) == []
    assert rows(url, select(AuditLog)) == []


def test_revoking_an_unknown_token_is_refused_with_exit_code_1(cli, url):
    assert cli("migrate").exit_code == 0
    result = cli("token", "revoke", "nope")
    assert result.exit_code == 1
    assert "no token has that name" in result.stderr
    assert rows(url, select(AuditLog)) == []


def test_a_token_name_in_use_exits_2(cli, url):
    cli("token", "create", "ci")
    again = cli("token", "create", "ci")
    assert again.exit_code == 2
    assert "a token with that name exists" in again.stderr
    assert len(rows(url, select(ApiToken))) == 1


def test_a_bad_setting_exits_2(cli):
    result = cli("admin", "list", LOYALTY_ADMINS="bogus")
    assert result.exit_code == 2
    assert "LOYALTY_ADMINS" in result.stderr
