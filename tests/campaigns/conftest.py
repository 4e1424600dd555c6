"""Campaign tests use the fake LINE and Telegram servers."""

from tests.fakes.fixtures import fake_line, fake_telegram  # noqa: F401
