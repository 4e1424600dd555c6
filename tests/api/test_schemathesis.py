"""Acceptance: schemathesis against /openapi.json finds no 5xx and no undocumented status.

The operations are collected from the app's OpenAPI document; the app is then served over
real HTTP (uvicorn on 127.0.0.1, lifespan included) on each test database, checked to serve
that very document, and sent generated requests with the bootstrap token.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from bot.app import Services, Settings
from bot.app.services import sync_programme
from bot.web import create_app
from core.kernel import Database
from core.kernel.clock import FixedClock
from core.models import format_member_number
from core.programme import Programme
from tests.api.conftest import TOKEN, with_api_settings
from tests.conftest import DATABASES, START
from tests.support.databases import truncate_all
from tests.support.members import new_member
from tests.support.server import serving

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _openapi_document() -> dict[str, Any]:
    """The document as the app builds it; no database is touched to build it."""
    database = Database("sqlite://")
    services = Services(settings=Settings(), database=database, programme=Programme())
    document = create_app(services, channels={}).openapi()
    database.dispose()
    return document


DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT).include(path_regex="^/api/v1/")


@pytest.fixture(scope="module", params=DATABASES)
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app served on a fresh database of each kind, with a member and a purchase in it.

    One server per database for the whole module: the generated requests pile up data as
    a real client's would, and the run stays short."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("schemathesis") / "loyalty.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
        truncate_all(url)
    services = with_api_settings(
        Services(
            settings=Settings(database_url=url),
            database=Database(url),
            programme=Programme(),
            clock=FixedClock(START),
        )
    )
    sync_programme(services)
    member_id = new_member(services.database, services.clock, services.programme, "seed")
    with serving(create_app(services, channels={})) as served:
        assert httpx.get(f"{served}/openapi.json").json() == DOCUMENT
        httpx.post(
            f"{served}/api/v1/purchases",
            json={"member": format_member_number(member_id), "order_id": "POS-1", "amount": 10},
            headers=AUTH,
        ).raise_for_status()
        yield served
    services.close()


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_request_as_documented(case, base_url):
    case.call_and_validate(
        base_url=base_url,
        headers=AUTH,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        timeout=30,
    )
