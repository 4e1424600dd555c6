"""Error answers of the admin API: one JSON shape, and one place mapping errors to statuses.

Every refusal, whether the core's DomainError, a bad token, a rate limit or a request that
does not match the schema, is answered as {"error": code, "message": …, "params": {…}}.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from core.kernel import (
    ConsentRequired,
    DomainError,
    IdempotencyConflict,
    InvalidAnswer,
    InvalidInput,
    MemberErased,
    NotFound,
)

# First match wins. Anything else a DomainError says is a programme rule refusing a
# well-formed request in the current state (coupon used, stock gone, refund too big): 409.
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (MemberErased, 410),
    (IdempotencyConflict, 409),
    (InvalidInput, 422),
    (InvalidAnswer, 422),
    (ConsentRequired, 422),
)
REFUSED = 409


def status_for(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return REFUSED


class ErrorBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "member.not_found",
                    "message": "no member matches that",
                    "params": {"query": "M000999"},
                }
            ]
        }
    )

    error: str = Field(description="A stable code, e.g. `member.not_found`, `unauthorized`.")
    message: str = Field(description="What went wrong, in English, for people.")
    params: dict[str, Any] = Field(default_factory=dict, description="Details, by name.")


class ApiError(Exception):
    """A refusal by the API itself rather than the core: authentication, rate limits."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.params = params


def error_response(
    status: int,
    code: str,
    message: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": code, "message": message, "params": _plain(params or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(jsonable_encoder(params))
    except (TypeError, ValueError):  # a param no encoder knows: its text will do
        return {name: str(value) for name, value in params.items()}


def _validation_answer(exc: RequestValidationError) -> JSONResponse:
    # The input is not echoed back: it may be long, or personal.
    problems = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "request"
    return error_response(
        422,
        "invalid_request",
        f"{where}: {first['msg']}",
        {"errors": problems},
    )


class ApiRoute(APIRoute):
    """Routes of the admin API: turn every refusal into an ErrorBody with its status.

    A route class rather than app-wide exception handlers, so the mapping travels with
    the router and the rest of the app (webhooks, health) keeps FastAPI's defaults."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.params, exc.headers)
            except DomainError as exc:
                return error_response(status_for(exc), exc.code, exc.message, exc.params)
            except RequestValidationError as exc:
                return _validation_answer(exc)
            except HTTPException as exc:
                # FastAPI's own 400 is a body it could not read (not UTF-8, not JSON):
                # for a client, the same mistake as any other malformed request.
                status = 422 if exc.status_code == 400 else exc.status_code
                code = "invalid_request" if status == 422 else "http_error"
                headers = dict(exc.headers) if exc.headers else None
                return error_response(status, code, str(exc.detail), headers=headers)
            except DBAPIError as exc:
                # A connection lost (database restarted, network cut): the pool is already
                # dropped, so a retry gets a fresh connection. Anything else is a bug: 500.
                if not exc.connection_invalidated:
                    raise
                return error_response(
                    503,
                    "database_unavailable",
                    "the database connection was lost; retry shortly",
                    {"retry_after": 1},
                    {"Retry-After": "1"},
                )

        return handle


DESCRIPTIONS = {
    401: "No token, or not a valid one (`error`: `unauthorized`).",
    404: "Nothing has that number, code or id (`error`: e.g. `member.not_found`).",
    409: "Refused in the current state: the same idempotency key with another body "
    "(`idempotency.conflict`), a coupon already used or expired, a refund larger than "
    "what is left, an existing member (`member.exists`).",
    410: "The member's data was erased (`member.erased`).",
    422: "The request does not match the schema (`invalid_request`, with `params.errors`), "
    "or a value breaks a rule (`invalid_input`, `member.consent_required`).",
    429: "Too many requests with this token; retry after `Retry-After` seconds "
    "(`rate_limited`). Each web process keeps its own count.",
    503: "The database connection was lost, e.g. while the database restarted; nothing was "
    "written, retry after `Retry-After` seconds (`database_unavailable`).",
}
EXAMPLES: dict[int, dict[str, Any]] = {
    401: {
        "error": "unauthorized",
        "message": "send Authorization: Bearer <token>",
        "params": {},
    },
    404: {
        "error": "member.not_found",
        "message": "no such member",
        "params": {"number": "M000999"},
    },
    409: {
        "error": "idempotency.conflict",
        "message": "this idempotency key was used for a different request",
        "params": {"key": "purchase:POS-1001"},
    },
    410: {
        "error": "member.erased",
        "message": "this member's data was erased",
        "params": {"member_id": 12},
    },
    422: {
        "error": "invalid_input",
        "message": "the amount has more than two decimals",
        "params": {"amount": "10.001"},
    },
    429: {
        "error": "rate_limited",
        "message": "too many requests; slow down",
        "params": {"retry_after": 1},
    },
    503: {
        "error": "database_unavailable",
        "message": "the database connection was lost; retry shortly",
        "params": {"retry_after": 1},
    },
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": '`Bearer`, with `error="invalid_token"` for a wrong token.',
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "schema": {"type": "integer"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    },
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting these error statuses, with an example each."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": ErrorBody,
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"example": EXAMPLES[status]}},
        }
        if status in HEADERS:
            entry["headers"] = HEADERS[status]
        documented[status] = entry
    return documented
