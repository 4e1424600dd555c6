"""How every `loyalty` command starts and ends: settings and services built in one place, and
one exit-code convention (README, Commands).

0   done (also when there was nothing to do: an admin added twice, a campaign launched again).
1   refused or partly refused: a rule of the programme, or the platform, said no to the
    action or to some of its rows (no such token, a finished campaign, bad rows in an
    import); the reasons are printed.
2   usage or configuration error: Click's own (an unknown option, a missing argument), an
    argument the command cannot read or a use case cannot take (InvalidInput), a bad
    setting, programme file or database URL (the variable or file named).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.app import Services, Settings, SettingsError, bootstrap, load_settings
from core.kernel import ConfigError, DomainError, InvalidInput

DONE = 0
REFUSED = 1
USAGE_ERROR = 2

err = Console(stderr=True, highlight=False)


def refused(message: str, *, label: str = "error", soft_wrap: bool = False) -> typer.Exit:
    """Print why the action was refused; raise the result (exit code 1)."""
    return _exit(REFUSED, label, message, soft_wrap=soft_wrap)


def usage_error(message: str, *, label: str = "error", soft_wrap: bool = False) -> typer.Exit:
    """Print what is wrong with an argument or option; raise the result (exit code 2)."""
    return _exit(USAGE_ERROR, label, message, soft_wrap=soft_wrap)


def refusal(error: DomainError, message: str, *, label: str = "error") -> typer.Exit:
    """A use case said no: a value it cannot take (InvalidInput: a name too long, a share
    over 100 %) is a usage error; any other of its rules (no such campaign, a coupon out of
    stock) refuses the action."""
    if isinstance(error, InvalidInput):
        return usage_error(message, label=label)
    return refused(message, label=label)


def configuration_error(message: str) -> typer.Exit:
    """Print which setting or file is wrong and how; raise the result (exit code 2)."""
    return _exit(USAGE_ERROR, "configuration error", message)


def settings() -> Settings:
    """The settings from the environment; a bad one exits 2 naming the variable."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise configuration_error(str(exc)) from None


def services(given: Settings | None = None) -> Services:
    """The settings (unless given), the programme and the database, migrated. A bad setting,
    programme file or database URL exits 2 naming it. The caller closes the services."""
    try:
        built = bootstrap(given or settings())
    except (SettingsError, ConfigError) as exc:
        raise configuration_error(str(exc)) from None
    except ArgumentError as exc:  # not a URL, or no such SQLAlchemy dialect
        raise configuration_error(f"environment: LOYALTY_DATABASE_URL: {exc}") from None
    _connect(built)
    try:
        return bootstrap(
            built.settings,
            database=built.database,
            programme=built.programme,
            clock=built.clock,
            migrate=True,
        )
    except BaseException:
        built.close()
        raise


@contextmanager
def opened(given: Settings | None = None) -> Iterator[Services]:
    """`services()`, closed when the command is done (also when it exits early)."""
    built = services(given)
    try:
        yield built
    finally:
        built.close()


def _connect(built: Services) -> None:
    """Connect once before migrating, so that a database which cannot be reached (wrong
    host, password or path) is reported as the setting it is, not as a failed migration."""
    try:
        with built.database.engine.connect():
            pass
    except DBAPIError as exc:
        built.close()
        shown = make_url(built.database.url).render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig or exc).split())
        raise configuration_error(
            f"environment: LOYALTY_DATABASE_URL: cannot connect to {shown}: {reason}"
        ) from None


def _exit(code: int, label: str, message: str, *, soft_wrap: bool = False) -> typer.Exit:
    err.print(f"[red]{escape(label)}[/red] {escape(message)}", soft_wrap=soft_wrap)
    return typer.Exit(code)
