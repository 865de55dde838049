"""Signing in to the console: server-side sessions, the login page, throttling.

- A session lives in the database (:class:`DatabaseSessionStore`); the browser
  holds only its random id in an HttpOnly, SameSite=Lax cookie (Secure when the
  service is served over TLS). It ends after :attr:`ConsoleSettings.idle_minutes`
  without a request, at 退出, when its user is disabled, and at the latest
  :data:`SESSION_LIFETIME` after signing in.
- A session id is adopted only from a session that is signed in: signing in
  always starts under a new id, so an id planted in a browser beforehand is
  worthless (session fixation). An anonymous visitor gets no session at all.
- Sign-ins are checked by :func:`ledger.users.check_password` and throttled by
  :func:`ledger.users.sign_in_wait` over the audit log, per (user name, client
  address) and per client address — never per name alone, so nobody can keep a user
  out by guessing from elsewhere: every success, failure and throttled attempt is an
  audit entry (``session.*``), and the failures in the log are what the throttle
  counts, so it holds across workers and restarts.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, cast
from urllib.parse import quote, urlsplit

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.stores.base import Store
from litestar.types import Empty, Message
from litestar.types.asgi_types import ScopeSession
from sqlalchemy import Engine

from api.http.base import request_id
from ledger import audit as audit_log
from ledger import clock, users
from ledger.books.postings import utc_now
from ledger.errors import digits
from ledger.users import User
from schema.db import UnitOfWork
from schema.session_store import SqlSessionStore

SESSION_COOKIE: Final = "studio_ledger_session"
CSRF_COOKIE: Final = "studio_ledger_csrf"
SESSION_LIFETIME: Final = timedelta(hours=12)
USER_KEY: Final = "user"
SIGNED_IN_AT: Final = "signed_in_at"
HOME: Final = "/console"
SESSIONS_STORE: Final = "console_sessions"
ADDRESS_SCAN: Final = 10_000
"""The newest failed sign-ins of the window read to count one address's: failures from
elsewhere beyond it could hide this address's older ones, which are then forgiven."""
BAD_SIGN_IN: Final = "用户名或密码错误。"
"""The refusal of a wrong name or password (never saying which)."""
PAIR_SCAN: Final = 1_000
"""The newest failed sign-ins of one name read to count one (name, address) pair's."""
MANUAL: Final = "/manual"
"""Where the service serves the built manual (``mkdocs build``), to everyone."""
UNSESSIONED: Final = ("^/api/", "^/schema", "^/health", "^/static/", f"^{MANUAL}(/|$)")
"""Paths that never read or write a console session (the API authenticates by token;
reading the manual keeps no session alive and sets no cookie)."""


@dataclass(frozen=True)
class ConsoleSettings:
    """How long an idle session lives, and whether cookies are sent only over TLS."""

    idle_minutes: int = 30
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, *, tls: bool = False) -> ConsoleSettings:
        """``STUDIO_LEDGER_SESSION_IDLE_MINUTES`` (default 30); Secure cookies when
        served over TLS or ``STUDIO_LEDGER_SECURE_COOKIES=1`` (behind a proxy that
        terminates TLS)."""
        idle = os.environ.get("STUDIO_LEDGER_SESSION_IDLE_MINUTES", "")
        secure = tls or os.environ.get("STUDIO_LEDGER_SECURE_COOKIES", "") not in ("", "0")
        return cls(int(idle) if digits(idle) and int(idle) > 0 else 30, secure)


# -- sessions -------------------------------------------------------------------------


class DatabaseSessionStore(Store):
    """Litestar's session store interface over :class:`SqlSessionStore`, each call in a
    worker thread so the event loop never waits on the database."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = SqlSessionStore(engine)

    @staticmethod
    def _seconds(value: int | timedelta | None) -> int | None:
        return int(value.total_seconds()) if isinstance(value, timedelta) else value

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        await anyio.to_thread.run_sync(self.sessions.set, key, data, self._seconds(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await anyio.to_thread.run_sync(self.sessions.get, key, self._seconds(renew_for))

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self.sessions.delete, key)

    async def delete_all(self) -> None:
        await anyio.to_thread.run_sync(self.sessions.delete_all)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await anyio.to_thread.run_sync(self.sessions.expires_in, key)


FRESH_SESSION: Final = "studio_ledger.fresh_session"
"""Set in a request's scope by :func:`start_session`: its session goes on under this new
id, and the id the browser came with is deleted."""


def start_session(request: Request[Any, Any, Any], data: dict[str, Any]) -> None:
    """Sign in: ``data`` is kept under a new session id, never the one the browser came
    with (an id planted beforehand, or another user's), and that old session ends."""
    scope = cast("dict[str, Any]", request.scope)
    scope[FRESH_SESSION] = secrets.token_hex(32)
    request.set_session(data)


class SignedInSessions(ServerSideSessionBackend):
    """Server-side sessions that adopt a browser's id only for a signed-in session, store
    nothing for an anonymous visitor, and start under a new id at every sign-in."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get(FRESH_SESSION)
        if isinstance(fresh, str):
            return fresh
        decided = connection.get_session_id()  # chosen when the request came in
        if decided:
            return decided
        given = connection.cookies.get(self.config.key)
        session = connection.scope.get("session")
        signed_in = isinstance(session, dict) and bool(session.get(USER_KEY))
        if given and given != "null" and (signed_in or session is Empty):
            return given  # a signed-in session goes on; a cleared one (退出) is deleted
        return self.generate_session_id()

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        given = connection.cookies.get(self.config.key)
        if not scope_session and given in (None, "null"):
            return  # an anonymous visitor: nothing to keep, no cookie to clear
        if connection.scope.get(FRESH_SESSION) and given not in (None, "null"):
            await self.delete(str(given), store=self.config.get_store_from_app(connection.app))
        await super().store_in_message(scope_session or Empty, message, connection)


class SignedInSessionConfig(ServerSideSessionConfig):
    _backend_class = SignedInSessions


def session_config(settings: ConsoleSettings) -> SignedInSessionConfig:
    return SignedInSessionConfig(
        key=SESSION_COOKIE,
        max_age=settings.idle_minutes * 60,
        renew_on_access=True,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        store=SESSIONS_STORE,
        exclude=list(UNSESSIONED),
        scopes={"http"},  # type: ignore[arg-type]
    )


# -- who is signed in -------------------------------------------------------------------


class SessionExpired(NotAuthorizedException):
    """The browser brought a session the server no longer has (idle timeout, 退出)."""


def _session_user(engine: Engine, session: dict[str, Any]) -> User | None:
    name = session.get(USER_KEY)
    at = session.get(SIGNED_IN_AT)
    if not isinstance(name, str) or not isinstance(at, str):
        return None
    if datetime.fromisoformat(at) + SESSION_LIFETIME <= clock.now():
        return None
    with UnitOfWork(engine, write=False) as uow:
        return users.signed_in(uow, name)  # None once the user is disabled


class SessionAuthentication(AbstractAuthenticationMiddleware):
    """The console's pages: the signed-in user of the session, else to the login page."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        session = connection.scope.get("session")
        engine: Engine = connection.app.state.engine
        user = None
        if isinstance(session, dict) and session:
            user = await anyio.to_thread.run_sync(_session_user, engine, session)
        if user is None:
            if connection.cookies.get(SESSION_COOKIE) not in (None, "null"):
                raise SessionExpired("会话已过期，请重新登录")
            raise NotAuthorizedException("请先登录")
        return AuthenticationResult(user=user, auth=session)


def login_redirect(request: Request[Any, Any, Any], error: NotAuthorizedException) -> Response[Any]:
    """Send a visitor who is not signed in (or whose session ended) to the login page,
    remembering where they were going."""
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    reason = "&expired=1" if isinstance(error, SessionExpired) else ""
    response: Response[Any] = Redirect(f"/?next={quote(target, safe='')}{reason}")
    if isinstance(error, SessionExpired):
        response.delete_cookie(SESSION_COOKIE)
    return response


# -- the login page ------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    return target


@dataclass
class SignInForm:
    name: str = ""
    password: str = ""
    next: str = ""


SIGN_IN_HELP: Final = f"{MANUAL}/quickstart/#sign-in"
"""The login page's 帮助: how to sign in, in the manual's 快速开始."""


def _login_page(
    next_: str | None,
    message: str | None = None,
    *,
    kind: str = "error",
    name: str = "",
    status: int = 200,
) -> Template:
    return Template(
        "login.html",
        context={
            "next": _safe_next(next_),
            "message": message,
            "kind": kind,
            "name": name,
            "help": SIGN_IN_HELP,
        },
        status_code=status,
    )


@get("/", opt={"action": "public"}, include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """The login page (用户名, 密码, 登录); a signed-in user goes straight to the console."""
    params = request.query_params
    if request.session.get(USER_KEY):
        return Redirect(_safe_next(params.get("next")))
    if params.get("signed_out"):
        return _login_page(None, "您已安全退出。", kind="success")
    message = "会话已过期，请重新登录。" if params.get("expired") else None
    return _login_page(params.get("next"), message)


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def throttle_wait(uow: UnitOfWork, name: str, source: str, now: datetime) -> timedelta | None:
    """How long ``name`` must wait before trying a password from ``source``
    (:func:`ledger.users.sign_in_wait`, per pair and per address), from the failures of
    the window in the audit log, the newest first."""
    window = now - users.SIGN_IN_WINDOW
    failed = "session.sign_in_failed"
    pair = audit_log.entries(
        uow, 0, PAIR_SCAN, action=failed, target=f"user:{name}", start=window, newest_first=True
    )
    recent = audit_log.entries(uow, 0, ADDRESS_SCAN, action=failed, start=window, newest_first=True)
    waits = (
        users.sign_in_wait([f.at for f in pair if f.detail.get("ip") == source], now),
        users.sign_in_wait(
            [f.at for f in recent if f.detail.get("ip") == source], now, users.FREE_ADDRESS_TRIES
        ),
    )
    return max((w for w in waits if w is not None), default=None)


def checked_password(
    engine: Engine,
    name: str,
    password: str,
    source: str,
    rid: str,
    success: str | None = "session.sign_in",
) -> tuple[User | None, str | None]:
    """``name``'s password checked as a sign-in is, throttled and audit-logged in a unit
    of work of its own (a refusal is kept; a success as ``success``, if it names an
    action): the user, or why not (in Chinese)."""
    now = utc_now()
    target = f"user:{name}"
    with UnitOfWork(engine) as uow:
        if (wait := throttle_wait(uow, name, source, now)) is not None:
            audit_log.record(uow, name, "session.sign_in_throttled", target, rid, {"ip": source})
            uow.commit()
            return None, f"登录失败次数过多，请 {users.wait_words(wait)}后再试。"
        # always one Argon2 verification, whatever was typed: a flood of empty
        # sign-ins costs the sender as much as real ones
        user = users.check_password(uow, name, password)
        action = "session.sign_in_failed" if user is None else success
        if action is not None:
            audit_log.record(uow, name, action, target, rid, {"ip": source})
        uow.commit()
    return user, None if user is not None else BAD_SIGN_IN


def _sign_in(
    engine: Engine, form: SignInForm, source: str, rid: str
) -> tuple[User | None, str | None]:
    """Check ``form`` and write its audit entry: the user, or why not (in Chinese)."""
    return checked_password(engine, form.name.strip()[:50], form.password, source, rid)


@post("/sign-in", opt={"action": "public"}, include_in_schema=False)
async def sign_in(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    """Check the password; start a new session on success."""
    user, refusal = await anyio.to_thread.run_sync(
        _sign_in, state.engine, data, client_address(request), request_id(request)
    )
    if user is None:
        return _login_page(data.next, refusal, name=data.name.strip()[:50], status=401)
    start_session(
        request, {USER_KEY: user.name, SIGNED_IN_AT: clock.now().isoformat(timespec="seconds")}
    )
    return Redirect(_safe_next(data.next))


def _sign_out(engine: Engine, name: str, source: str, rid: str) -> None:
    with UnitOfWork(engine) as uow:
        audit_log.record(uow, name, "session.sign_out", f"user:{name}", rid, {"ip": source})
        uow.commit()


@post("/sign-out", opt={"action": "public"}, include_in_schema=False)
async def sign_out(request: Request[Any, Any, Any], state: State) -> Redirect:
    """退出: the session is deleted on the server and its cookie cleared."""
    name = request.session.get(USER_KEY)
    if isinstance(name, str):
        await anyio.to_thread.run_sync(
            _sign_out, state.engine, name, client_address(request), request_id(request)
        )
    request.clear_session()
    return Redirect("/?signed_out=1")
