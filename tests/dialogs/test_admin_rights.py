"""Who is an admin: LOYALTY_ADMINS in the settings, and users added by `loyalty admin add`."""

from sqlmodel import select

from core.models import AuditLog
from tests.support.chat import ChatUser
from tests.support.cli import loyalty

REFUSED = "Sorry, that command is for admins only."


def test_an_admin_from_the_settings_may_use_admin_commands_and_sees_them_in_help(dialogs):
    staff = ChatUser(dialogs, "staff", language="en")  # LOYALTY_ADMINS has console:staff
    staff.say("/stats")
    assert "No members yet" in staff.text
    staff.say("/help")
    assert "/sale MEMBER AMOUNT [ORDER_ID]" in staff.text
    other = ChatUser(dialogs, "visitor", language="en")
    other.say("/help")
    assert "/sale" not in other.text


def test_a_user_added_with_the_cli_may_use_admin_commands_until_removed(
    dialogs, db, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    boss = ChatUser(dialogs, "boss", language="en")
    boss.say("/stats")
    assert boss.text == REFUSED

    added = loyalty(monkeypatch, db.url, "admin", "add", "console:boss")
    assert added.exit_code == 0, added.output
    boss.say("/stats")
    assert "No members yet" in boss.text
    with db.reader() as session:
        audits = session.exec(
            select(AuditLog.action, AuditLog.allowed).where(AuditLog.actor == "console:boss")
        ).all()
    assert sorted(audits) == [("command:stats", False), ("command:stats", True)]

    removed = loyalty(monkeypatch, db.url, "admin", "remove", "console:boss")
    assert removed.exit_code == 0, removed.output
    boss.say("/stats")
    assert boss.text == REFUSED
