"""The HTTP service end to end, through Litestar's test client, on both databases."""

from __future__ import annotations

import asyncio
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlalchemy import text as sql

import api.app
import api.http.books
from api.app import PUBLIC, Settings, create_app
from api.shapes import KEY_TROUBLE
from demo.story import bank_answer
from ledger import permissions, program, users
from ledger.funds import expenses, fund_services
from ledger.registry.roster import id_check_digit
from ledger.users import ROLES
from schema.db import UnitOfWork, connect
from schema.keys import FILE_VARIABLE, RING_VARIABLE
from schema.tables import UserRow
from tests.conftest import FULL_CYCLE, Clock
from tests.fakes import approver_id_number

API = "/api/v1"


@pytest.fixture
def app(engine: Engine) -> Litestar:
    return create_app(engine=engine)


@pytest.fixture
def tokens(engine: Engine) -> dict[str, str]:
    """One user per role (and a second approver), with their tokens."""
    made = {}
    with UnitOfWork(engine) as uow:
        for n, (name, role) in enumerate(
            (
                ("clerk", "clerk"),
                ("approver", "approver"),
                ("approver2", "approver"),
                ("auditor", "auditor"),
                ("admin", "admin"),
                ("cashier", "cashier"),
            )
        ):
            made[name] = users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))
        uow.commit()
    return made


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def person(n: int, unit: str) -> dict[str, str]:
    first17 = f"15062519900101{n:03d}"
    return {
        "id_number": first17 + id_check_digit(first17),
        "name": f"教师{n}",
        "unit": unit,
        "bank_name": "中国农业银行",
        "bank_account": f"62284800{n:011d}",
    }


def roster(year: int) -> dict[str, Any]:
    studios = [
        {
            "code": "HJ-S01",
            "name": "语文名师工作室",
            "kind": "subject",
            "host_unit": "第一中学",
            "cycle_start_year": year,
        },
        {
            "code": "HJ-S02",
            "name": "数学名师工作室",
            "kind": "subject",
            "host_unit": "第二中学",
            "cycle_start_year": year,
        },
    ]
    people, memberships = [], []
    for s, studio in enumerate(("HJ-S01", "HJ-S02")):
        for n in range(6):
            p = person(10 * s + n, "第一中学" if n == 0 and s == 0 else f"外校{n}")
            people.append(p)
            memberships.append(
                {
                    "studio": studio,
                    "id_number": p["id_number"],
                    "role": "host" if n == 0 else "member",
                    "joined_on": f"{year}-01-01",
                }
            )
    return {"studios": studios, "people": people, "memberships": memberships}


def test_the_full_year_for_two_studios(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    policy = client.get(f"{API}/policies", headers=auth(tokens["auditor"])).json()[0]
    strict = {**policy, "version": "2025修订", "year": 2025, "approval_threshold": 5_000_000}
    assert (
        client.post(f"{API}/policies", json=strict, headers=auth(tokens["admin"])).status_code
        == 201
    )

    r = client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    assert (r.status_code, r.json()["changed"]) == (200, 2 + 12 + 12)
    r = client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    funded = r.json()
    vouchers = funded.pop("vouchers")
    assert funded == {
        "year": 2025,
        "policy_version": "2025修订",
        "funded": ["HJ-S01", "HJ-S02"],
        "already": [],
        "total_fen": 10_000_000,
        "total": "¥100,000.00",
        "held": [],
    }
    assert [(v["studio"], v["percent"], v["basis"], v["amount_fen"]) for v in vouchers] == [
        ("HJ-S01", 100, "2025年为首年，全额拨付", 5_000_000),
        ("HJ-S02", 100, "2025年为首年，全额拨付", 5_000_000),
    ]
    grades = [
        {"year": 2025, "studio": "HJ-S01", "grade": "excellent"},
        {"year": 2025, "studio": "HJ-S02", "grade": "qualified"},
    ]
    assert client.post(f"{API}/grades", json=grades, headers=auth(tokens["clerk"])).json() == {
        "changed": 2,
        "warnings": [],
    }

    r = client.post(
        f"{API}/batches", json={"year": 2025, "on": "2025-12-20"}, headers=auth(tokens["clerk"])
    )
    batch = r.json()
    assert (r.status_code, batch["gross_fen"], batch["approvals_needed"]) == (201, 7_000_000, 2)
    assert batch["tax_fen"] == 2 * 160_000 + 10 * 80_000
    # what HJ-S01 can still pay: 25,000 a source less the draft's 17,500 (10,000 + 5 × 5,000)
    detail = client.get(f"{API}/studios/HJ-S01", headers=auth(tokens["auditor"])).json()
    assert [(f["source"], f["available_fen"]) for f in detail["funds"]] == [
        ("finance", 750_000),
        ("edu_fund", 750_000),
        ("matching", 0),
        ("support", 0),
    ]
    url = f"{API}/batches/{batch['id']}"
    dated = {"on": "2025-12-31"}
    first = client.post(f"{url}/approve", json=dated, headers=auth(tokens["approver"])).json()
    assert first["batch"]["state"] == "draft"
    second = client.post(f"{url}/approve", json=dated, headers=auth(tokens["approver2"])).json()
    assert second["batch"]["state"] == "approved"
    refused = client.get(f"{url}/bank.xlsx", headers=auth(tokens["approver"]))
    assert refused.status_code == 403  # approvers approve; the 出纳 sends the bank file
    bank = client.get(f"{url}/bank.xlsx", headers=auth(tokens["cashier"]))
    assert bank.status_code == 200
    rows = list(load_workbook(BytesIO(bank.content)).active.iter_rows(values_only=True))
    payments = rows[4:-3]  # under the title, 笔数/总金额 and the headers; above 合计
    assert len(payments) == 12
    assert sum(round(row[3] * 100) for row in payments) == 7_000_000 - 1_120_000
    assert rows[-3][:4] == ("合计", None, "12笔", 58800.0)
    r = client.post(f"{url}/confirm", json=dated, headers=auth(tokens["cashier"]))
    assert r.json()["batch"]["state"] == "paid"
    # paid: the cashier may take the bank file again to reconcile, marked as a copy
    again = client.get(f"{url}/bank.xlsx", headers=auth(tokens["cashier"]))
    copy = list(load_workbook(BytesIO(again.content)).active.iter_rows(values_only=True))
    assert copy[0][0].endswith("（对账副本，请勿再次提交银行）")
    assert copy[4:-3] == payments

    balance = client.get(
        f"{API}/accounts/bank:disbursed/balance", headers=auth(tokens["auditor"])
    ).json()
    assert balance == {
        "address": "bank:disbursed",
        "code": "1002",
        "name": "银行存款—已拨付劳务补贴",
        "normal_side": "借",
        "as_of": None,
        "balance_fen": 5_880_000,
        "direction": "贷",
        "amount_fen": 5_880_000,
        "balance": "¥58,800.00",
    }
    roster_file = client.get(f"{url}/roster.xlsx", headers=auth(tokens["auditor"]))
    sheet = load_workbook(BytesIO(roster_file.content)).active
    assert re.fullmatch(r"150625\*{8}\d{3}[\dX]", sheet["D4"].value)
    summary = client.get(
        f"{API}/statements/summary.xlsx", params={"year": "2025"}, headers=auth(tokens["auditor"])
    )
    rows = list(load_workbook(BytesIO(summary.content)).active.iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    # 100,000 appropriated; the stipends, 70,000, left the funds when approved
    assert total[5:11] == (0, 100000, 70000, 0, 0, 30000)
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [(e["actor"], e["action"]) for e in log] == [
        ("admin", "policy.add"),
        ("clerk", "roster.save"),
        ("clerk", "appropriation.post"),
        ("clerk", "grades.save"),
        ("clerk", "batch.create"),
        ("approver", "batch.approve"),
        ("approver2", "batch.approve"),
        ("cashier", "batch.bank_file"),
        ("cashier", "batch.confirm"),
        ("cashier", "batch.bank_file"),
        ("auditor", "batch.roster"),
        ("auditor", "statement.export"),  # a statement taken is logged as a file is
    ]
    assert log[-1]["object"] == "statement:2025-专项资金收支汇总表.xlsx"
    assert all(len(e["request_id"]) == 32 for e in log)


def _concrete(path: str) -> str:
    values = {"str": "x", "int": "1"}
    path = path.replace("{address:str}", "bank:disbursed")
    return re.sub(r"\{\w+:(\w+)\}", lambda m: values.get(m[1], "1"), path)


def _api_routes(app: Litestar) -> list[tuple[str, str, Any]]:
    return [
        (method, route.path, handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"})
    ]


def test_every_endpoint_declares_roles_and_enforces_them(
    app: Litestar, client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    routes = _api_routes(app)
    api_routes = [r for r in routes if r[1].startswith(API)]
    assert len(api_routes) >= 25
    for method, path, handler in routes:
        if path.startswith("/console"):  # the console's pages: a role's action, or sign in
            action = handler.opt.get("action")
            assert permissions.roles_for(action), f"{path}: {action} is not in the table"
            r = client.request(method, _concrete(path), follow_redirects=False)
            assert r.status_code in (302, 403), f"{method} {path} without signing in"
            continue
        if not path.startswith(API):
            public = (
                "/schema",
                "/health",
                "/metrics",
                "/static/",
                "/sign-in",
                "/sign-out",
                "/manual",
            )
            assert path == "/" or path.startswith(public), f"{path} is outside the API"
            continue
        action = handler.opt.get("action")
        assert action, f"{path} names no action"
        assert action != PUBLIC, f"{path} is public"
        roles = permissions.roles_for(action)
        assert roles, f"{path}: {action} is not in the permission table"
        url = _concrete(path)
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, f"{method} {path} without a token"
        for role in ROLES:
            r = client.request(method, url, json={}, headers=auth(tokens[role]))
            if role in roles:  # let through by the guard: whatever the service says, not 5xx
                assert r.status_code != 401
                assert not (r.status_code == 403 and f"{action} needs" in r.text), r.text
                assert r.status_code < 500, f"{method} {path} as {role}: {r.text}"
            else:
                assert r.status_code == 403, f"{method} {path} as {role}: {r.status_code}"


def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    headers = auth(tokens["clerk"], **{"Idempotency-Key": "roster-2025-01"})
    first = client.post(f"{API}/roster", json=roster(2025), headers=headers)
    again = client.post(f"{API}/roster", json=roster(2025), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json() == {"changed": 2 + 12 + 12, "warnings": []}
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(f"{API}/roster", json={"studios": []}, headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "urn:studio-ledger:problem:idempotency-key-reused"
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [e["action"] for e in log] == ["roster.save"]


def test_errors_are_problem_details(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    r = client.get(f"{API}/batches/999", headers=auth(tokens["auditor"]))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json() == {
        "status": 404,
        "title": "Not found",
        "detail": "批次 #999 不存在",
        "type": "urn:studio-ledger:problem:not-found-error",
    }
    # the service's own refusals in words too, their codes stable
    r = client.get(f"{API}/no-such-thing", headers=auth(tokens["auditor"]))
    assert (r.status_code, r.json()["detail"], r.json()["type"]) == (
        404, "未找到", "urn:studio-ledger:problem:http-404"
    )  # fmt: skip
    r = client.get(f"{API}/batches")
    assert (r.status_code, r.json()["detail"]) == (
        401,
        "需要 API 令牌：Authorization: Bearer <令牌>",
    )
    r = client.post(f"{API}/roster", json={"studios": 1}, headers=auth(tokens["clerk"]))
    assert (r.status_code, r.json()["detail"]) == (
        422,
        "请求体不符合接口的格式：POST /api/v1/roster",
    )
    assert r.json()["errors"][0]["field"] == "studios"

    bad = roster(2025)
    good_id = bad["people"][1]["id_number"]
    bad["people"][1]["id_number"] = good_id[:-1] + ("1" if good_id[-1] == "0" else "0")
    r = client.post(f"{API}/roster", json=bad, headers=auth(tokens["clerk"]))
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "people[1].id_number"
    assert "校验位" in error["message"]

    # every rule the Excel import checks runs for a roster posted over HTTP too
    bad = roster(2025)
    bad["studios"][0] |= {"code": "HJ S01"}
    bad["memberships"][1] |= {"left_on": "2024-12-31"}
    r = client.post(f"{API}/roster", json=bad, headers=auth(tokens["clerk"]))
    assert r.status_code == 422
    assert [(e["field"], e["message"]) for e in r.json()["errors"]] == [
        (
            "studios[0].code",
            "只能用字母、数字和 - _ .，以字母或数字开头，最多40个字符：'HJ S01'",
        ),
        ("memberships[1].left_on", "退出日期早于加入日期"),
    ]
    # coded fields take the code the OpenAPI document lists: a label is refused naming
    # the field (not a race, not a 400)
    bad = roster(2025)
    bad["studios"][0] |= {"kind": "名教师工作室"}
    r = client.post(f"{API}/roster", json=bad, headers=auth(tokens["clerk"]))
    assert (r.status_code, r.json()["errors"]) == (
        422,
        [
            {
                "field": "studios[0].kind",
                "source": "body",
                "message": "Invalid enum value '名教师工作室'",
            }
        ],
    )
    r = client.post(
        f"{API}/grades",
        json=[{"year": 2025, "studio": "HJ-S01", "grade": "合格"}],
        headers=auth(tokens["clerk"]),
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "[0].grade")
    # a text longer than the ledger keeps is refused naming it, before any database
    bad = roster(2025)
    bad["people"][0]["name"] = "名" * 51
    r = client.post(f"{API}/roster", json=bad, headers=auth(tokens["clerk"]))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "people[0].name")

    r = client.get(f"{API}/transactions", params={"limit": "many"}, headers=auth(tokens["auditor"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "limit"

    r = client.post(
        f"{API}/batches",
        content=b"{not json",
        headers=auth(tokens["clerk"], **{"content-type": "application/json"}),
    )
    assert r.status_code == 400

    r = client.get(
        f"{API}/accounts/studio:HJ-S01:fund:typo/balance", headers=auth(tokens["auditor"])
    )
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "account")

    r = client.get(f"{API}/studios", headers={"Authorization": "Bearer sl_wrong"})
    assert (r.status_code, r.json()["title"]) == (401, "Unauthorized")


def test_health_and_the_openapi_document_are_public(client: TestClient[Litestar]) -> None:
    assert client.get("/health").json() == {"status": "ok", "database": "reachable"}
    document = client.get("/schema/openapi.json").json()
    assert document["info"]["title"] == "Studio Fund Ledger"
    assert f"{API}/batches/{{batch_id}}/approve" in document["paths"]
    assert client.get("/schema/swagger").status_code == 200


def test_the_openapi_document_is_a_contract(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"BearerToken": []}]
    operations = [
        (f"{method.upper()} {path}", op)
        for path, item in document["paths"].items()
        if path.startswith(API)
        for method, op in item.items()
    ]
    assert len(operations) >= 39
    for name, op in operations:
        [success] = [s for s in op["responses"] if s.startswith("2")]
        [(media, body)] = op["responses"][success]["content"].items()
        assert body["schema"], f"{name} documents no {success} body"
        assert op["tags"], f"{name} has no tag"
        assert "**Permission**" in op["description"], name
        for status in ("401", "403", "422"):
            problem = op["responses"][status]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}, name
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        writes = name.startswith("POST") and not name.endswith("/run")
        assert ("Idempotency-Key" in headers) == writes, name
        if name.endswith(".xlsx"):
            assert media == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    grade = document["components"]["schemas"]["Grade"]
    assert grade["enum"] == ["excellent", "qualified", "unqualified"]
    assert "qualified 合格" in grade["description"]
    assert document["components"]["schemas"]["RosterIn"]["additionalProperties"] is False


def test_lists_are_paged_by_cursor(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    seen, cursor = [], None
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/people", params=params, headers=auth(tokens["auditor"])).json()
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"P{n:06d}" for n in range(1, 13)]
    r = client.get(f"{API}/people", params={"cursor": "%%%"}, headers=auth(tokens["auditor"]))
    assert r.status_code == 422


def test_units_are_paged_past_a_name_kept_as_a_code(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    """The roster's units get numbered codes; a unit from before codes keeps its name as
    its code (migration 0024) and a page may end on it: the next page still comes."""
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    with engine.begin() as connection:
        connection.execute(sql("INSERT INTO units (code, name) VALUES ('第九中学', '第九中学')"))
    seen, cursor = [], None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        r = client.get(f"{API}/units", params=params, headers=auth(tokens["auditor"]))
        assert r.status_code == 200, r.text
        seen += [(u["code"], u["matching_account"]) for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen[-1] == ("第九中学", "source:unit:第九中学")
    assert [code for code, _ in seen[:-1]] == [f"U{n:06d}" for n in range(1, len(seen))]
    units = client.get(f"{API}/units", headers=auth(tokens["auditor"])).json()["items"]
    assert units[0]["support_account"] == "source:support:U000001"
    r = client.get(f"{API}/units", params={"cursor": "a\x00"}, headers=auth(tokens["auditor"]))
    assert r.status_code == 422


def test_an_admin_runs_a_job_once_and_auditors_read_the_history(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    url = f"{API}/jobs/integrity-check/run"
    first = client.post(url, json={"period": "2025-01-01"}, headers=auth(tokens["admin"]))
    again = client.post(url, json={"period": "2025-01-01"}, headers=auth(tokens["admin"]))
    assert (first.json()["status"], again.json()["status"]) == ("succeeded", "already")
    assert again.json()["run"] == first.json()["run"]
    bad = client.post(url, json={"period": "2025"}, headers=auth(tokens["admin"]))
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "period")
    runs = client.get(f"{API}/jobs/runs", headers=auth(tokens["auditor"])).json()["items"]
    assert [(r["job"], r["period"], r["trigger"], r["status"]) for r in runs] == [
        ("integrity-check", "2025-01-01", "manual", "succeeded")
    ]


def test_vouchers_are_listed_by_month_and_shown_as_the_books_read_them(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    """January 2025's appropriation: one voucher per studio, numbered 记-2025-01-0001 on,
    paged by cursor; each shown with 科目 by code and name, 辅助核算 and no address."""
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    seen, cursor = [], None
    while True:
        params = {"month": "2025-01", "limit": "1", **({"cursor": cursor} if cursor else {})}
        r = client.get(f"{API}/vouchers", params=params, headers=auth(tokens["auditor"]))
        assert r.status_code == 200, r.text
        seen += [(v["number"], v["total_fen"]) for v in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [(f"记-2025-01-{n:04d}", 5_000_000) for n in range(1, len(seen) + 1)]
    assert len(seen) >= 2
    shown = client.get(f"{API}/vouchers/记-2025-01-0001", headers=auth(tokens["clerk"])).json()
    assert (shown["number"], shown["total_fen"], shown["total_uppercase"]) == (
        "记-2025-01-0001",
        5_000_000,
        "伍万元整",
    )
    assert [(x["code"], x["title"], x["debit_fen"], x["credit_fen"]) for x in shown["lines"]] == [
        ("1002", "银行存款", 2_500_000, 0),
        ("1002", "银行存款", 2_500_000, 0),
        ("271101", "专项资金—财政拨款", 0, 2_500_000),
        ("271102", "专项资金—教育基金拨款", 0, 2_500_000),
    ]
    assert [x["item"] for x in shown["lines"]][:2] == [
        "收支项目：旗财政拨入",
        "收支项目：教育基金拨入",
    ]
    assert not any(":" in x["item"] for x in shown["lines"])  # no address
    missing = client.get(f"{API}/vouchers/记-2025-01-0999", headers=auth(tokens["auditor"]))
    assert missing.status_code == 404
    bad = client.get(f"{API}/vouchers/2025-13-0001", headers=auth(tokens["auditor"]))
    assert bad.status_code in (400, 422)
    assert "凭证号应写作" in bad.text
    r = client.get(f"{API}/vouchers", params={"month": "2025-1"}, headers=auth(tokens["auditor"]))
    assert r.status_code in (400, 422)
    default = client.get(f"{API}/vouchers", headers=auth(tokens["auditor"]))
    this_month = client.get(
        f"{API}/vouchers",
        params={"month": f"{program.today():%Y-%m}"},
        headers=auth(tokens["auditor"]),
    )
    assert default.status_code == 200
    assert default.json() == this_month.json()  # no month: this month's


def test_originals_are_uploaded_listed_and_downloaded_and_vouchers_printed(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    """An original goes up as multipart, known by its content (a program renamed .pdf is
    refused naming what it is), and comes back byte for byte with its kind and name; the
    download is logged; a month's vouchers come as an A5 workbook."""
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    url = f"{API}/vouchers/记-2025-01-0001/attachments"
    pdf = b"%PDF-1.7\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n"
    up = client.post(
        url,
        files={"file": ("拨款通知.pdf", pdf, "application/pdf")},
        data={"note": "杭财教〔2025〕1号"},
        headers=auth(tokens["clerk"]),
    )
    assert up.status_code == 201, up.text
    added = up.json()
    assert (added["id"], added["kind"], added["filename"], added["size"]) == (
        1,
        "PDF",
        "拨款通知.pdf",
        len(pdf),
    )
    evil = client.post(
        url,
        files={"file": ("发票.pdf", b"MZ\x90\x00" + bytes(60), "application/pdf")},
        headers=auth(tokens["clerk"]),
    )
    assert evil.status_code in (400, 422)
    assert "发票.pdf 的内容是Windows 可执行文件" in evil.text
    refused = client.post(
        url, files={"file": ("a.pdf", pdf, "application/pdf")}, headers=auth(tokens["auditor"])
    )
    assert refused.status_code == 403
    listed = client.get(url, headers=auth(tokens["auditor"])).json()
    assert [a["note"] for a in listed] == ["杭财教〔2025〕1号"]
    got = client.get(f"{API}/attachments/1", headers=auth(tokens["auditor"]))
    assert got.status_code == 200
    assert got.content == pdf
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        'attachment; filename="original-1.pdf"; '
        "filename*=UTF-8''%E6%8B%A8%E6%AC%BE%E9%80%9A%E7%9F%A5.pdf"
    )
    assert client.get(f"{API}/attachments/2", headers=auth(tokens["auditor"])).status_code == 404
    shown = client.get(f"{API}/vouchers/记-2025-01-0001", headers=auth(tokens["auditor"])).json()
    assert (shown["attachments"], shown["maker"], shown["bookkeeper"]) == (1, "clerk", "clerk")
    printed = client.get(
        f"{API}/vouchers/print.xlsx", params={"month": "2025-01"}, headers=auth(tokens["auditor"])
    )
    assert printed.status_code == 200, printed.text
    sheet = load_workbook(io.BytesIO(printed.content)).active
    assert sheet is not None
    assert sheet.page_setup.paperSize == 11
    assert sheet["A1"].value == "记 账 凭 证"
    either = client.get(f"{API}/vouchers/print.xlsx", headers=auth(tokens["auditor"]))
    assert either.status_code in (400, 422)
    assert "二者选一" in either.text
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [(e["action"], e["object"]) for e in log][-3:] == [
        ("attachment.add", "attachment:1"),
        ("attachment.get", "attachment:1"),
        ("voucher.print", "vouchers:2025-01"),
    ]


def test_an_auditor_downloads_the_statements(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    ledger = client.get(
        f"{API}/statements/ledger.xlsx", params={"year": "2025"}, headers=auth(tokens["auditor"])
    )
    assert ledger.status_code == 200
    sheet = load_workbook(BytesIO(ledger.content))["HJ-S01-旗财政"]
    assert [c.value for c in sheet[7]][5] == 25000  # the appropriation, 贷方 of 专项资金
    summary = client.get(
        f"{API}/statements/summary.xlsx", params={"year": "2025"}, headers=auth(tokens["auditor"])
    )
    rows = list(load_workbook(BytesIO(summary.content)).active.iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    assert total[10] == 100000
    trial = client.get(
        f"{API}/statements/trial-balance.xlsx",
        params={"date": "2025-12-31"},
        headers=auth(tokens["auditor"]),
    )
    assert trial.status_code == 200
    trial_rows = list(load_workbook(BytesIO(trial.content)).active.iter_rows(values_only=True))
    assert trial_rows[3][:2] == ("1002", "银行存款")
    assert next(r for r in trial_rows if r[0] == "合计")[6:8] == (100000, 100000)
    assert trial_rows[-3][0].startswith("期初、本期、期末均为零的科目和项目未列出")
    every = client.get(
        f"{API}/statements/trial-balance.xlsx",
        params={"date": "2025-12-31", "all": "true"},
        headers=auth(tokens["auditor"]),
    )
    every_rows = list(load_workbook(BytesIO(every.content)).active.iter_rows(values_only=True))
    assert every_rows[-3][0] == "含期初、本期、期末均为零的科目和项目。"
    assert (
        client.get(
            f"{API}/statements/summary.xlsx", params={"year": "2025"}, headers=auth(tokens["clerk"])
        ).status_code
        == 403
    )


def test_downloads_leave_no_files_behind(
    client: TestClient[Litestar],
    tokens: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each xlsx is written to a temporary folder that goes once it is sent, or failed."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    summary = client.get(
        f"{API}/statements/summary.xlsx", params={"year": "2025"}, headers=auth(tokens["auditor"])
    )
    assert summary.status_code == 200
    assert load_workbook(BytesIO(summary.content)).active["A1"].value is not None
    missing = client.get(f"{API}/batches/999/roster.xlsx", headers=auth(tokens["auditor"]))
    assert missing.status_code == 404
    assert list(scratch.iterdir()) == []


def test_periods_are_closed_by_approvers_and_closed_dates_are_409(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    assert client.post(f"{API}/roster", json=roster(2024), headers=auth(tokens["clerk"])).is_success
    refused = client.post(f"{API}/periods/2024-01/close", json={}, headers=auth(tokens["clerk"]))
    assert refused.status_code == 403
    closed = client.post(f"{API}/periods/2024-01/close", json={}, headers=auth(tokens["approver"]))
    assert closed.status_code == 200, closed.text
    assert closed.json() | {"message": "", "head_hash": ""} == {
        "period": "2024-01",
        "changed": True,
        "message": "",
        "first_closed": "2024-01",
        "head_seq": 0,
        "head_hash": "",
    }
    listed = client.get(f"{API}/periods", headers=auth(tokens["auditor"])).json()
    assert (listed[0]["period"], listed[0]["state"], listed[0]["closed_by"]) == (
        "2024-01",
        "closed",
        "approver",
    )
    late = client.post(f"{API}/appropriations", json={"year": 2024}, headers=auth(tokens["clerk"]))
    assert late.status_code == 409
    problem = late.json()
    assert problem["title"] == "Period closed"
    assert problem["errors"][0]["field"] == "on"
    assert "2024年1月已结账" in problem["errors"][0]["message"]
    bad = client.post(f"{API}/periods/2024-1/close", json={}, headers=auth(tokens["admin"]))
    assert bad.status_code == 422


@pytest.mark.parametrize("amount", ['"100"', "1e3", "1000.0", "true", "100.5", "null"])
def test_an_amount_is_a_json_integer_of_fen_and_nothing_else(
    client: TestClient[Litestar], tokens: dict[str, str], amount: str
) -> None:
    """Litestar alone would turn "100", 1e3 and 1000.0 into 100 and 1000 fen."""
    clerk = auth(tokens["clerk"]) | {"Content-Type": "application/json"}
    client.post(f"{API}/roster", json=roster(2025), headers=clerk)
    body = '[{"on": "2025-03-01", "studio": "HJ-S01", "amount_fen": AMOUNT, "memo": "配套"}]'
    body = body.replace("AMOUNT", amount)
    r = client.post(f"{API}/receipts", content=body, headers=clerk)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["[0].amount_fen"]
    ok = client.post(
        f"{API}/receipts", content=body.replace(f": {amount},", ": 100,"), headers=clerk
    )
    assert (ok.status_code, ok.json()["transactions"][0]["postings"][0]["amount_fen"]) == (201, 100)


@pytest.mark.parametrize(
    ("path", "who"),
    [("/receipts", "clerk"), ("/batches", "clerk"), ("/periods/2025-01/close", "admin")],
)
def test_a_body_nested_fifty_thousand_deep_is_refused_never_a_500(
    client: TestClient[Litestar], tokens: dict[str, str], path: str, who: str
) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    headers = auth(tokens[who]) | {"Content-Type": "application/json"}
    for body in (deep, '{"a":' * 50_000 + "1" + "}" * 50_000):
        r = client.post(f"{API}{path}", content=body, headers=headers)
        assert r.status_code in (400, 413, 422), (path, r.status_code, r.text[:200])


def test_an_idempotency_record_never_keeps_a_plaintext_token(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    admin = auth(tokens["admin"], **{"Idempotency-Key": "add-reader-1"})
    body = {"name": "读者", "role": "auditor"}
    first = client.post(f"{API}/users", json=body, headers=admin)
    assert first.status_code == 201, first.text
    token = first.json()["token"]
    assert token.startswith("sl_")
    again = client.post(f"{API}/users", json=body, headers=admin)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() | {"token": None} == first.json() | {"token": None}
    assert again.json()["token"] == ""
    with engine.connect() as connection:
        stored = [str(r) for r in connection.execute(sql("SELECT * FROM idempotent_requests"))]
    assert stored
    assert not any(token in row for row in stored)
    assert client.get(f"{API}/studios", headers=auth(token)).status_code == 200


def test_a_write_dated_after_today_is_422_naming_the_field(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine, clock: Clock
) -> None:
    """On 4 December 2026: a receipt dated 9999-12-31, a batch for 2027, an expense paid
    before its money arrived and a correction dated tomorrow are each refused with the
    field named; nothing refused is written."""
    clock.set(date(2026, 12, 4))
    clerk = auth(tokens["clerk"])
    client.post(f"{API}/roster", json=roster(2025), headers=clerk)
    receipt = {"on": "9999-12-31", "studio": "HJ-S01", "amount_fen": 200_000, "memo": "配套"}
    r = client.post(f"{API}/receipts", json=[receipt], headers=clerk)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "receipts[0].日期"
    assert error["message"].startswith("不能晚于今天（2026-12-04）：9999-12-31 尚未到来")
    r = client.post(f"{API}/batches", json={"year": 2027}, headers=clerk)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "year")
    assert "2027年尚未开始" in r.json()["errors"][0]["message"]
    r = client.post(f"{API}/batches", json={"year": 2025, "on": "2026-12-05"}, headers=clerk)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "on")
    r = client.post(f"{API}/receipts", json=[receipt | {"on": "2025-06-01"}], headers=clerk)
    assert r.status_code == 201
    with UnitOfWork(engine) as uow:  # plans come in with the expenses workbook
        plan = expenses.ExpensePlan(2025, "HJ-S01", "materials", 100_000)
        fund_services.save_expense_plans(uow, [plan], by="clerk")
        uow.commit()
    expense = {
        "on": "2025-03-02",
        "studio": "HJ-S01",
        "source": "matching",
        "category": "materials",
        "amount_fen": 50_000,
        "memo": "购买资料",
    }
    r = client.post(f"{API}/expenses", json=[expense], headers=clerk)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "expenses[0].日期"
    assert error["message"] == (
        "余额不足：271103 专项资金—单位配套—HJ-S01 2025-03-02 日终余额将为 -500.00 元，"
        "短缺 500.00 元：支出不能早于资金到账"
    )
    r = client.post(f"{API}/expenses", json=[expense | {"on": "2026-12-05"}], headers=clerk)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "expenses[0].日期")
    assert r.json()["errors"][0]["message"].startswith("不能晚于今天（2026-12-04）")
    # the receipt is corrected by reversing it: not tomorrow, and by an approver
    url = f"{API}/vouchers/记-2025-06-0001/reverse"
    boss = auth(tokens["approver"])
    r = client.post(url, json={"reason": "金额有误", "on": "2026-12-05"}, headers=boss)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "on")
    assert client.post(url, json={"reason": "金额有误"}, headers=clerk).status_code == 403
    r = client.post(url, json={"reason": "金额有误"}, headers=boss)
    assert (r.status_code, r.json()["voucher"], r.json()["memo"]) == (
        201,
        "记-2026-12-0001",
        "冲销 记-2025-06-0001：金额有误",
    )
    with UnitOfWork(engine, write=False) as uow:  # nothing refused was written
        assert uow.ledger.balance("studio:HJ-S01:fund:matching", date(2026, 12, 3)) == 200_000
        assert uow.ledger.balance("studio:HJ-S01:fund:matching", None) == 0
        assert uow.ledger.balance("expense:materials:studio:HJ-S01", None) is None
        assert uow.batches.batches() == []


def test_money_in_and_out_over_http(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    """A host unit's 2,000 元 matching and a 1,200 元 training expense from it, recorded over
    HTTP by the clerk; the same receipt twice posts once."""
    clerk = auth(tokens["clerk"])
    client.post(f"{API}/roster", json=roster(2025), headers=clerk)
    receipt = {
        "on": "2025-03-01",
        "studio": "HJ-S01",
        "amount_fen": 200_000,
        "memo": "第一中学配套",
    }
    r = client.post(f"{API}/receipts", json=[receipt], headers=clerk)
    assert (r.status_code, r.json()["changed"]) == (201, 1)
    [posted] = r.json()["transactions"]
    assert posted["postings"][0]["destination"] == "studio:HJ-S01:fund:matching"
    again = client.post(f"{API}/receipts", json=[receipt], headers=clerk).json()
    assert (again["changed"], again["transactions"][0]["seq"]) == (0, posted["seq"])

    expense = {
        "on": "2025-03-02",
        "studio": "HJ-S01",
        "source": "matching",
        "category": "materials",
        "amount_fen": 120_000,
        "memo": "购买资料",
    }
    r = client.post(f"{API}/expenses", json=[expense], headers=clerk)
    assert r.status_code == 422  # no plan for 资料费 yet: 计划使用
    assert "计划" in r.json()["errors"][0]["message"]
    r = client.post(f"{API}/expenses", json=[expense | {"category": "书本"}], headers=clerk)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "[0].category")
    r = client.post(f"{API}/receipts", json=[receipt], headers=auth(tokens["approver"]))
    assert r.status_code == 403
    assert "receipt.record：仅限经办人（clerk）" in r.json()["detail"]
    balance = client.get(
        f"{API}/accounts/studio:HJ-S01:fund:matching/balance", headers=auth(tokens["auditor"])
    ).json()
    assert balance["amount_fen"] == 200_000


def test_an_admin_disables_and_rotates_tokens(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    admin = auth(tokens["admin"])
    listed = client.get(f"{API}/users", headers=admin).json()
    assert {(u["name"], u["role_label"], u["disabled"]) for u in listed} >= {
        ("clerk", "经办人", False),
        ("admin", "管理员", False),
    }
    assert client.get(f"{API}/users", headers=auth(tokens["auditor"])).status_code == 403

    r = client.post(f"{API}/users/clerk/token", headers=admin)  # no body needed
    assert r.status_code == 200
    new = r.json()["token"]
    assert client.get(f"{API}/studios", headers=auth(tokens["clerk"])).status_code == 401
    assert client.get(f"{API}/studios", headers=auth(new)).status_code == 200

    r = client.post(f"{API}/users/clerk/disable", headers=admin)
    assert (r.status_code, r.json()["disabled"]) == (200, True)
    assert client.get(f"{API}/studios", headers=auth(new)).status_code == 401
    r = client.post(f"{API}/users/admin/disable", headers=admin)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "name")
    r = client.post(f"{API}/users/nobody/token", headers=admin)
    assert r.status_code == 404
    log = client.get(f"{API}/audit-log", params={"action": "user"}, headers=admin).json()
    assert [(e["action"], e["object"]) for e in log["items"]] == [
        ("user.token", "user:clerk"),
        ("user.disable", "user:clerk"),
    ]


def test_jobs_verify_and_audit_filters(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    auditor = auth(tokens["auditor"])
    jobs = {j["job"]: j for j in client.get(f"{API}/jobs", headers=auditor).json()}
    assert jobs["year-end-payout"]["schedule"] == "每年12月31日 18:00"
    assert jobs["integrity-check"]["schedule"] == "每天 02:00"
    assert jobs["year-end-payout"]["next_run"].endswith("T18:00:00+08:00")
    assert jobs["appropriation"]["last_run"] is None

    verified = client.get(f"{API}/verify", headers=auth(tokens["clerk"])).json()
    assert (verified["ok"], verified["transactions"]) == (True, 0)

    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    client.post(f"{API}/batches", json={"year": 2025}, headers=auth(tokens["clerk"]))  # no grades
    by_clerk = client.get(f"{API}/audit-log", params={"actor": "clerk"}, headers=auditor).json()
    assert [e["action"] for e in by_clerk["items"]] == ["roster.save", "appropriation.post"]
    one = client.get(
        f"{API}/audit-log", params={"object": "appropriation:2025"}, headers=auditor
    ).json()
    assert [e["actor"] for e in one["items"]] == ["clerk"]
    future = client.get(f"{API}/audit-log", params={"from_date": "2099-01-01"}, headers=auditor)
    assert future.json()["items"] == []


def test_actions_need_no_body_and_take_an_effective_date(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    clerk = auth(tokens["clerk"])
    client.post(f"{API}/roster", json=roster(2025), headers=clerk)
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=clerk)
    grades = [{"year": 2025, "studio": code, "grade": "qualified"} for code in ("HJ-S01", "HJ-S02")]
    client.post(f"{API}/grades", json=grades, headers=clerk)
    r = client.post(f"{API}/batches", json={"year": 2025, "on": "2025-12-20"}, headers=clerk)
    batch = r.json()
    assert (r.status_code, batch["pay_month"]) == (201, "2025-12")
    assert batch["lines"][0]["name"] == "教师0"  # payees named beside their codes
    assert batch["state_label"] == "草稿"
    url = f"{API}/batches/{batch['id']}"
    r = client.post(f"{url}/approve", headers=auth(tokens["approver"]))  # no body at all
    assert (r.status_code, r.json()["batch"]["approved_by"]) == (200, ["approver"])


def test_the_api_documentation_loads_nothing_from_outside_the_server(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert len(urls) >= 4  # the bundle, the preset, the stylesheet, the icon
    for url in urls:
        assert url.startswith("/schema/"), f"{url} is not served by the app"
        assert client.get(url).status_code == 200, url
    assert "cdn." not in page.text
    assert "https://" not in page.text


def test_a_token_expires_its_last_use_is_recorded_and_a_new_one_starts_afresh(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    def holder(name: str) -> users.UserRecord:
        with UnitOfWork(engine, write=False) as uow:
            found = uow.users.record(name)
        assert found is not None
        return found

    assert holder("auditor").token_last_used_at is None
    assert client.get(f"{API}/verify", headers=auth(tokens["auditor"])).status_code == 200
    used = holder("auditor").token_last_used_at
    assert used is not None
    listed = client.get(f"{API}/users", headers=auth(tokens["admin"])).json()
    assert next(u for u in listed if u["name"] == "auditor")["token_last_used_at"] is not None

    # issued 90 days ago (the default lifetime): refused, naming what to do
    with engine.begin() as connection:
        connection.execute(
            update(UserRow)
            .where(UserRow.name == "auditor")
            .values(token_issued_at=used - timedelta(days=90))
        )
    r = client.get(f"{API}/verify", headers=auth(tokens["auditor"]))
    assert r.status_code == 401
    assert "auditor 的 API 令牌已于" in r.json()["detail"]
    assert "studio-ledger users token auditor" in r.json()["detail"]

    # a new token works again and has not been used yet
    r = client.post(f"{API}/users/auditor/token", headers=auth(tokens["admin"]))
    fresh = r.json()["token"]
    assert holder("auditor").token_last_used_at is None
    assert client.get(f"{API}/verify", headers=auth(fresh)).status_code == 200


def test_the_token_lifetime_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_LEDGER_TOKEN_DAYS", "30")
    assert Settings.from_env().token_lifetime == timedelta(days=30)
    monkeypatch.setenv("STUDIO_LEDGER_TOKEN_DAYS", "0")
    with pytest.raises(ValueError, match="STUDIO_LEDGER_TOKEN_DAYS"):
        Settings.from_env()


def test_an_approver_added_by_one_admin_works_only_once_a_second_admin_confirms(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    with UnitOfWork(engine) as uow:  # the installation's second admin, set up by the operator
        admin2 = users.add_user(uow, "admin2", "admin", by=None)
        uow.commit()
    r = client.post(
        f"{API}/users",
        json={"name": "approver3", "role": "approver", "id_number": approver_id_number(30)},
        headers=auth(tokens["admin"]),
    )
    new = r.json()["token"]
    r = client.get(f"{API}/batches", headers=auth(new))
    assert r.status_code == 401
    assert "用户 approver3 尚待另一位管理员确认" in r.json()["detail"]
    r = client.post(f"{API}/users/approver3/confirm", headers=auth(tokens["admin"]))
    assert r.status_code == 422
    assert "approver3 由 admin 添加，须由另一位管理员确认" in r.json()["detail"]
    r = client.post(f"{API}/users/approver3/confirm", headers=auth(admin2))
    assert (r.status_code, r.json()["confirmed_by"], r.json()["created_by"]) == (
        200,
        "admin2",
        "admin",
    )
    assert client.get(f"{API}/batches", headers=auth(new)).status_code == 200
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [(e["actor"], e["action"], e["object"]) for e in log][-2:] == [
        ("admin", "user.add", "user:approver3"),
        ("admin2", "user.confirm", "user:approver3"),
    ]


def test_the_token_check_runs_off_the_event_loop(
    client: TestClient[Litestar], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database call on the event loop would stall every request of the process."""
    checked_on_loop: list[bool] = []
    original = api.app.token_user

    def recording(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            checked_on_loop.append(True)
        except RuntimeError:  # no loop in this thread: a worker thread
            checked_on_loop.append(False)
        return original(*args)

    monkeypatch.setattr(api.app, "token_user", recording)
    reply = client.get(f"{API}/studios", headers=auth(tokens["auditor"]))
    assert reply.status_code == 200
    reader = client.app.state.token_reader
    if reader is None:  # SQLite: the blocking look-up, in a worker thread
        assert checked_on_loop == [False]
    else:  # PostgreSQL: psycopg's async connection on the loop, nothing blocking called
        assert checked_on_loop == []
        assert reader.dialect.is_async
        assert type(reader.dialect).__name__ == "PGDialectAsync_psycopg"


def test_the_cycle_over_http(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock
) -> None:
    """A 不合格 studio held and restored by a decision, support kept apart, a member's
    travel refused, and after 2026 the close (refused first while a line waits) and the
    renewal, all through the API, on 1 February 2027."""
    clock.set(FULL_CYCLE)
    clerk, boss, admin, cashier = (
        auth(tokens[n]) for n in ("clerk", "approver", "admin", "cashier")
    )
    assert client.post(f"{API}/roster", json=roster(2024), headers=clerk).status_code == 200

    def post(path: str, body: Any, headers: dict[str, str], status: int = 200) -> Any:
        reply = client.post(f"{API}{path}", json=body, headers=headers)
        assert reply.status_code == status, reply.text
        return reply.json()

    def grades(year: int, s2: str = "qualified") -> None:
        body = [
            {"year": year, "studio": "HJ-S01", "grade": "excellent"},
            {"year": year, "studio": "HJ-S02", "grade": s2},
        ]
        post("/grades", body, clerk)

    def pay(year: int) -> int:
        batch = post("/batches", {"year": year, "on": f"{year}-12-20"}, clerk, 201)
        post(f"/batches/{batch['id']}/approve", {"on": f"{year}-12-22"}, boss)
        return int(batch["id"])

    post("/appropriations", {"year": 2024}, clerk)
    grades(2024, s2="unqualified")
    pay(2024)
    held = post("/appropriations", {"year": 2025}, clerk)
    assert held["funded"] == ["HJ-S01"]
    assert [h["studio"] for h in held["held"]] == ["HJ-S02"]
    assert held["held"][0]["reason"].startswith("2024年度考核不合格，按政策暂停拨付")
    decision = {"studio": "HJ-S02", "year": 2025, "reason": "领导小组决定恢复", "on": "2025-03-01"}
    refused = client.post(f"{API}/funding-decisions", json=decision, headers=clerk)
    assert refused.status_code == 403
    decided = post("/funding-decisions", decision, admin, 201)
    assert (decided["decided_by"], decided["appropriation"]["funded"]) == ("admin", ["HJ-S02"])
    listed = client.get(f"{API}/funding-decisions?year=2025", headers=clerk).json()
    assert [(d["studio"], d["percent"]) for d in listed] == [("HJ-S02", 100)]

    support = [
        {
            "on": "2025-04-01",
            "studio": "HJ-S01",
            "amount_fen": 300_000,
            "memo": "外校1支持",
            "kind": "support",
            "unit": "外校1",
        }
    ]
    assert post("/receipts", support, clerk, 201)["changed"] == 1
    # the travel rule refuses before any plan is looked at
    member = client.get(f"{API}/studios/HJ-S01", headers=clerk).json()["memberships"][1]
    assert member["role"] == "member"
    travel = [
        {
            "on": "2025-05-01",
            "studio": "HJ-S01",
            "source": "support",
            "category": "travel",
            "amount_fen": 50_000,
            "memo": "成员外出差旅",
            "claimant": "教师1",
            "claimant_id_number": person(1, "外校1")["id_number"],
        }
    ]
    reply = client.post(f"{API}/expenses", json=travel, headers=clerk)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "expenses[0].类别"
    assert "劳务补贴已含差旅费" in reply.json()["errors"][0]["message"]

    post("/batches/1/confirm", {"on": "2025-01-05"}, cashier)  # 2024's, paid in January
    grades(2025)
    post(f"/batches/{pay(2025)}/confirm", {"on": "2025-12-25"}, cashier)
    post("/appropriations", {"year": 2026}, clerk)
    grades(2026)
    last = pay(2026)  # approved; not yet paid
    waiting = client.post(f"{API}/cycles/HJ-S01/close", json={"on": "2027-01-10"}, headers=boss)
    assert waiting.status_code == 409
    assert "尚有劳务补贴未结清" in waiting.json()["detail"]
    post(f"/batches/{last}/confirm", {"on": "2026-12-28"}, cashier)
    closed = post("/cycles/HJ-S01/close", {"on": "2027-01-10"}, boss)
    assert closed["returned_fen"]["support"] == 300_000
    assert closed["voucher"].startswith("记-2027-01-")
    cycles = client.get(f"{API}/cycles?studio=HJ-S01", headers=clerk).json()
    assert [(c["state"], c["final_grade"], c["outcome"]) for c in cycles["items"]] == [
        ("closed", "excellent", "may_renew")
    ]
    assert client.post(f"{API}/cycles/HJ-S01/renew", headers=clerk).status_code == 403
    renewed = post("/cycles/HJ-S01/renew", {"on": "2027-01-15"}, admin)
    assert (renewed["label"], renewed["appropriation"]["total_fen"]) == (
        "第2周期（2027-2029）",
        5_000_000,
    )
    studio = client.get(f"{API}/studios/HJ-S01", headers=clerk).json()
    assert (studio["round"], studio["cycle_end_year"]) == (1, 2029)


def _bank_answer(bank_file: bytes, failed: dict[int, str], edit: dict[str, Any]) -> bytes:
    """The bank's result file for a sent bank file (:func:`demo.story.bank_answer`), with
    ``edit``'s cells changed after."""
    with tempfile.TemporaryDirectory() as folder:
        sent, answer = Path(folder) / "sent.xlsx", Path(folder) / "answer.xlsx"
        sent.write_bytes(bank_file)
        wb = load_workbook(bank_answer(sent, answer, failed))
        for cell, value in edit.items():
            wb.active[cell] = value
        out = BytesIO()
        wb.save(out)
        return out.getvalue()


def test_the_cashier_uploads_the_banks_result_file(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    clerk, cashier = auth(tokens["clerk"]), auth(tokens["cashier"])
    client.post(f"{API}/roster", json=roster(2025), headers=clerk)
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=clerk)
    grades = [{"year": 2025, "studio": s, "grade": "qualified"} for s in ("HJ-S01", "HJ-S02")]
    client.post(f"{API}/grades", json=grades, headers=clerk)
    batch = client.post(
        f"{API}/batches", json={"year": 2025, "on": "2025-12-20"}, headers=clerk
    ).json()
    url = f"{API}/batches/{batch['id']}"
    client.post(f"{url}/approve", json={"on": "2025-12-21"}, headers=auth(tokens["approver"]))
    client.post(f"{url}/approve", json={"on": "2025-12-21"}, headers=auth(tokens["approver2"]))
    sent = client.get(f"{url}/bank.xlsx", headers=cashier).content
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def upload(content: bytes, who: dict[str, str] = cashier, name: str = "银行结果.xlsx") -> Any:
        return client.post(
            f"{url}/results",
            files={"file": (name, content, xlsx)},
            data={"on": "2025-12-22"},
            headers=who,
        )

    # a file name that hides characters is refused before it reaches the audit log
    hidden = upload(_bank_answer(sent, {}, {}), name="银行结果\u202exslx.exe")
    assert hidden.status_code == 422
    [error] = hidden.json()["errors"]
    assert error["field"] == "file"
    assert "U+202E" in error["message"], error
    forged = upload(_bank_answer(sent, {}, {"D5": 1.0, "B6": "6228480000000000999"}))
    assert forged.status_code == 422
    said = forged.json()
    assert [e["field"] for e in said["errors"]] == ["第5行 金额", "第6行 收款账号"]
    assert upload(_bank_answer(sent, {}, {}), auth(tokens["approver"])).status_code == 403

    result = _bank_answer(sent, {2: "户名不符"}, {})
    r = upload(result)
    assert r.status_code == 200, r.text
    answered = r.json()["batch"]
    assert answered["state"] == "partially_paid"
    assert [x["status"] for x in answered["lines"]].count("failed") == 1
    assert answered["reconciliation"]["failed"]["count"] == 1
    paid = sum(x["net_fen"] for x in answered["lines"] if x["status"] == "paid")
    balance = client.get(
        f"{API}/accounts/bank:disbursed/balance", headers=auth(tokens["auditor"])
    ).json()
    assert balance["balance_fen"] == paid
    again = upload(result)
    assert again.status_code == 200
    assert "未作任何更改" in again.json()["message"]
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [e["action"] for e in log if e["actor"] == "cashier"][-2:] == [
        "batch.results",
        "batch.results",
    ]
    # the month is declared (whole 身份证号 for the 出纳, masked for the auditor) and paid over
    declared = client.get(
        f"{API}/statements/withholding.xlsx", params={"month": "2025-12"}, headers=cashier
    )
    assert declared.status_code == 200, declared.text
    rows = list(load_workbook(BytesIO(declared.content)).active.iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    withheld_fen = round(total[11] * 100)
    assert withheld_fen == sum(x["tax_fen"] for x in answered["lines"] if x["status"] == "paid")
    assert all(len(r[3]) == 18 and "*" not in r[3] for r in rows[4:] if isinstance(r[0], int))
    masked = client.get(
        f"{API}/statements/withholding.xlsx",
        params={"month": "2025-12"},
        headers=auth(tokens["auditor"]),
    )
    masked_rows = list(load_workbook(BytesIO(masked.content)).active.iter_rows(values_only=True))
    assert all("*" in r[3] for r in masked_rows[4:] if isinstance(r[0], int))
    assert (
        client.get(
            f"{API}/statements/withholding.xlsx", params={"month": "2025-12"}, headers=clerk
        ).status_code
        == 403
    )
    paid = client.post(
        f"{API}/tax/remittances", json={"month": "2025-12", "on": "2026-01-10"}, headers=cashier
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["month"], paid.json()["amount_fen"]) == ("2025-12", withheld_fen)
    twice = client.post(
        f"{API}/tax/remittances", json={"month": "2025-12", "on": "2026-01-11"}, headers=cashier
    )
    assert twice.status_code == 409
    assert "不能重复缴纳" in twice.json()["detail"]
    log = client.get(f"{API}/audit-log", headers=auth(tokens["auditor"])).json()["items"]
    assert [(e["actor"], e["action"]) for e in log][-3:] == [
        ("cashier", "statement.withholding"),
        ("auditor", "statement.withholding"),
        ("cashier", "tax.remit"),
    ]


def test_no_answer_may_be_kept_framed_or_sniffed(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    """Pages, downloads and API answers carry 身份证号: every one says no-store. Every
    one — API answers and problems, the console's error pages, static files, Swagger
    UI (its own policy, for its inline start-up script) — carries the same protective
    headers; HSTS only over TLS."""
    answers = [
        client.get(f"{API}/people", headers=auth(tokens["approver"])),
        client.get(f"{API}/batches/999", headers=auth(tokens["approver"])),  # a problem
        client.get(f"{API}/people"),  # 401
        client.get(
            f"{API}/statements/trial-balance.xlsx",
            params={"date": "2025-01-01"},
            headers=auth(tokens["auditor"]),
        ),
        client.get("/health"),
        client.get("/", follow_redirects=False),
        client.get("/sign-in"),
        client.get("/console/batches/999", follow_redirects=False),  # to the sign-in
        client.get("/nowhere"),  # 404
        client.get("/schema/assets/swagger-ui.css"),
        client.get("/static/console/console.css"),
        client.get("/schema/swagger"),
        client.get("/schema"),  # the same page
    ]
    for answer in answers:
        assert answer.status_code < 500, answer.url
        headers = answer.headers
        assert headers.get("cache-control") == "no-store", answer.url
        assert headers.get("pragma") == "no-cache", answer.url
        assert headers.get("x-content-type-options") == "nosniff", answer.url
        assert headers.get("referrer-policy") == "same-origin", answer.url
        assert headers.get("x-frame-options") == "DENY", answer.url
        policy = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, answer.url
        swagger = answer.url.path in ("/schema", "/schema/swagger")
        assert ("'unsafe-inline'" in policy) == swagger, answer.url
        assert "strict-transport-security" not in headers, answer.url
    with TestClient(create_app(engine=engine), base_url="https://testserver.local") as tls:
        assert tls.get("/health").headers["strict-transport-security"] == "max-age=31536000"


def test_an_odd_value_is_refused_naming_its_field_never_a_500(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    """Days no ledger holds (0001-01-01, 9999-12-31) in the audit log's and the trial
    balance's filters are refused naming the field; a NUL in a static path finds
    nothing; an OPTIONS request is closed without naming the framework's handler."""
    auditor = auth(tokens["auditor"])
    asked = [
        (f"{API}/audit-log", {"from_date": "0001-01-01"}, "from_date"),
        (f"{API}/audit-log", {"to_date": "9999-12-31"}, "to_date"),
        (f"{API}/statements/trial-balance.xlsx", {"date": "0001-01-01"}, "date"),
        (f"{API}/statements/trial-balance.xlsx", {"date": "9999-12-31"}, "date"),
    ]
    for path, params, field in asked:
        r = client.get(path, params=params, headers=auditor)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        [error] = r.json()["errors"]
        day = next(iter(params.values()))
        assert error == {
            "field": field,
            "message": f"日期超出账簿范围（2000-01-01 至 2100-12-31）：{day}",
        }
    for path in ("/schema/assets/swagger-ui.css%00", "/static/console/%00", "/schema/assets/%00x"):
        assert client.get(path).status_code == 404, path
    closed = client.options(f"{API}/studios", headers=auditor)
    assert closed.status_code == 403
    assert closed.json()["detail"] == "此操作未列入权限表，不对任何人开放"


def test_a_failure_is_logged_with_its_request_id_and_told_as_a_problem(
    client: TestClient[Litestar],
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug, with words for the log only")

    monkeypatch.setattr(api.http.books.book, "verify", broken)
    r = client.get(f"{API}/verify", headers=auth(tokens["clerk"], **{"X-Request-Id": "req-7"}))
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "urn:studio-ledger:problem:internal-error",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "处理请求时出错（编号 req-7）。请把编号告诉系统管理员；"
        "是否已办理，可在审计日志中查看。",
        "request_id": "req-7",
    }
    [logged] = [x for x in caplog.records if x.name == "api.app"]
    assert logged.getMessage() == "GET /api/v1/verify failed (request req-7)"
    assert logged.exc_info is not None
    assert "a bug, with words for the log only" in str(logged.exc_info[1])


def test_health_says_up_or_down_and_keeps_the_drivers_words_for_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gone = connect(f"sqlite:///{tmp_path / 'no-such-folder' / 'ledger.db'}")
    with TestClient(create_app(engine=gone), raise_server_exceptions=False) as down:
        r = down.get("/health")
    assert (r.status_code, r.json()) == (503, {"status": "unavailable", "database": "unreachable"})
    assert (
        "health: the database is unreachable: unable to open database file"
        in capfd.readouterr().err
    )


def test_the_studio_filter_is_a_studio_code_never_a_pattern(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    """``%`` and ``_`` in a LIKE are wildcards; in a studio code they are themselves."""
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    client.post(f"{API}/appropriations", json={"year": 2025}, headers=auth(tokens["clerk"]))
    auditor = auth(tokens["auditor"])

    def found(studio: str) -> int:
        page = client.get(f"{API}/transactions", params={"studio": studio}, headers=auditor)
        assert page.status_code == 200, page.text
        return len(page.json()["items"])

    assert found("HJ-S01") > 0
    assert (found("%"), found("HJ_S01"), found("HJ-S0_"), found("HJ-S01%")) == (0, 0, 0, 0)


def test_the_chain_keys_trouble_is_told_whole_to_an_admin_only(
    client: TestClient[Litestar],
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Without its key file, the ledger refuses to write; the refusal and ``verify`` name
    the file for an admin, and tell anyone else to ask one."""
    missing = tmp_path / "moved-away.keys"
    monkeypatch.delenv(RING_VARIABLE)
    monkeypatch.setenv(FILE_VARIABLE, str(missing))
    receipt = {"on": "2025-03-01", "studio": "HJ-S01", "amount_fen": 1, "memo": "配套"}
    client.post(f"{API}/roster", json=roster(2025), headers=auth(tokens["clerk"]))
    refused = client.post(f"{API}/receipts", json=[receipt], headers=auth(tokens["clerk"]))
    assert refused.status_code == 503
    assert refused.json()["detail"] == KEY_TROUBLE
    told = {
        name: client.get(f"{API}/verify", headers=auth(tokens[name])).json()["key_problem"]
        for name in ("clerk", "auditor", "admin")
    }
    assert told["clerk"] == told["auditor"] == KEY_TROUBLE
    assert str(missing) in told["admin"]
