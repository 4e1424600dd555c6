"""`loyalty admin …` (chat users with admin rights) and `loyalty token …` (admin API tokens)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import col, select

from bot.cli import setup
from core.kernel import DomainError
from core.models import Admin, ApiToken
from core.staff import add_admin, create_api_token, remove_admin, revoke_api_token

ADMIN_CHANNELS = ("telegram", "line", "console")

admin_app = typer.Typer(help="Chat users with admin rights.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the admin API.", no_args_is_help=True)
out = Console(highlight=False)
T = TypeVar("T")

Identity = Annotated[
    str, typer.Argument(metavar="CHANNEL:USER_ID", help="e.g. telegram:123456 or line:U4af…")
]
TokenName = Annotated[str, typer.Argument(metavar="NAME", help="What the token is for.")]


def parse_identity(text: str) -> tuple[str, str]:
    """`telegram:123` → ("telegram", "123"); anything else is a usage error saying what is
    expected."""
    channel, sep, user_id = text.strip().partition(":")
    channel = channel.lower()
    if not sep or channel not in ADMIN_CHANNELS or not user_id.strip() or len(user_id) > 128:
        raise setup.usage_error(
            f"{text!r} should be CHANNEL:USER_ID with CHANNEL one of {', '.join(ADMIN_CHANNELS)}"
            " and a user id of 1–128 characters, e.g. telegram:123456789"
        )
    return channel, user_id.strip()


def actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in some containers
        return "cli"


def run(work: Callable[[], T]) -> T:
    """A use case; when its rules say no (no such token, a name too long) the command exits
    with the reason: see `setup.refusal` for which code."""
    try:
        return work()
    except DomainError as error:
        details = ", ".join(f"{key}={value!r}" for key, value in error.params.items())
        raise setup.refusal(error, error.message + (f" ({details})" if details else "")) from None


@admin_app.command("add")
def admin_add(identity: Identity) -> None:
    """Give a chat user admin rights (they can use /stats, /sale, /use, /grant, /member)."""
    channel, user_id = parse_identity(identity)
    with setup.opened() as app, app.database.session() as session:
        info = run(
            lambda: add_admin(
                session,
                clock=app.clock,
                channel=channel,
                platform_user_id=user_id,
                added_by=actor(),
            )
        )
    verb = "is now an admin" if info.changed else "was already an admin"
    typer.echo(f"{channel}:{user_id} {verb}")


@admin_app.command("remove")
def admin_remove(identity: Identity) -> None:
    """Take admin rights away from a chat user added with `loyalty admin add`. Exit code 1
    when they were not an admin, or still are one through LOYALTY_ADMINS."""
    channel, user_id = parse_identity(identity)
    with setup.opened() as app, app.database.session() as session:
        configured = (channel, user_id) in app.settings.admins
        removed = run(
            lambda: remove_admin(
                session,
                clock=app.clock,
                channel=channel,
                platform_user_id=user_id,
                removed_by=actor(),
            )
        )
    typer.echo(
        f"{channel}:{user_id} "
        + ("is no longer an admin" if removed else "was not an admin; nothing to remove")
    )
    if configured:
        typer.echo("It is still an admin through LOYALTY_ADMINS; remove it there as well.")
    if configured or not removed:
        raise typer.Exit(setup.REFUSED)


@admin_app.command("list")
def admin_list() -> None:
    """Admins from LOYALTY_ADMINS and from `loyalty admin add`."""
    with setup.opened() as app, app.database.reader() as session:
        rows = session.exec(select(Admin).order_by(Admin.channel, Admin.platform_user_id)).all()
        table = Table("admin", "from", "added by", "added at")
        for channel, user_id in app.settings.admins:
            table.add_row(escape(f"{channel}:{user_id}"), "LOYALTY_ADMINS", "", "")
        for row in rows:
            table.add_row(
                escape(f"{row.channel}:{row.platform_user_id}"),
                "loyalty admin add",
                escape(row.added_by),
                f"{row.created_at:%Y-%m-%d %H:%M} UTC",
            )
    if not table.row_count:
        typer.echo("No admins yet. Add one with: loyalty admin add telegram:123456789")
        return
    out.print(table)


@token_app.command("create")
def token_create(name: TokenName) -> None:
    """Make an admin API token. It is printed once and stored only as a hash."""
    with setup.opened() as app, app.database.session() as session:
        plaintext, info = run(
            lambda: create_api_token(session, clock=app.clock, name=name, actor=actor())
        )
    typer.echo(f"API token {info.name!r} created. Use it as: Authorization: Bearer <token>")
    typer.echo(plaintext)
    typer.echo("Copy it now: only its hash is stored, so it cannot be shown again.")


@token_app.command("revoke")
def token_revoke(name: TokenName) -> None:
    """Revoke a token by name; it stops working at once."""
    with setup.opened() as app, app.database.session() as session:
        info = run(lambda: revoke_api_token(session, clock=app.clock, name=name, actor=actor()))
    typer.echo(f"API token {info.name!r} ({info.prefix}…) is revoked")


@token_app.command("list")
def token_list() -> None:
    """Tokens by name, with the first characters of each, when made and last used."""
    with setup.opened() as app, app.database.reader() as session:
        tokens = session.exec(select(ApiToken).order_by(col(ApiToken.created_at))).all()
    if not tokens:
        typer.echo("No API tokens yet. Make one with: loyalty token create NAME")
        return
    table = Table("name", "token starts", "created", "last used", "status")
    for token in tokens:
        table.add_row(
            escape(token.name),
            f"{token.prefix}…",
            f"{token.created_at:%Y-%m-%d %H:%M} UTC",
            f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never",
            "revoked" if token.revoked_at else "active",
        )
    out.print(table)
