"""The HTTP service (SPEC §7): ``create_app()`` builds the Litestar application.

This module owns the cross-cutting parts; the resources live in
:mod:`api.resources` and only translate (parse, authorize, call one service,
shape the answer):

- authentication: ``Authorization: Bearer <token>``; tokens are looked up by
  their SHA-256 hash (:class:`TokenAuthentication`);
- authorization: every handler declares ``opt={"roles": ...}`` and one guard
  (:func:`requires_declared_role`) enforces it, refusing handlers that declare
  none, so a new endpoint cannot be left open by accident;
- errors: one mapping turns the whole :class:`~ledger.errors.LedgerError`
  tree into RFC 9457 problem details (:func:`problem_for`);
- writes: :func:`write` runs one unit of work, appends to the audit log, and
  honours ``Idempotency-Key`` (a replay returns the stored answer, the same
  key with another body is 409), all in one database transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, TypeVar

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from ledger import errors, imports, program
from ledger.users import User, token_hash
from schema.audit_store import StoredAnswer
from schema.db import UnitOfWork, connect, database_url, is_conflict

T = TypeVar("T")

API: Final = "/api/v1"
PUBLIC: Final = "public"
OPENAPI_PATH: Final = "/schema"
MAX_KEY_LENGTH: Final = 200
READERS: Final = ("clerk", "approver", "auditor", "admin")


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment, once."""

    database_url: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(database_url(None))


# -- authentication and authorization ------------------------------------------


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """``Authorization: Bearer <token>`` → the user whose token hash matches."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("an API token is required: Authorization: Bearer <token>")
        engine: Engine = connection.app.state.engine
        with UnitOfWork(engine, write=False) as uow:
            user = uow.batches.user_by_token(token_hash(token.strip()))
        if user is None:
            raise NotAuthorizedException("the API token is unknown or its user is disabled")
        return AuthenticationResult(user=user, auth=token)


def requires_declared_role(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Let the request through only if the user's role is one the handler declares."""
    roles = handler.opt.get("roles")
    if roles == PUBLIC or (roles is None and connection.url.path.startswith(OPENAPI_PATH)):
        return  # the health check and the OpenAPI document are public by design
    if not roles:
        raise PermissionDeniedException(f"{handler} declares no roles and is closed")
    user: User = connection.user
    if user.role not in roles:
        raise PermissionDeniedException(
            f"{user.name} is {user.role}; this needs {' or '.join(roles)}"
        )


# -- errors ---------------------------------------------------------------------

_PROBLEMS: Final[tuple[tuple[type[Exception], int, str], ...]] = (
    (imports.ImportRefused, 422, "The file was refused"),
    (program.CompositionRefused, 422, "The roster was refused"),
    (errors.ClosedPeriodError, 409, "Period closed"),
    (errors.InvalidInputError, 422, "The input was refused"),
    (errors.ValidationError, 422, "The input was refused"),
    (errors.NotFoundError, 404, "Not found"),
    (errors.UnknownUserError, 403, "Unknown user"),
    (errors.PermissionDeniedError, 403, "Not allowed for this role"),
    (errors.MakerCheckerError, 403, "Refused by maker-checker"),
    (errors.OverdraftError, 409, "Insufficient balance"),
    (errors.IdempotencyConflictError, 409, "Idempotency key reused"),
    (errors.InvalidTransitionError, 409, "Not allowed in this state"),
    (errors.ReversalError, 409, "Reversal refused"),
    (errors.LedgerError, 400, "Refused"),
)


def _kebab(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def problem_for(error: Exception) -> ProblemDetailsException:
    """The RFC 9457 problem for a domain refusal; field paths for validation errors."""
    status, title = next((s, t) for kind, s, t in _PROBLEMS if isinstance(error, kind))
    extra: dict[str, Any] = {}
    if isinstance(error, errors.InvalidInputError):
        extra["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    elif isinstance(error, errors.ValidationError):
        extra["errors"] = [{"field": error.field, "message": error.message}]
    elif isinstance(error, imports.ImportRefused):
        extra["errors"] = [
            {"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.reason}
            for p in error.problems
        ]
    return ProblemDetailsException(
        status_code=status,
        title=title,
        detail=str(error),
        type_=f"urn:studio-ledger:problem:{_kebab(type(error).__name__)}",
        extra=extra,
    )


def http_problem(error: HTTPException) -> ProblemDetailsException:
    """Litestar's own refusals (401, 403, 404, 405, a malformed parameter or body) as
    problem details: ``title`` the status phrase, ``detail`` what was wrong."""
    status = error.status_code
    extra: dict[str, Any] = {}
    if isinstance(error.extra, list):
        extra["errors"] = [
            {"field": e.get("key"), "source": e.get("source"), "message": e.get("message")}
            for e in error.extra
            if isinstance(e, dict)
        ]
    return ProblemDetailsException(
        status_code=status,
        title=HTTPStatus(status).phrase,
        detail=error.detail,
        type_=f"urn:studio-ledger:problem:http-{status}",
        extra=extra,
        headers=error.headers,
    )


def _out_of_range(_error: DataError) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=422,
        title="The input was refused",
        detail="a value is too long or out of range for what the ledger stores; "
        "nothing was written",
        type_="urn:studio-ledger:problem:out-of-range",
    )


def _conflict(error: IntegrityError) -> ProblemDetailsException:
    if not is_conflict(error):
        # a value the domain should have refused reached a database rule: refuse it
        # as input, never as a race the client would retry forever
        return ProblemDetailsException(
            status_code=422,
            title="The input was refused",
            detail="the change breaks a rule the ledger's database keeps; nothing was written",
            type_="urn:studio-ledger:problem:database-rule",
        )
    return ProblemDetailsException(
        status_code=409,
        title="Conflicting write",
        detail="another request changed the same data at the same time; nothing was written, "
        "try again",
        type_="urn:studio-ledger:problem:conflicting-write",
    )


# -- writes -----------------------------------------------------------------------


def request_id(request: Request[Any, Any, Any]) -> str:
    given = request.headers.get("X-Request-Id", "")
    return given[:64] if given else uuid.uuid4().hex


def write(
    request: Request[Any, Any, Any],
    *,
    action: str,
    data: Any,
    run: Callable[[UnitOfWork], T],
    answer: Callable[[T], Any],
    target: Callable[[T], str],
    status: int = 200,
) -> Response[Any]:
    """Run one write in one unit of work: the change, its audit entry and its stored
    answer (when the request carries an ``Idempotency-Key``) commit together."""
    user: User = request.user
    rid = request_id(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise errors.ValidationError("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} characters")
    body_hash = hashlib.sha256(msgspec.json.encode(data)).hexdigest()
    engine: Engine = request.app.state.engine
    with UnitOfWork(engine) as uow:
        if key:
            uow.audit.lock_key(key)
            first = uow.audit.answer(key)
            if first is not None:
                same = (first.actor, first.method, first.path, first.body_hash) == (
                    user.name,
                    request.method,
                    request.url.path,
                    body_hash,
                )
                if not same:
                    raise ProblemDetailsException(
                        status_code=409,
                        title="Idempotency key reused",
                        detail=f"Idempotency-Key {key!r} was used for a different request",
                        type_="urn:studio-ledger:problem:idempotency-key-reused",
                    )
                return Response(
                    first.response,
                    status_code=first.status,
                    headers={"X-Request-Id": rid, "Idempotent-Replayed": "true"},
                )
        result = run(uow)
        content = msgspec.to_builtins(answer(result))
        uow.audit.record(
            user.name,
            action,
            target(result),
            rid,
            {"method": request.method, "path": request.url.path},
        )
        if key:
            uow.audit.remember(
                key,
                StoredAnswer(
                    user.name, request.method, request.url.path, body_hash, status, content
                ),
            )
        uow.commit()
    return Response(content, status_code=status, headers={"X-Request-Id": rid})


def read(request: Request[Any, Any, Any], run: Callable[[UnitOfWork], T]) -> T:
    """Run a read in its own read-only unit of work."""
    with UnitOfWork(request.app.state.engine, write=False) as uow:
        return run(uow)


# -- the application ------------------------------------------------------------------


@get(
    "/health",
    opt={"roles": PUBLIC, "exclude_from_auth": True},
    sync_to_thread=True,
    tags=["service"],
)
def health(state: State) -> Response[dict[str, str]]:
    """Whether the service can reach its database."""
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        return Response({"status": "unavailable", "database": str(error.orig)}, status_code=503)
    return Response({"status": "ok", "database": "reachable"})


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    """The Litestar application for ``settings`` (default: from the environment)."""
    from api.resources import ROUTERS  # noqa: PLC0415 (resources import this module)

    settings = settings or Settings.from_env()
    engine = engine or connect(settings.database_url)
    return Litestar(
        route_handlers=[health, *ROUTERS],
        state=State({"engine": engine}),
        guards=[requires_declared_role],
        middleware=[
            DefineMiddleware(TokenAuthentication, exclude=[f"^{OPENAPI_PATH}", "^/health"])
        ],
        plugins=[
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    exception_to_problem_detail_map={
                        errors.LedgerError: problem_for,
                        HTTPException: http_problem,
                        IntegrityError: _conflict,
                        DataError: _out_of_range,
                    },
                )
            )
        ],
        openapi_config=OpenAPIConfig(
            title="Studio Fund Ledger",
            version="1.0.0",
            description="名师工作室专项资金台账: amounts are integer fen (`*_fen`).",
            render_plugins=[SwaggerRenderPlugin()],
            path="/schema",
        ),
        on_shutdown=[engine.dispose],
    )
