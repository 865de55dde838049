"""The HTTP service (SPEC §7): ``create_app()`` assembles the Litestar application.

This module owns the cross-cutting parts and is the one place that lists the
feature controllers (:mod:`api.http`), which only translate (parse, call one
service, shape the answer):

- authentication: ``Authorization: Bearer <token>``; tokens are looked up by
  their SHA-256 hash (:class:`TokenAuthentication`);
- authorization: every handler names its action (``opt={"action": ...}``) and one
  guard (:func:`requires_permission`) asks :mod:`ledger.permissions`, refusing
  handlers that name none, so a new endpoint cannot be left open by accident;
- errors: one mapping turns the whole :class:`~ledger.errors.LedgerError` tree,
  and Litestar's own refusals, into RFC 9457 problem details (:func:`problem_for`).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio
import msgspec
from litestar import Litestar, Request, Response, Router, get
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme, Tag
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.response.base import ASGIResponse
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.typing import FieldDefinition
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import api.console
import api.metrics
from api.console.auth import (
    MANUAL,
    SESSIONS_STORE,
    ConsoleSettings,
    DatabaseSessionStore,
    session_config,
)
from api.http import (
    audit,
    batches,
    books,
    cycles,
    funds,
    jobs,
    registry,
    statements,
    tax,
    users,
)
from api.http.base import refusal_of, request_id
from api.shapes import key_trouble_for
from ledger import errors, permissions
from ledger.books.postings import utc_now
from ledger.errors import digits
from ledger.users import (
    TOKEN_LIFETIME,
    User,
    UserRecord,
    note_token_use,
    token_hash,
    token_refusal,
    token_use_is_news,
)
from ledger.workbooks import imports
from schema.db import (
    UnitOfWork,
    connect,
    database_url,
    is_conflict,
    is_sqlite,
    unsnapshotted,
)
from schema.user_store import token_holder

T = TypeVar("T")

log = logging.getLogger(__name__)

API: Final = "/api/v1"
PUBLIC: Final = "public"
OPENAPI_PATH: Final = "/schema"
ASSETS: Final = f"{OPENAPI_PATH}/assets"
SWAGGER_UI: Final = Path(__file__).parent / "static" / "swagger-ui"
"""Swagger UI's files, served by the app itself: an intranet has no CDN."""
MANUAL_SITE: Final = Path(__file__).resolve().parent.parent / "site"
"""Where ``mkdocs build`` writes the manual (mkdocs.yml's ``site_dir``), beside the code;
``STUDIO_LEDGER_MANUAL_DIR`` names another folder."""
BUILD_THE_MANUAL: Final = '.venv/bin/pip install -e ".[docs]" && .venv/bin/mkdocs build'
"""The command /manual/ gives until the manual has been built."""


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment, once: the database and the
    console's sessions (:meth:`ConsoleSettings.from_env`). The CSRF key is the one
    the migrations stored, unless given (only for an app that serves no forms)."""

    database_url: str
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    csrf_secret: str | None = None
    token_lifetime: timedelta = TOKEN_LIFETIME
    manual: Path | None = None
    """The built manual's folder; None (an app made in code, a test) serves none."""

    @classmethod
    def from_env(cls) -> Settings:
        days = os.environ.get("STUDIO_LEDGER_TOKEN_DAYS", "").strip()
        if days and (not digits(days) or not 1 <= int(days) <= 3650):
            raise ValueError(f"STUDIO_LEDGER_TOKEN_DAYS must be whole days 1-3650, got {days!r}")
        lifetime = timedelta(days=int(days)) if days else TOKEN_LIFETIME
        manual = os.environ.get("STUDIO_LEDGER_MANUAL_DIR", "").strip()
        return cls(
            database_url(None),
            ConsoleSettings.from_env(),
            token_lifetime=lifetime,
            manual=Path(manual) if manual else MANUAL_SITE,
        )


# -- authentication and authorization ------------------------------------------


class TokenAuthentication(AbstractAuthenticationMiddleware):
    """``Authorization: Bearer <token>`` → the user whose token hash matches. On
    PostgreSQL the look-up runs on the event loop through psycopg's async connection
    (:func:`token_reader`: no thread hand-off, no transaction); on SQLite in a worker
    thread. Either way the event loop never waits on the database."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("需要 API 令牌：Authorization: Bearer <令牌>")
        state = connection.app.state
        hashed = token_hash(token.strip())
        reader: AsyncEngine | None = state.token_reader
        if reader is None:
            user = await anyio.to_thread.run_sync(
                token_user, state.engine, hashed, state.token_lifetime
            )
            return AuthenticationResult(user=user, auth=token)
        async with reader.connect() as found:
            holder = await found.run_sync(token_holder, hashed)
        now = utc_now()
        admitted = admit(holder, now, state.token_lifetime)
        if token_use_is_news(admitted, now):
            await anyio.to_thread.run_sync(note_use, state.engine, admitted.name, now)
        return AuthenticationResult(user=admitted.user, auth=token)


TOKEN_POOL_SIZE: Final = 5
"""Connections the token look-up keeps on PostgreSQL (as many again at a peak): each is
held for one statement, so a few serve every request of the process."""


def token_reader(engine: Engine) -> AsyncEngine | None:
    """An asyncio engine on ``engine``'s PostgreSQL database for the token look-up, in
    autocommit (one statement: no BEGIN and ROLLBACK round trips); None on SQLite, whose
    reads cost no network round trip and whose async driver would hand each statement
    to a thread anyway."""
    if is_sqlite(engine):
        return None
    return create_async_engine(
        engine.url,
        pool_size=TOKEN_POOL_SIZE,
        max_overflow=TOKEN_POOL_SIZE,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
    )


def token_user(engine: Engine, hashed: str, lifetime: timedelta) -> User:
    """The user a token hash belongs to, or a refusal saying why not; notes the use (a
    write a minute at most, per user)."""
    now = utc_now()
    with unsnapshotted(engine).connect() as connection:  # one statement: no transaction
        holder = token_holder(connection, hashed)
    admitted = admit(holder, now, lifetime)
    if token_use_is_news(admitted, now):
        note_use(engine, admitted.name, now)
    return admitted.user


def admit(holder: UserRecord | None, now: datetime, lifetime: timedelta) -> UserRecord:
    """The token's holder if it lets them in now, else the refusal saying why not."""
    if refusal := token_refusal(holder, now, lifetime):
        raise NotAuthorizedException(refusal)
    assert holder is not None  # noqa: S101 (token_refusal refuses None)
    return holder


def note_use(engine: Engine, name: str, now: datetime) -> None:
    """Record that ``name``'s token let a request in (its own unit of work)."""
    with UnitOfWork(engine) as uow:
        note_token_use(uow, name, now)
        uow.commit()


def requires_permission(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Let the request through only if the user's role may do the handler's action."""
    action = handler.opt.get("action")
    if action == PUBLIC or (action is None and connection.url.path.startswith(OPENAPI_PATH)):
        return  # the health check and the OpenAPI document are public by design
    if not action:  # Litestar's own OPTIONS handler, or a route added without one
        log.warning(
            "refused %s %s: %s names no action",
            connection.scope.get("method"),
            connection.url.path,
            handler,
        )
        raise PermissionDeniedException("此操作未列入权限表，不对任何人开放")
    user: User = connection.user
    if not permissions.allows(user.role, action):
        raise permissions.refusal(user.name, user.role, action)


# -- errors ---------------------------------------------------------------------


def _kebab(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def problem_for(error: Exception) -> ProblemDetailsException:
    """The RFC 9457 problem for a domain refusal; field paths for validation errors."""
    refusal = refusal_of(error)
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
        status_code=refusal.status,
        title=refusal.title,
        detail=str(error),
        type_=f"urn:studio-ledger:problem:{_kebab(type(error).__name__)}",
        extra=extra,
    )


_AT: Final = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _refused_values(error: ValidationException) -> list[dict[str, Any]]:
    """Each value msgspec refused, with the path to it (``[0].grade``, ``studios[1].kind``).

    Litestar keeps only the parameter's name (``data``); the path is in the msgspec
    error it raises from, so the client learns which field of the body it was.
    """
    found = []
    for e in error.extra if isinstance(error.extra, list) else []:
        if not isinstance(e, dict):
            continue
        message, field, source = e.get("message"), e.get("key"), e.get("source")
        cause = error.__cause__
        if source == "body" and isinstance(cause, msgspec.ValidationError):
            match = _AT.match(str(cause))
            if match and match["path"] is not None:
                message = match["message"]
                field = match["path"].removeprefix(".data").removeprefix(".") or "body"
        found.append({"field": field, "source": source, "message": message})
    return found


PLAIN_STATUS: Final = {
    400: "请求格式有误",
    401: "需要有效的 API 令牌（Authorization: Bearer …）",
    403: "无权访问",
    404: "未找到",
    405: "此地址不支持该请求方法",
    413: "请求过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
}
"""Litestar's refusals in words, where it gave only the status's name."""


def http_problem(error: HTTPException) -> ProblemDetailsException:
    """Litestar's own refusals (401, 403, 404, 405, a malformed parameter or body) as
    problem details: ``title`` the status phrase, ``detail`` what was wrong.

    A well-formed request whose values break the contract (a wrong enum, a string too
    long, a number out of range) is 422 naming each field, like the domain's refusals;
    only a body that is not JSON at all stays 400."""
    status = error.status_code
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        extra["errors"] = _refused_values(error)
        status = 422
    said = error.detail
    if said == HTTPStatus(error.status_code).phrase:  # Litestar's own words: ours instead
        said = PLAIN_STATUS.get(error.status_code, said)
    return ProblemDetailsException(
        status_code=status,
        title=HTTPStatus(status).phrase,
        detail=said,
        type_=f"urn:studio-ledger:problem:http-{status}",
        extra=extra,
        headers=error.headers,
    )


def _out_of_range(_error: DataError) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=422,
        title="The input was refused",
        detail="某个值过长或超出账簿可存储的范围，没有写入任何内容",
        type_="urn:studio-ledger:problem:out-of-range",
    )


def _conflict(error: IntegrityError) -> ProblemDetailsException:
    if not is_conflict(error):
        # a value the domain should have refused reached a database rule: refuse it
        # as input, never as a race the client would retry forever
        return ProblemDetailsException(
            status_code=422,
            title="The input was refused",
            detail="此项更改违反账簿数据库的规则，没有写入任何内容",
            type_="urn:studio-ledger:problem:database-rule",
        )
    return ProblemDetailsException(
        status_code=409,
        title="Conflicting write",
        detail="另一请求同时更改了同一数据，没有写入任何内容，请重试",
        type_="urn:studio-ledger:problem:conflicting-write",
    )


# -- the application ------------------------------------------------------------------


@get(
    "/health",
    opt={"action": PUBLIC, "exclude_from_auth": True},
    sync_to_thread=True,
    tags=["service"],
    security=[{}],
)
def health(state: State) -> Response[dict[str, str]]:
    """Whether the service can reach its database."""
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        # the driver's words (host, user, database) are the operator's, in the log
        log.warning("health: the database is unreachable: %s", error.orig)
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "reachable"})


TAGS: Final = (
    ("studios", "工作室: the registry of studios and the roster (studios, people, memberships)."),
    ("people", "人员: payees, ID numbers and bank accounts masked."),
    ("units", "单位: host and member units by code, and the accounts their money comes from."),
    ("grades", "考核结果: the December assessment, which stipends follow."),
    (
        "funds",
        "拨款与应发: appropriations by assessment, decisions restoring funding, stipends owed.",
    ),
    ("cycles", "工作周期: each studio's cycles, their close (终结) and renewal (继续命名)."),
    ("receipts", "配套资金: the host unit's matching and members' units' support."),
    ("expenses", "活动支出: activity expenses within plan and balance."),
    ("batches", "劳务补贴发放: batches, maker-checker approval, payment and its files."),
    ("books", "账簿: balances, transactions, verify."),
    ("periods", "会计期间: monthly closes (结账)."),
    ("statements", "报表: 明细账, 收支汇总表, 科目余额表 (xlsx)."),
    ("policies", "政策: policy records, versioned by year."),
    ("jobs", "作业: scheduled jobs, their runs, running one now."),
    ("users", "用户: users, roles and API tokens."),
    ("tax", "代扣个人所得税: a month's tax withheld, paid over to the tax office (缴纳)."),
    ("audit", "审计日志: every state change."),
    ("service", "服务: the service's health."),
)


class StrictStructs(StructSchemaPlugin):
    """Documents ``additionalProperties: false`` for bodies that refuse unknown fields
    (``forbid_unknown_fields``), so the contract says what the service enforces."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if getattr(field_definition.type_, "__struct_config__", None) is not None and (
            field_definition.type_.__struct_config__.forbid_unknown_fields
        ):
            schema.additional_properties = False
        return schema


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document: a bearer token on every operation but the public ones."""
    return OpenAPIConfig(
        title="Studio Fund Ledger",
        version="1.0.0",
        description="名师工作室专项资金台账. Amounts are integer fen (`*_fen`); coded values "
        "are English codes with a Chinese `*_label` beside them. Send "
        "`Authorization: Bearer <token>`; which role may call an operation is its "
        "**Permission**. Errors are RFC 9457 problem details (`application/problem+json`). "
        "Writes accept an `Idempotency-Key` header.",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS}/swagger-ui-bundle.js",
                css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
            )
        ],
        path=OPENAPI_PATH,
        tags=[Tag(name=name, description=text) for name, text in TAGS],
        security=[{"BearerToken": []}],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API token from `studio-ledger users add` or "
                    "`users token` (shown once).",
                )
            }
        ),
    )


CONTROLLERS: Final = (
    registry.StudioController,
    registry.UnitController,
    registry.PersonController,
    registry.RosterController,
    registry.GradeController,
    registry.PolicyController,
    funds.AppropriationController,
    funds.EntitlementController,
    cycles.CycleController,
    cycles.FundingDecisionController,
    funds.ReceiptController,
    funds.ExpenseController,
    batches.BatchController,
    books.AccountController,
    books.TransactionController,
    books.VerifyController,
    books.PeriodController,
    books.VoucherController,
    books.AttachmentController,
    statements.StatementController,
    tax.TaxController,
    jobs.JobController,
    users.UserController,
    audit.AuditController,
)


CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""Every page may load only the app's own files and post only to the app: a name or memo
that slipped past the escaping could still run no script of its own; nothing frames it."""
SWAGGER_POLICY: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
"""Swagger UI's own page starts itself with an inline script holding the (public) API
document; it still loads nothing from outside, and nothing frames it."""
PROTECTIVE: Final = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
HSTS: Final = (b"strict-transport-security", b"max-age=31536000")
MANUAL_POLICY: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""The manual's pages (MkDocs Material) set themselves up with small inline scripts and
search in a worker of their own; they load nothing from outside either, and hold no
personal data."""
SWAGGER_PAGES: Final = frozenset({OPENAPI_PATH, f"{OPENAPI_PATH}/swagger"})
"""Where Swagger UI's page is served (``/schema`` is the render plugin's default too)."""


async def protective_headers(message: Message, scope: Scope) -> None:
    """The same headers on every response — page, error page, download, API answer,
    static file, Swagger UI, the manual — set in this one place:

    - ``Cache-Control: no-store`` (and the old ``Pragma: no-cache``): pages, downloads and
      API answers carry 身份证号 and bank accounts, so no browser or proxy keeps a copy —
      after 退出, the back button asks the server, which asks for a sign-in;
    - a Content-Security-Policy (:data:`CONTENT_SECURITY_POLICY`; Swagger UI's own,
      :data:`SWAGGER_POLICY`, and the manual's, :data:`MANUAL_POLICY`), ``nosniff``, a
      same-origin referrer, no framing;
    - HSTS when the request came over TLS.

    A header the response already sets is left as it is."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    path = scope["path"]
    if path.rstrip("/") in SWAGGER_PAGES:
        policy = SWAGGER_POLICY
    elif path == MANUAL or path.startswith(f"{MANUAL}/"):
        policy = MANUAL_POLICY
    else:
        policy = CONTENT_SECURITY_POLICY
    wanted = [*PROTECTIVE, (b"content-security-policy", policy.encode())]
    if scope.get("scheme") == "https":
        wanted.append(HSTS)
    message["headers"] = [*headers, *((n, v) for n, v in wanted if n not in present)]


def no_nul_in_path(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A path with a NUL names no file and no record: 404, before a static file's lookup
    fails on it."""
    if "\x00" in connection.scope["path"]:
        raise NotFoundException()


def chain_key_refused(
    request: Request[Any, Any, Any], error: errors.ChainKeyError
) -> Response[Any]:
    """A write refused for the chain key: its words (the key file) for an admin only."""
    user = request.scope.get("user")
    told = key_trouble_for(user.role if isinstance(user, User) else None, str(error))
    problem = problem_for(error)
    return ProblemDetailsException(
        status_code=problem.status_code, title=problem.title, detail=told, type_=problem.type_
    ).to_response(request)


def crashed(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A failure nothing else answers: logged with its traceback and the request's id, and
    told to the caller as a problem naming that id (never the error's own words)."""
    rid = request_id(request)
    log.error("%s %s failed (request %s)", request.method, request.url.path, rid, exc_info=error)
    return Response(
        {
            "type": "urn:studio-ledger:problem:internal-error",
            "title": "Internal Server Error",
            "status": 500,
            "detail": f"处理请求时出错（编号 {rid}）。请把编号告诉系统管理员；"
            "是否已办理，可在审计日志中查看。",
            "request_id": rid,
        },
        status_code=500,
        media_type="application/problem+json",
    )


@get(
    [MANUAL, f"{MANUAL}/{{rest:path}}"],
    opt={"action": PUBLIC},
    include_in_schema=False,
    media_type="text/html",
    status_code=404,
)
async def manual_not_built() -> str:
    """What /manual/ says until the manual has been built."""
    return (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>使用手册尚未生成</title>'
        '<link rel="stylesheet" href="/static/console/console.css"><main><h1>使用手册尚未生成</h1>'
        "<p>请在程序所在的目录运行下面的命令生成手册，然后重新启动服务：</p>"
        f"<pre>{BUILD_THE_MANUAL}</pre></main></html>"
    )


def manual_slash(app: ASGIApp) -> ASGIApp:
    """``/manual`` and ``/manual/guide/clerk`` → the same with a slash (301): the manual's
    pages link relative to their folder's address, which the router would not tell
    apart from the address without the slash."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        # as asked (the router drops a trailing slash); some clients' raw_path holds the query
        raw = (scope.get("raw_path") or scope.get("path", "").encode()).split(b"?", 1)[0]
        path = raw.decode("latin-1")
        folder = path == MANUAL or (
            path.startswith(f"{MANUAL}/")
            and not path.endswith("/")
            and "." not in path.rsplit("/", 1)[-1]
        )
        if scope["type"] != ScopeType.HTTP or not folder:
            await app(scope, receive, send)
            return
        location = raw + b"/"
        if query := scope.get("query_string"):
            location += b"?" + query
        moved = ASGIResponse(status_code=301, headers={"location": location.decode("latin-1")})
        await moved(scope, receive, send)

    return middleware


def manual_routes(site: Path | None) -> list[Any]:
    """The built manual at /manual/ (same origin, nothing from outside), or a page saying
    how to build it."""
    if site is None or not (site / "index.html").is_file():
        return [manual_not_built]
    return [
        create_static_files_router(
            path=MANUAL,
            directories=[site],
            html_mode=True,
            include_in_schema=False,
            opt={"action": PUBLIC},
            name="manual",
        )
    ]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    """The Litestar application for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    engine = engine or connect(settings.database_url)
    templates = api.console.template_config()
    return Litestar(
        route_handlers=[
            health,
            api.metrics.metrics,
            Router(
                path=API,
                route_handlers=list(CONTROLLERS),
                middleware=[DefineMiddleware(TokenAuthentication)],
            ),
            api.console.console_router(),
            *api.console.public_routes(),
            create_static_files_router(
                path=ASSETS,
                directories=[SWAGGER_UI],
                include_in_schema=False,
                opt={"action": PUBLIC},
            ),
            *manual_routes(settings.manual),
        ],
        state=State(
            {
                "engine": engine,
                "token_reader": (reader := token_reader(engine)),
                "token_lifetime": settings.token_lifetime,
            }
        ),
        guards=[no_nul_in_path, requires_permission],
        middleware=[
            manual_slash,
            api.metrics.requests_config().middleware,
            session_config(settings.console).middleware,
        ],
        stores={SESSIONS_STORE: DatabaseSessionStore(engine)},
        template_config=templates,
        csrf_config=api.console.csrf_config(
            settings.csrf_secret or api.console.csrf_secret(engine), settings.console
        ),
        plugins=[
            FlashPlugin(FlashConfig(template_config=templates)),
            StrictStructs(),
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    exception_to_problem_detail_map={
                        errors.LedgerError: problem_for,
                        HTTPException: http_problem,
                        IntegrityError: _conflict,
                        DataError: _out_of_range,
                    },
                )
            ),
        ],
        openapi_config=openapi_config(),
        on_shutdown=[engine.dispose, *([reader.dispose] if reader is not None else [])],
        before_send=[protective_headers],
        exception_handlers={Exception: crashed, errors.ChainKeyError: chain_key_refused},
    )
