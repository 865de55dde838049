"""The web console (SPEC §7): server-rendered pages in Chinese for clerks, approvers,
auditors and admins, inside the same Litestar app as the API and over the same
services, permission table, shapes and audit log.

- :mod:`api.console.auth`: sessions, the login page, throttled sign-in;
- :mod:`api.console.common`: the layout, acting on a form, refusals as pages;
- :mod:`api.console.pages`: the pages.

:func:`console_router` is what :func:`api.app.create_app` mounts; every asset
the pages load (CSS, JavaScript, the icon) is served from ``/static/console``,
since a county intranet has no internet.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, Final

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy import Engine

from api.console import auth, common, lookup_pages, money_pages, pages, voucher_pages
from ledger import clock
from ledger.errors import ChainKeyError
from ledger.money import format_plain, to_uppercase
from schema.keys import key_source

log = logging.getLogger("studio_ledger.console")

HERE: Final = Path(__file__).parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE.parent / "static" / "console"
STATIC_PATH: Final = "/static/console"


def _beijing(value: Any) -> str:
    """A recorded (UTC) time in 北京时间: ``2024-12-31 18:00``."""
    if value is None:
        return ""
    return f"{clock.local_time(value):%Y-%m-%d %H:%M}"


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_plain(fen)


def _months(months: Any) -> str:
    """Paid months as ranges: ``1–12月``, ``3–6、9月``."""
    runs: list[list[int]] = []
    for m in sorted(months or ()):
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    if not runs:
        return "—"
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) + "月"


def _brief(value: Any) -> str:
    """A job's count for a table cell: a number as it is, a list by its length, nothing
    as a dash."""
    if value is None:
        return "—"
    return f"{len(value)} 项" if isinstance(value, list | dict | tuple) else str(value)


def _setup(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(
        yuan=_yuan,
        upper=to_uppercase,
        beijing=_beijing,
        brief=_brief,
        months=_months,
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_setup)


def csrf_secret(engine: Engine) -> str:
    """The key the console's CSRF tokens are signed with, derived from the ledger's
    first chain key: kept outside the database (nothing in a copy of it forges a form),
    the same for every worker, and unchanged by a key rotation (the first key stays in
    the ring). Without a readable key, a random one for this process: forms work in it,
    and every write is refused anyway until the key is back."""
    try:
        ring = key_source(engine.url).load()
    except ChainKeyError as missing:
        log.warning(
            "no chain key for the console's CSRF key (%s); using one for this process", missing
        )
        return secrets.token_hex(32)
    return ring.derived("console csrf").hex()


def csrf_config(secret: str, settings: auth.ConsoleSettings) -> CSRFConfig:
    """Every console form carries the token; the API (bearer tokens, no cookies to
    forge with) and the public pages are left out."""
    return CSRFConfig(
        secret=secret,
        cookie_name=auth.CSRF_COOKIE,
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=list(auth.UNSESSIONED),
    )


def console_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            *pages.CONTROLLERS,
            voucher_pages.VoucherPages,
            voucher_pages.PeriodPages,
            lookup_pages.LookupPages,
            money_pages.ImportPages,
            money_pages.MoneyPages,
        ],
        middleware=[DefineMiddleware(auth.SessionAuthentication)],
        exception_handlers=common.EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )


def public_routes() -> list[Any]:
    """The login page, signing in and out, and the console's own files."""
    return [
        Router(
            path="/",
            route_handlers=[auth.login_page, auth.sign_in, auth.sign_out],
            exception_handlers=common.EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        ),
        create_static_files_router(
            path=STATIC_PATH,
            directories=[STATIC],
            include_in_schema=False,
            opt={"action": "public"},
        ),
    ]
