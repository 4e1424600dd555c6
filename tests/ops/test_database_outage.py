"""The database drops every connection (a PostgreSQL restart, a failover): nothing is lost,
nothing happens twice, and the service recovers by itself without a pre-ping per checkout.

PostgreSQL only: SQLite has no server to lose. The outage is real: the server terminates
our backends (`pg_terminate_backend`), found by the application name our engine sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

import tests.fakes.fixtures as fake_fixtures
from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.dialogs import Dialogs
from bot.web import create_app
from core.chat import Incoming
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.models import format_member_number
from core.programme import Programme
from tests.api.conftest import TOKEN, with_api_settings
from tests.channels.telegram_harness import TelegramApp, _serve
from tests.fakes.telegram import FakeTelegramBotAPI
from tests.fakes.webhooks import TelegramUpdates
from tests.support.databases import truncate_all
from tests.support.members import new_member

fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MEI = 5151


@pytest.fixture
def pg(postgres_schema_url: str) -> Iterator[tuple[Database, str]]:
    """A database on the test PostgreSQL whose connections carry a name of their own."""
    truncate_all(postgres_schema_url)
    name = f"outage-{uuid.uuid4().hex[:8]}"
    database = Database(postgres_schema_url, connect_args={"application_name": name})
    yield database, name
    database.dispose()


def cut_connections(database: Database, name: str) -> int:
    """Terminate every server backend of `database`, as a restart would; returns how many."""
    admin = sa.create_engine(database.engine.url)
    try:
        with admin.connect() as connection:
            killed = connection.execute(
                sa.text(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                    "where application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed)


def services_on(database: Database, clock: FixedClock, programme: Programme) -> Services:
    settings = Settings(database_url=database.url)
    services = Services(settings=settings, database=database, programme=programme, clock=clock)
    sync_programme(services)
    return services


def test_the_api_answers_503_once_then_serves_again(pg, clock, programme):
    database, name = pg
    services = with_api_settings(services_on(database, clock, programme))
    member_id = new_member(database, clock, programme, "alice")
    path = f"/api/v1/members/{format_member_number(member_id)}"
    with TestClient(
        create_app(services, channels={}), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        assert api.get(path).status_code == 200
        assert cut_connections(database, name) >= 1
        lost = api.get(path)
        assert lost.status_code == 503, lost.text
        assert lost.json()["error"] == "database_unavailable"
        assert lost.headers["Retry-After"] == "1"
        again = api.get(path)
        assert again.status_code == 200, again.text
        assert again.json()["number"] == format_member_number(member_id)


def test_a_turn_cut_by_the_outage_raises_for_a_retry_and_the_retry_counts_once(
    pg, clock, programme
):
    database, name = pg
    services = services_on(database, clock, programme)
    dialogs = Dialogs(services)
    checkin = Incoming(channel="console", user_id="mei", command="checkin", event_id="u-1")
    dialogs.handle(Incoming(channel="console", user_id="mei", command="start"))
    consent = f"consent:{programme.consent.version}"
    dialogs.handle(Incoming(channel="console", user_id="mei", kind="button", payload=consent))
    assert cut_connections(database, name) >= 1
    with pytest.raises(DBAPIError) as raised:
        dialogs.handle(checkin)
    assert raised.value.connection_invalidated
    first = dialogs.handle(checkin)  # the inbox's retry of the same update
    again = dialogs.handle(checkin)  # and a redelivery after it
    assert not first.reply.empty and not again.reply.empty
    with database.engine.connect() as connection:
        checkins = connection.execute(sa.text("select count(*) from checkin")).scalar_one()
    assert checkins == 1


@pytest.fixture
def telegram_on_pg(
    pg: tuple[Database, str],
    clock: FixedClock,
    programme: Programme,
    fake_telegram: FakeTelegramBotAPI,
) -> Iterator[TelegramApp]:
    yield from _serve(pg[0], clock, programme, fake_telegram)


def test_a_webhook_arriving_after_the_outage_is_stored_and_answered_without_a_redelivery(
    pg, telegram_on_pg: TelegramApp, telegram_updates: TelegramUpdates
):
    database, name = pg
    app = telegram_on_pg
    app.deliver(telegram_updates.command(MEI, "start"))
    app.wait_texts(MEI, 1)
    app.settled()
    assert cut_connections(database, name) >= 1
    response = app.post(telegram_updates.command(MEI, "help"))
    assert (response.status_code, response.json()["accepted"]) == (200, 1)
    app.wait_texts(MEI, 2)
    app.settled()
    assert app.count("inbound_update") == 2
    assert app.scalar("select count(*) from inbound_update where status = 'done'") == 2
