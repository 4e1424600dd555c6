"""The admin API fixtures, for the stats endpoints' tests here."""

from tests.api.conftest import api, api_services, app  # noqa: F401
