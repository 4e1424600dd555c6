"""/deleteme over real webhooks leaves nothing that names the member anywhere in the
database: every column of every table is searched for their platform id, names, username and
what they typed (DESIGN §4, privacy), on both channels and both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

import tests.fakes.fixtures as fake_fixtures
from core.kernel import Database
from core.models import InboundUpdate, format_member_number
from tests.channels import line_harness, telegram_harness
from tests.channels.line_harness import LineApp
from tests.channels.telegram_harness import TelegramApp, TelegramChat
from tests.fakes.webhooks import TelegramUpdates
from tests.support.traces import where_found

fake_telegram = fake_fixtures.fake_telegram
fake_line = fake_fixtures.fake_line
telegram_updates = fake_fixtures.telegram_updates
quick_telegram_app = telegram_harness.quick_telegram_app
line_app = line_harness.line_app

ZELDA = 731905512
ZELDA_LINE = "U" + "7e" * 16
TYPED = "Zelda Quinterra here, call me on 0987654321"


def fail_for_good(database: Database, channel: str, user: str, payload: dict[str, Any]) -> None:
    """An update of the member's that failed every attempt: kept, body and all, for a look."""
    with database.engine.begin() as connection:
        connection.execute(
            sa.insert(InboundUpdate.__table__),  # type: ignore[attr-defined]
            {
                "channel": channel,
                "update_id": "failed-1",
                "status": "failed",
                "payload": payload,
                "user_key": f"{channel}:{user}",
                "attempts": 5,
                "error": "RuntimeError: the database went away",
                "received_at": datetime(2026, 1, 1, tzinfo=UTC),
            },
        )


def failed_payloads(database: Database) -> list[Any]:
    with database.engine.connect() as connection:
        table = InboundUpdate.__table__  # type: ignore[attr-defined]
        rows = connection.execute(sa.select(table.c.payload, table.c.user_key)).all()
        return [list(row) for row in rows if row.payload or row.user_key]


def test_erasure_over_telegram_leaves_no_trace_of_the_member(
    quick_telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = quick_telegram_app
    user: dict[str, Any] = telegram_updates.user(
        ZELDA, first_name="Zelda", username="zquinterra", language_code="en"
    )
    user["last_name"] = "Quinterra"
    zelda = TelegramChat(app, telegram_updates, user)
    zelda.say("/start")
    assert "Welcome aboard, Zelda" in zelda.tap("Agree")
    zelda.say(TYPED)
    zelda.say("/points")
    zelda.say("/grant Zelda Quinterra 100")  # refused, and audited: actor and target name her
    # Handled updates keep only their ids: the words typed are already gone.
    assert failed_payloads(app.services.database) == []
    fail_for_good(app.services.database, "telegram", str(ZELDA), {"message": {"from": user}})
    needles = [str(ZELDA), "Zelda", "Quinterra", "zquinterra", "0987654321"]
    assert where_found(app.services.database, needles) == {
        str(ZELDA): ["audit_log", "channel_identity", "inbound_update"],
        "Zelda": ["audit_log", "channel_identity", "inbound_update", "member"],
        "Quinterra": ["audit_log", "channel_identity", "inbound_update", "member"],
        "zquinterra": ["inbound_update"],
    }

    zelda.say("/deleteme")
    assert "erased" in zelda.tap("Erase my data").lower()
    assert app.scalar("select count(*) from inbound_update where status = 'received'") == 0
    assert where_found(app.services.database, needles) == {}
    assert failed_payloads(app.services.database) == []
    number = member_number(app.services.database)
    assert audit_rows(app.services.database) == [
        (f"member:{number}", "command:grant", "[erased] 100"),
        (f"member:{number}", "member.erase", number),
    ]


def member_number(database: Database) -> str:
    with database.engine.connect() as connection:
        member_id = connection.execute(sa.text("select id from member")).scalar_one()
    return format_member_number(member_id)


def audit_rows(database: Database) -> list[tuple[str, str, str]]:
    with database.engine.connect() as connection:
        query = "select actor, action, target from audit_log order by id"
        rows = connection.execute(sa.text(query))
        return [(row.actor, row.action, row.target) for row in rows]


def test_erasure_over_line_leaves_no_trace_of_the_member(line_app: LineApp) -> None:
    app = line_app
    app.fake.add_friend(ZELDA_LINE, display_name="Zelda Quinterra", language="en")
    app.exchange(app.events.follow(ZELDA_LINE))
    app.tap(ZELDA_LINE, "同意")
    app.say(ZELDA_LINE, TYPED)
    app.say(ZELDA_LINE, "points")
    assert failed_payloads(app.services.database) == []
    event = app.events.text(ZELDA_LINE, TYPED)
    fail_for_good(app.services.database, "line", ZELDA_LINE, event)
    needles = [ZELDA_LINE, "Zelda", "Quinterra", "0987654321"]
    assert set(where_found(app.services.database, needles)) == set(needles)

    app.say(ZELDA_LINE, "/deleteme")
    assert "已刪除" in app.tap(ZELDA_LINE, "刪除我的資料")
    app.settled()
    assert where_found(app.services.database, needles) == {}
    assert failed_payloads(app.services.database) == []
