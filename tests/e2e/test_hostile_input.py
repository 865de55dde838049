"""No input gets a 500: hostile values in every console page's and form's fields and in
every API query parameter and path parameter, each sent as the role the route is for
(so the guard lets it through to the parsing and the rules behind it), on a year with
data in it. Beside the schemathesis run, which covers the API's bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient
from sqlalchemy import Engine

from api.app import Settings, create_app
from api.console import TEMPLATES
from api.console.auth import ConsoleSettings
from ledger import permissions
from tests.e2e.console_helpers import CASHIER, PEOPLE, add_people, form_fields, fund_a_year, sign_in
from tests.e2e.test_http import API, auth

HOSTILE = (
    "²",
    "２０２５",
    "٢٠٢٥",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "0001-01-01",
    "9999-12-31",
    "2025-02-30",
    "9999-99",
    "\x00",
    "a\x00b",
    "\u202e\u200b\x1b[2J",
    "x" * 5000,
    "%_'\";--",
    "<script>alert(1)</script>",
    "../../etc/passwd",
)
DATABASE_HOSTILE = (
    "-1",
    "0",
    "99999999999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "%_'\";--",
)
"""The values the two databases take differently (NUL in text, integers past 64 bits,
the calendar's ends, long text, LIKE's wildcards): on PostgreSQL only these are sent,
since the rest are refused or read before any database sees them."""
CONSOLE_QUERY = ("year", "after", "from", "to", "actor", "action", "object", "month", "studio")
"""What console pages read from the query string by hand."""

NAMES = sorted(
    {
        name
        for page in TEMPLATES.glob("*.html")
        for name in re.findall(r'name="([a-z_]+)"', page.read_text(encoding="utf-8"))
    }
    - {"viewport", "_key", "_csrf_token"}
)
"""Every field a console form has."""

BY_ROLE = {role: name for name, role in (*reversed(PEOPLE), CASHIER)}


def _routes(app: Litestar, method: str) -> Iterator[tuple[str, HTTPRouteHandler]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if method in handler.http_methods and isinstance(handler, HTTPRouteHandler):
                yield route.path, handler


def _queries(handler: HTTPRouteHandler, path: str) -> list[str]:
    declared = [
        getattr(field.kwarg_definition, "name", None) or name
        for name, field in handler.parsed_fn_signature.parameters.items()
        if name not in {"self", "request", "data", "state"} and f"{{{name}:" not in path
    ]
    return declared + list(CONSOLE_QUERY if path.startswith("/console") else ())


def _paths(path: str, value: str) -> list[str]:
    """The path with each parameter in turn hostile (quoted as a browser sends it), the
    others plausible."""
    params = re.findall(r"\{(\w+):\w+\}", path)
    return [_concrete(path, {hostile: quote(value, safe="")}) for hostile in params]


def _concrete(path: str, given: dict[str, str] | None = None) -> str:
    plausible = {"batch_id": "1", "address": "bank:disbursed", "file_path": "console.css"}
    values = {**plausible, **(given or {})}
    return re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m[1], "1"), path)


def _role(handler: HTTPRouteHandler) -> str | None:
    """A role the route is for (the guard lets it through), if any."""
    roles = permissions.roles_for(handler.opt.get("action", ""))
    return sorted(roles)[0] if roles else None


@pytest.fixture
def app(engine: Engine) -> Litestar:
    settings = Settings("unused", ConsoleSettings(idle_minutes=30, secure_cookies=False))
    return create_app(settings, engine)


@pytest.fixture
def tokens(app: Litestar, engine: Engine) -> dict[str, str]:
    """A year with two studios funded and graded and a batch prepared."""
    made = add_people(engine)
    with TestClient(app) as client:
        fund_a_year(client, made)
        client.post(f"{API}/batches", json={"year": 2025}, headers=auth(made["张会计"]))
    return made


def _hostile(engine: Engine) -> tuple[str, ...]:
    return HOSTILE if engine.dialect.name == "sqlite" else DATABASE_HOSTILE


def _refused_with_5xx(method: str, url: str, answer: Any) -> list[str]:
    return [f"{method} {url!r} → {answer.status_code}"] if answer.status_code >= 500 else []


def test_no_api_query_or_path_value_is_answered_with_a_5xx(
    app: Litestar, tokens: dict[str, str], engine: Engine
) -> None:
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, handler in _routes(app, "GET"):
            if not path.startswith(API) or (role := _role(handler)) is None:
                continue
            headers = auth(tokens[BY_ROLE[role]])
            for value in _hostile(engine):
                for name in _queries(handler, path):
                    answer = client.get(_concrete(path), params={name: value}, headers=headers)
                    failures += _refused_with_5xx("GET", f"{path}?{name}={value[:20]}", answer)
                for url in _paths(path, value):
                    failures += _refused_with_5xx("GET", url, client.get(url, headers=headers))
    assert failures == []


def test_no_console_page_or_form_value_is_answered_with_a_5xx(
    app: Litestar, tokens: dict[str, str], engine: Engine
) -> None:
    del tokens
    by_role: dict[str, list[tuple[str, HTTPRouteHandler]]] = {}
    for path, handler in [*_routes(app, "GET"), *_routes(app, "POST")]:
        if path.startswith("/console") and (role := _role(handler)) is not None:
            by_role.setdefault(role, []).append((path, handler))
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for role, routes in by_role.items():
            sign_in(client, BY_ROLE[role])
            for path, handler in routes:
                failures += _sweep(client, path, handler, _hostile(engine))
    assert failures == []


def _sweep(
    client: TestClient[Litestar], path: str, handler: HTTPRouteHandler, values: tuple[str, ...]
) -> list[str]:
    """Every hostile value in each of a page's query fields and path parameters, or in
    every field of a form at once."""
    failures = []
    for value in values:
        if "POST" in handler.http_methods:
            fields = form_fields(client.get("/console").text)
            answer = client.post(_concrete(path), data={**fields, **dict.fromkeys(NAMES, value)})
            failures += _refused_with_5xx("POST", f"{path} {value[:20]!r}", answer)
            continue
        for name in _queries(handler, path):
            answer = client.get(_concrete(path), params={name: value})
            failures += _refused_with_5xx("GET", f"{path}?{name}={value[:20]}", answer)
        for url in _paths(path, value):
            failures += _refused_with_5xx("GET", url, client.get(url))
    return failures
