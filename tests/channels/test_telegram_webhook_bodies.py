"""Any body at /webhooks/telegram: a wrong secret is 401 and writes nothing; with the right
secret, junk is 400 or ignored with 200, never 500 — over HTTP, on both databases."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.fakes.fixtures as fake_fixtures
from tests.channels import telegram_harness
from tests.channels.telegram_bodies import webhook_bodies
from tests.channels.telegram_harness import TelegramApp
from tests.fakes.fixtures import TELEGRAM_WEBHOOK_SECRET
from tests.fakes.webhooks import TelegramUpdates

fake_telegram = fake_fixtures.fake_telegram
telegram_updates = fake_fixtures.telegram_updates
telegram_app = telegram_harness.telegram_app

# One served app for all examples of a test: the examples share it on purpose.
over_http = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
wrong_secrets = st.one_of(
    st.none(),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", max_size=300),
).filter(lambda secret: secret != TELEGRAM_WEBHOOK_SECRET)


def test_random_bodies_with_a_wrong_or_missing_secret_are_refused_and_write_nothing(
    telegram_app: TelegramApp,
) -> None:
    app = telegram_app
    before = app.counts()

    @over_http
    @given(raw=webhook_bodies, secret=wrong_secrets)
    def refused(raw: bytes, secret: str | None) -> None:
        assert app.post(raw, secret=secret).status_code == 401

    refused()
    assert app.counts() == before
    assert app.fake.calls("sendMessage") == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_any_body_with_the_right_secret_is_answered_200_or_400_never_500(
    telegram_app: TelegramApp, telegram_updates: TelegramUpdates
) -> None:
    app = telegram_app
    statuses: set[int] = set()

    @over_http
    @given(raw=webhook_bodies)
    def answered(raw: bytes) -> None:
        response = app.post(raw, secret=TELEGRAM_WEBHOOK_SECRET)
        statuses.add(response.status_code)
        assert response.status_code in (200, 400), response.text

    answered()
    assert statuses == {200, 400}
    app.settled(timeout=30)
    assert app.scalar("select count(*) from inbound_update where error is not null") == 0
    # …and the bot still answers.
    app.deliver(telegram_updates.command(31337, "help"))
    app.wait_texts(31337, 1)
