"""Dependencies of the admin API routes: services, sessions, the clock, the calling token,
and auditing a write in the same transaction as the write itself."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from bot.api.errors import ApiError
from bot.app import Services
from core.kernel import Clock
from core.programme import Programme
from core.staff import audit, verify_api_token

BOOTSTRAP_NAME = "bootstrap"
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="LOYALTY_API_TOKEN, or a token from `loyalty token create NAME`.",
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A session for one use case, which commits it itself."""
    with services.database.session() as session:
        yield session


def get_reader(services: ServicesDep) -> Iterator[Session]:
    """A session for reads only (on SQLite it does not queue behind writers)."""
    with services.database.reader() as session:
        yield session


def get_clock(services: ServicesDep) -> Clock:
    return services.clock


def get_programme(services: ServicesDep) -> Programme:
    return services.programme


SessionDep = Annotated[Session, Depends(get_session)]
ReaderDep = Annotated[Session, Depends(get_reader)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ProgrammeDep = Annotated[Programme, Depends(get_programme)]


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling: the token's name, and the key its rate limit is kept under."""

    name: str
    limit_key: str

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiCaller:
    """The caller of a valid bearer token, else 401 with `WWW-Authenticate: Bearer`."""
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials
    configured = services.settings.api_token
    if configured is not None and hmac.compare_digest(
        token.encode(), configured.get_secret_value().encode()
    ):
        return ApiCaller(name=BOOTSTRAP_NAME, limit_key="env:LOYALTY_API_TOKEN")
    with services.database.session() as session:
        info = verify_api_token(session, token=token, clock=services.clock)
    if info is None:
        raise ApiError(
            401,
            "unauthorized",
            "that token is not valid (unknown or revoked)",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return ApiCaller(name=info.name, limit_key=f"token:{info.id}")


TokenDep = Annotated[ApiCaller, Depends(authenticate)]


class AuditOnCommit:
    """Adds an audit row to the session's next commit, so the record and the write it
    describes are committed together or not at all (the use cases commit themselves).

    `committed` also tells a first run from a repeat: an idempotent repeat returns the
    stored result without committing anything."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        caller: ApiCaller,
        action: str,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.committed = False
        self._actor, self._action, self._target = caller.actor, action, target
        self._details, self._now = details, clock.now()
        sa.event.listen(session, "before_commit", self._add)
        sa.event.listen(session, "after_commit", self._done)

    def _add(self, session: Session) -> None:
        # A commit that fails (a unique-key race the use case retries) rolls this row back
        # with the rest, and the next attempt adds it again.
        if not self.committed:
            audit(
                session,
                actor=self._actor,
                action=self._action,
                target=self._target,
                details=self._details,
                now=self._now,
            )

    def _done(self, session: Session) -> None:
        self.committed = True
