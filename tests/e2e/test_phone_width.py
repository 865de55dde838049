"""Every page each role opens, at a phone's width (390 px) in Chromium: the page never
scrolls sideways (wide tables scroll inside their own box) and loads nothing from outside
the server (issue 33). Screenshots land in ``screenshots/console/``."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from api.console.common import NAV
from ledger.permissions import allows
from tests.e2e.test_browser import Person
from tests.e2e.test_browser import browser as browser  # noqa: PLC0414 (the fixture)
from tests.e2e.test_browser import server as server  # noqa: PLC0414 (the fixture)

pytestmark = pytest.mark.slow

ROLES = (
    ("张会计", "clerk"),
    ("李科长", "approver"),
    ("孙出纳", "cashier"),
    ("审计员", "auditor"),
    ("系统管理员", "admin"),
)
DRILLED = (
    "/console/batches/1",
    "/console/people?q=教师",
    "/console/people/P000001",
    "/console/studios/HJ-S01?year=2025",
    "/console/vouchers?month=2025-01",
    "/console/vouchers/记-2025-01-0001",
    "/console/password",
)


def test_every_page_of_every_role_fits_a_phone_and_loads_nothing_from_outside(
    server: tuple[str, Engine], browser: object
) -> None:
    base, _ = server
    clerk = Person(browser, base, "张会计")
    clerk.sign_in()
    clerk.go("/console/batches")
    clerk.page.get_by_label("年度").first.fill("2025")
    clerk.page.get_by_label("准备日期").fill("2025-12-20")
    clerk.press("准备发放批次")
    assert "已准备批次 #1" in clerk.flash()
    clerk.sign_out()
    wide: dict[str, int] = {}
    for name, role in ROLES:
        person = Person(browser, base, name)
        person.page.set_viewport_size({"width": 390, "height": 844})
        person.sign_in()
        paths = [item.path for item in NAV if allows(role, item.action)]
        for path in (*paths, *DRILLED):
            person.go(path)
            width = person.page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wide[f"{name} {path}"] = width
        if role == "approver":
            person.go("/console/batches/1")
            person.shot("batch-390-approver", full=True)
        if role == "auditor":
            person.go("/console/studios/HJ-S01?year=2025")
            person.shot("studio-390-auditor", full=True)
        person.sign_out()  # …which checks nothing was loaded from outside
    assert wide == {}, wide
