"""Admin API tests: the real app (lifespan included) on each test database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.app import Services
from bot.web import create_app

TOKEN = "test-bootstrap-token-7f3a"


def with_api_settings(services: Services, **settings: object) -> Services:
    """The services with the bootstrap token set and, unless told, a rate limit tests
    never reach."""
    update = {"api_token": SecretStr(TOKEN), "api_rate_limit": 10_000.0, "api_rate_burst": 10_000}
    update |= settings
    return dataclasses.replace(services, settings=services.settings.model_copy(update=update))


@pytest.fixture
def api_services(services: Services) -> Services:
    return with_api_settings(services)


@pytest.fixture
def app(api_services: Services) -> FastAPI:
    return create_app(api_services, channels={})


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """A client that sends the bootstrap token, with the app's lifespan running."""
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def anonymous(app: FastAPI) -> TestClient:
    """A client of the same app that sends no token (the API needs no lifespan)."""
    return TestClient(app)
