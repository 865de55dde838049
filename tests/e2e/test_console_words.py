"""No English reaches a person at the console (issue 33): every page each role opens, and
the page each refused form comes back to, read in Chinese — the domain's refusals, the
console's own checks and the service's, each naming its field by name (:mod:`ledger.messages`).

Codes stay visible where they are codes (an action's code beside its name in the 审计日志,
``HJ-S01``, ``记-2025-12-0001``, ``YYYY-MM-DD``); what fails this test is an English word of
a sentence, the kind a refusal written in English is made of."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from typing import Final

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine

from api.app import Settings, create_app
from api.console.auth import ConsoleSettings
from api.console.common import NAV
from ledger.permissions import allows
from tests.conftest import Clock
from tests.e2e.console_helpers import add_people, form_fields, fund_a_year, sign_in
from tests.e2e.test_http import API, auth

ENGLISH: Final = re.compile(
    r"\b(?:must|cannot|can't|not|is|are|was|were|be|been|the|required|invalid|unknown|"
    r"already|exists?|expected|got|has|have|should|only|nothing|refused|allowed|denied|"
    r"missing|error|failed|found|no|none|than|after|before|with|without|for|and|or|of|to|"
    r"an|this|that|it|its|please|try|again|field|value|into|from|by|at|on|in)\b",
    re.IGNORECASE,
)
"""The small words any English sentence needs: a refusal in English cannot avoid them."""

_HIDDEN: Final = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
_SEEN_ATTRIBUTES: Final = re.compile(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"')


def english(page: str) -> list[str]:
    """The English sentence-words a person reads on ``page``: its text and the attributes
    shown to them (placeholders, titles, labels for screen readers)."""
    shown = _HIDDEN.sub(" ", page)
    said = [*_SEEN_ATTRIBUTES.findall(shown), re.sub(r"<[^>]+>", " ", shown)]
    return sorted({m.group(0) for text in said for m in ENGLISH.finditer(html.unescape(text))})


def test_the_word_list_finds_an_english_refusal_and_passes_codes_and_chinese() -> None:
    assert english("<p>batch #3 does not exist</p>") == ["exist", "not"]
    assert english('<input placeholder="must be YYYY-MM-DD">') == ["be", "must"]
    assert english("<p>审批通过 batch.approve；HJ-S01；记-2025-12-0001；YYYY-MM-DD</p>") == []
    assert english("<script>if (a && not) {}</script><p>已结账</p>") == []


@pytest.fixture
def client(engine: Engine, clock: Clock) -> Iterator[TestClient[Litestar]]:
    clock.set(date(2025, 12, 28))
    tokens = add_people(engine)
    app = create_app(Settings("unused", ConsoleSettings()), engine)
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver.local") as c:
        fund_a_year(c, tokens)
        r = c.post(
            f"{API}/batches",
            json={"year": 2025, "on": "2025-12-20"},
            headers=auth(tokens["张会计"]),
        )
        assert r.status_code == 201, r.text
        yield c


def _bad_workbook() -> bytes:
    book = Workbook()
    book.active.title = "不是名册"
    book.active["A1"] = "随便"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


REFUSED_FORMS: Final[tuple[tuple[str, str, dict[str, str]], ...]] = (
    # (who, path, fields): each comes back refused, in words
    ("张会计", "/console/receipts", {"on": "2025-12-01", "studio": "HJ-S01", "amount": "abc",
                                     "memo": "配套", "kind": "matching"}),
    ("张会计", "/console/receipts", {"on": "2025-12-01", "studio": "HJ-S99", "amount": "100",
                                     "memo": "配套", "kind": "matching"}),
    ("张会计", "/console/receipts", {"on": "2025-12-29", "studio": "HJ-S01", "amount": "100",
                                     "memo": "配套", "kind": "matching"}),
    ("张会计", "/console/receipts", {"on": "2025-12-01", "studio": "HJ-S01", "amount": "100",
                                     "memo": "支持", "kind": "support", "unit": "无关单位"}),
    ("张会计", "/console/expenses", {"on": "2025-12-01", "studio": "HJ-S01", "source": "finance",
                                     "category": "materials", "amount": "99999", "memo": "资料"}),
    ("张会计", "/console/expenses", {"on": "2025-12-01", "studio": "HJ-S01", "source": "公款",
                                     "category": "不存在", "amount": "10", "memo": "资料"}),
    ("张会计", "/console/expenses", {"on": "2025-12-01", "studio": "HJ-S01", "source": "finance",
                                     "category": "travel", "amount": "10", "memo": "差旅"}),
    ("张会计", "/console/batches/", {"year": "2025", "on": "2025-12-20"}),
    ("张会计", "/console/batches/", {"year": "1999"}),
    ("张会计", "/console/batches/1/approve", {}),
    ("李科长", "/console/batches/1/reject", {"reason": " "}),
    ("李科长", "/console/periods/close", {"period": "2025-12"}),
    ("李科长", "/console/periods/close", {"period": "2025-13"}),
    ("李科长", "/console/studios/HJ-S01/close", {"on": "2025-12-28"}),
    ("李科长", "/console/studios/HJ-S01/renew", {"on": "2025-12-28"}),
    ("系统管理员", "/console/studios/HJ-S01/funding",
     {"year": "2025", "percent": "0", "reason": ""}),
    ("孙出纳", "/console/batches/1/confirm", {"on": ""}),
    ("孙出纳", "/console/tax/remit", {"month": "2025-12"}),
    ("系统管理员", "/console/users/", {"name": " ", "role": "clerk"}),
    ("系统管理员", "/console/users/", {"name": "新审批人", "role": "approver", "id_number": "123"}),
    ("系统管理员", "/console/users/系统管理员/disable", {}),
    ("审计员", "/console/password/", {"current": "wrong", "new": "a", "again": "b"}),
)  # fmt: skip


def _pages(client: TestClient[Litestar], role: str) -> Iterator[str]:
    for item in NAV:
        if allows(role, item.action):
            yield item.path
    yield from ("/console/batches/1", "/console/people?q=教师1", "/console/studios/HJ-S01")
    yield from ("/console/vouchers?month=2025-01", "/console/vouchers/记-2025-01-0001")
    yield "/console/people/P000001"


def test_every_page_and_every_refusal_reads_in_chinese(
    client: TestClient[Litestar],
) -> None:
    seen: dict[str, list[str]] = {}
    for name, role in (("张会计", "clerk"), ("李科长", "approver"), ("孙出纳", "cashier"),
                       ("审计员", "auditor"), ("系统管理员", "admin")):  # fmt: skip
        sign_in(client, name)
        for path in _pages(client, role):
            r = client.get(path)
            if r.status_code == 200 and (words := english(r.text)):
                seen[f"{name} GET {path}"] = words
    for name, path, fields in REFUSED_FORMS:
        sign_in(client, name)
        page = client.get("/console/batches/1").text
        r = client.post(path, data={**form_fields(page), **fields})
        assert r.status_code in (200, 403, 404, 422), (path, r.status_code)
        told = re.findall(r'class="(?:flash error|field-error)"[^>]*>(.*?)</', r.text, re.S)
        assert told or r.status_code != 200, f"{name} {path}: no refusal shown"
        if words := english(r.text):
            seen[f"{name} POST {path} {fields}"] = words
    # the jobs an admin runs, their counts read by name
    sign_in(client, "系统管理员")
    for job, period in (("year-end-payout", "2025"), ("integrity-check", "2025-12-28")):
        page = client.get("/console/jobs").text
        r = client.post(
            "/console/jobs/run", data={**form_fields(page), "job": job, "period": period}
        )
        if words := english(r.text):
            seen[f"job {job}"] = words
    # a workbook that is not a roster, and no file at all
    sign_in(client, "张会计")
    page = client.get("/console/imports").text
    for files in ({"file": ("名册.xlsx", _bad_workbook())}, {}):
        r = client.post("/console/imports/roster", data=form_fields(page), files=files or None)
        if words := english(r.text):
            seen[f"import roster {list(files)}"] = words
    assert seen == {}, "\n".join(f"{k}: {v}" for k, v in seen.items())


def test_a_new_batch_says_how_many_were_left_out_and_why_by_kind() -> None:
    """Preparing a batch tells the clerk who was left out by the reason's kind (the words
    before its first ：), not a promise of a page that lists them."""
    from api.console.pages import _left_out  # noqa: PLC0415

    assert _left_out([]) == ""
    reasons = [
        "应发金额为零：考核不合格，发放比例 0%",
        "应发金额为零：考核不合格，发放比例 0%",
        "已在批次#2中发放",
    ]
    assert _left_out([(None, r) for r in reasons]) == (
        "，3 人未列入（应发金额为零 2 人；已在批次#2中发放 1 人）"
    )
