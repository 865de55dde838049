"""Setting up a year for the console tests, shared by the test-client and browser tests."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import Engine

from ledger import users
from schema.db import UnitOfWork
from tests.e2e.test_http import API, auth, roster
from tests.fakes import approver_id_number

PASSWORD = "correct horse battery"  # noqa: S105 (a test user's)
PEOPLE = (
    ("张会计", "clerk"),
    ("李科长", "approver"),
    ("王局长", "approver"),
    ("审计员", "auditor"),
    ("系统管理员", "admin"),
    ("信息科管理员", "admin"),  # the second admin, who confirms approvers the first adds
)
CASHIER = ("孙出纳", "cashier")  # added by an admin, confirmed by the other


def add_people(engine: Engine) -> dict[str, str]:
    """One user per role and a second approver, each with a console password; their
    API tokens by name."""
    tokens = {}
    with UnitOfWork(engine) as uow:
        for n, (name, role) in enumerate(PEOPLE):
            tokens[name] = users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))
        name, role = CASHIER
        tokens[name] = users.add_user(
            uow, name, role, by="系统管理员", id_number=approver_id_number(len(PEOPLE))
        )
        users.confirm_user(uow, name, by="信息科管理员")
        for name, _ in (*PEOPLE, CASHIER):
            users.set_password(uow, name, PASSWORD, by=name)
        uow.commit()
    return tokens


def fund_a_year(client: Any, tokens: dict[str, str], year: int = 2025) -> None:
    """Two studios funded and graded through the API: a batch of 12 payees, 70,000 元,
    needing two approvers (the policy's threshold is lowered to 50,000 元)."""
    policy = client.get(f"{API}/policies", headers=auth(tokens["审计员"])).json()[0]
    strict = {**policy, "version": f"{year}修订", "year": year, "approval_threshold": 5_000_000}
    for path, body, who in (
        ("policies", strict, "系统管理员"),
        ("roster", roster(year), "张会计"),
        ("appropriations", {"year": year}, "张会计"),
        (
            "grades",
            [
                {"year": year, "studio": "HJ-S01", "grade": "excellent"},
                {"year": year, "studio": "HJ-S02", "grade": "qualified"},
            ],
            "张会计",
        ),
    ):
        r = client.post(f"{API}/{path}", json=body, headers=auth(tokens[who]))
        assert r.status_code in (200, 201), r.text


CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="_key" value="([^"]+)"')


def form_fields(html: str) -> dict[str, str]:
    """The CSRF token and a form key from a page (any form's: every form on a page
    carries the same token)."""
    fields = {"_csrf_token": CSRF.findall(html)[0]}
    if keys := KEY.findall(html):
        fields["_key"] = keys[0]
    return fields


def sign_in(client: TestClient[Any], name: str, password: str = PASSWORD) -> Any:
    page = client.get("/")
    return client.post(
        "/sign-in",
        data={"name": name, "password": password, **form_fields(page.text)},
        follow_redirects=False,
    )
