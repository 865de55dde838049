"""The web console through Litestar's test client, on both databases: signing in,
sessions, CSRF, the pages each role sees, and actions that go through the same
services and audit log as the API. (The walk through a year in a real browser is
tests/e2e/test_browser.py.)"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, inspect, update
from sqlalchemy import text as sql

from api.app import Settings, create_app
from api.console import csrf_secret
from api.console.auth import CSRF_COOKIE, SESSION_COOKIE, ConsoleSettings, SignInForm, _sign_in
from api.shapes import KEY_TROUBLE
from ledger import users
from ledger.books.postings import utc_now
from schema.db import UnitOfWork
from schema.keys import FILE_VARIABLE, RING_VARIABLE
from schema.tables import ConsoleSessionRow
from tests.conftest import TEST_RING, Clock
from tests.e2e.console_helpers import PASSWORD, add_people, form_fields, fund_a_year, sign_in
from tests.e2e.test_http import API, auth, roster
from tests.fakes import approver_id_number


@pytest.fixture
def tokens(engine: Engine) -> dict[str, str]:
    return add_people(engine)


def _client(engine: Engine, *, secure: bool = False) -> TestClient[Litestar]:
    settings = Settings("unused", ConsoleSettings(idle_minutes=30, secure_cookies=secure))
    base = "https://testserver.local" if secure else "http://testserver.local"
    return TestClient(create_app(settings, engine), raise_server_exceptions=False, base_url=base)


@pytest.fixture
def client(engine: Engine, tokens: dict[str, str]) -> Iterator[TestClient[Litestar]]:
    del tokens
    with _client(engine) as test_client:
        yield test_client


def _audit(engine: Engine, action: str) -> list[tuple[str, str]]:
    with UnitOfWork(engine, write=False) as uow:
        return [(e.actor, e.object) for e in uow.audit.entries(0, 1000, action=action)]


def _prepared_batch(client: TestClient[Litestar], tokens: dict[str, str]) -> int:
    fund_a_year(client, tokens)
    r = client.post(
        f"{API}/batches", json={"year": 2025, "on": "2025-12-20"}, headers=auth(tokens["张会计"])
    )
    assert r.status_code == 201, r.text
    batch_id: int = r.json()["id"]
    return batch_id


def _state(
    client: TestClient[Litestar], tokens: dict[str, str], batch_id: int
) -> dict[str, object]:
    r = client.get(f"{API}/batches/{batch_id}", headers=auth(tokens["审计员"]))
    batch: dict[str, object] = r.json()
    return batch


# -- signing in -------------------------------------------------------------------------------


def test_the_login_page_asks_for_a_user_name_and_password_and_keeps_no_session(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    for text in ("用户名", "密码", "登录", 'name="_csrf_token"'):
        assert text in page.text
    assert SESSION_COOKIE not in page.headers.get("set-cookie", "")
    assert client.get("/console", follow_redirects=False).headers["location"] == (
        "/?next=%2Fconsole"
    )


def test_signing_in_starts_a_session_in_an_httponly_lax_cookie(
    client: TestClient[Litestar], engine: Engine
) -> None:
    r = sign_in(client, "李科长")
    assert (r.status_code, r.headers["location"]) == (302, "/console")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert "Max-Age=1800" in cookie  # the idle timeout, renewed by every request
    home = client.get("/console")
    assert "李科长（审核人）" in home.text
    assert "退出" in home.text
    assert _audit(engine, "session.sign_in") == [("李科长", "user:李科长")]


def test_cookies_are_secure_when_served_over_tls(engine: Engine, tokens: dict[str, str]) -> None:
    del tokens
    with _client(engine, secure=True) as client:
        login = client.get("/")
        assert "Secure" in login.headers["set-cookie"]  # the CSRF cookie
        r = sign_in(client, "李科长")
        cookie = next(c for c in r.headers.get_list("set-cookie") if SESSION_COOKIE in c)
        assert "Secure" in cookie


def test_a_wrong_password_is_refused_and_repeated_failures_are_slowed_down(
    client: TestClient[Litestar], engine: Engine
) -> None:
    for _ in range(users.FREE_TRIES):
        r = sign_in(client, "李科长", "not the password")
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    # the next try from here, even the right password, waits: it is not even checked
    r = sign_in(client, "李科长")
    assert r.status_code == 401
    assert re.search(r"登录失败次数过多，请 \d+ 秒后再试", r.text)
    assert client.get("/console", follow_redirects=False).status_code == 302
    assert len(_audit(engine, "session.sign_in_failed")) == users.FREE_TRIES
    assert _audit(engine, "session.sign_in_throttled") == [("李科长", "user:李科长")]
    assert _audit(engine, "session.sign_in") == []
    # another name is not held back by them
    assert sign_in(client, "王局长").status_code == 302


def test_nobody_can_keep_a_user_out_by_guessing_from_elsewhere(
    client: TestClient[Litestar], engine: Engine
) -> None:
    """Ten wrong passwords for 李科长 from 10.0.0.9: five are checked, then that address
    waits for that name (a try while waiting is not checked and does not count); 李科长
    at their own desk (10.0.0.8) signs in all the same."""
    for n in range(10):
        _sign_in(engine, SignInForm("李科长", "not the password"), "10.0.0.9", f"r{n}")
    assert len(_audit(engine, "session.sign_in_failed")) == users.FREE_TRIES
    user, refusal = _sign_in(engine, SignInForm("李科长", PASSWORD), "10.0.0.9", "r-there")
    assert (user, refusal) == (None, "登录失败次数过多，请 30 秒后再试。")
    user, refusal = _sign_in(engine, SignInForm("李科长", PASSWORD), "10.0.0.8", "r-desk")
    assert (user is not None, refusal) == (True, None)


def test_one_address_trying_many_names_is_slowed_down_and_others_are_not(
    client: TestClient[Litestar], engine: Engine
) -> None:
    """Twenty failures under twenty names from one address cost nothing; the
    twenty-first name waits, even with a right password; the same user from another
    address signs in."""
    for n in range(users.FREE_ADDRESS_TRIES):
        form = SignInForm(f"猜测{n}", "not the password")
        assert _sign_in(engine, form, "10.0.0.9", f"r{n}") == (None, "用户名或密码错误。")
    user, refusal = _sign_in(engine, SignInForm("李科长", PASSWORD), "10.0.0.9", "r-last")
    assert user is None
    assert refusal is not None
    assert re.fullmatch(r"登录失败次数过多，请 \d+ 秒后再试。", refusal)
    user, refusal = _sign_in(engine, SignInForm("李科长", PASSWORD), "10.0.0.8", "r-other")
    assert (user is not None, refusal) == (True, None)


def test_an_unknown_user_and_a_user_without_a_password_are_refused_alike(
    client: TestClient[Litestar], engine: Engine
) -> None:
    with UnitOfWork(engine) as uow:
        users.add_user(uow, "新同事", "clerk", by="系统管理员")
        uow.commit()
    for name in ("nobody", "新同事"):
        r = sign_in(client, name, PASSWORD)
        assert (r.status_code, "用户名或密码错误" in r.text) == (401, True)


def test_a_disabled_user_is_signed_out(client: TestClient[Litestar], engine: Engine) -> None:
    sign_in(client, "审计员")
    assert client.get("/console").status_code == 200
    with UnitOfWork(engine) as uow:
        users.disable_user(uow, "审计员", "系统管理员")
        uow.commit()
    r = client.get("/console", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "/?next=%2Fconsole&expired=1")


def test_a_planted_session_id_is_never_adopted(client: TestClient[Litestar]) -> None:
    planted = "a" * 64
    client.cookies.set(SESSION_COOKIE, planted)
    r = sign_in(client, "李科长")
    issued = re.search(f"{SESSION_COOKIE}=([^;]+)", r.headers["set-cookie"])
    assert issued is not None
    assert issued.group(1) != planted


def _session_id(response: object) -> str:
    issued = re.search(f"{SESSION_COOKIE}=([^;]+)", response.headers["set-cookie"])  # type: ignore[attr-defined]
    assert issued is not None
    return issued.group(1)


def test_signing_in_again_starts_a_new_session_and_ends_the_old_one(
    client: TestClient[Litestar], engine: Engine
) -> None:
    first = _session_id(sign_in(client, "李科长"))
    assert client.get("/console", follow_redirects=False).status_code == 200
    second = _session_id(sign_in(client, "王局长"))  # the same browser, signed in
    assert second != first
    with _client(engine) as other:  # the old id, from anywhere, signs nobody in
        other.cookies.set(SESSION_COOKIE, first)
        assert other.get("/console", follow_redirects=False).status_code == 302


def test_a_session_id_is_kept_only_as_its_hash(
    client: TestClient[Litestar], engine: Engine
) -> None:
    issued = _session_id(sign_in(client, "李科长"))
    with engine.connect() as connection:
        kept = connection.execute(sql("SELECT id, user_name FROM console_sessions")).all()
    assert [tuple(row) for row in kept] == [(hashlib.sha256(issued.encode()).hexdigest(), "李科长")]


def test_a_user_changes_their_own_password_with_the_current_one(
    client: TestClient[Litestar], engine: Engine
) -> None:
    """修改密码, for every role: the current password first; a new one too common, or
    typed twice differently, is refused naming the field; the change ends the user's
    other sessions and keeps this one; it is audit-logged, without the passwords."""
    sign_in(client, "审计员")
    with _client(engine) as elsewhere:
        sign_in(elsewhere, "审计员")
        page = client.get("/console/password")
        assert page.status_code == 200
        assert '<a href="/console/password">修改密码</a>' in page.text

        def change(current: str, new: str, again: str) -> str:
            fields = form_fields(client.get("/console/password").text)
            data = {**fields, "current": current, "password": new, "again": again}
            return client.post("/console/password", data=data).text

        fresh = "a quiet river at dawn"
        refusals = [
            change("not my password", fresh, fresh),
            change(PASSWORD, fresh, fresh + "!"),
            change(PASSWORD, "woaini5201314", "woaini5201314"),
            change(PASSWORD, "short", "short"),
        ]
        assert [re.findall(r'class="field-error" role="alert">([^<]+)<', r) for r in refusals] == [
            ["不正确，密码没有修改"],
            ["与新密码不一致"],
            [
                "过于常见或容易猜到（常用密码、键盘或数字序列、重复字符、姓名或单位加年份），"
                "请换一个更长、不常见的短语"
            ],
            ["至少12个字符"],
        ]
        assert elsewhere.get("/console", follow_redirects=False).status_code == 200
        done = change(PASSWORD, fresh, fresh)
        assert "密码已修改；其他电脑或浏览器上的登录已退出。" in done
        assert client.get("/console", follow_redirects=False).status_code == 200
        assert elsewhere.get("/console", follow_redirects=False).status_code == 302
    assert sign_in(client, "审计员", fresh).status_code == 302
    assert _audit(engine, "password.own") == [("审计员", "user:审计员")]
    with engine.connect() as connection:
        kept = connection.execute(sql("SELECT detail FROM audit_log")).scalars().all()
    assert not any(fresh in str(d) or PASSWORD in str(d) for d in kept)


def test_guessing_the_current_password_is_throttled_and_logged_as_a_sign_in_is(
    client: TestClient[Litestar], engine: Engine
) -> None:
    """A session left open is no licence to guess its user's password at 修改密码."""
    sign_in(client, "审计员")
    said = []
    for _ in range(users.FREE_TRIES + 1):
        fields = form_fields(client.get("/console/password").text)
        data = {**fields, "current": "a guess of mine", "password": "x", "again": "x"}
        page = client.post("/console/password", data=data).text
        said += re.findall(r'class="field-error" role="alert">([^<]+)<', page)
    assert said[:-1] == ["不正确，密码没有修改"] * users.FREE_TRIES
    assert re.fullmatch(r"登录失败次数过多，请 \d+ 秒后再试。", said[-1])
    assert len(_audit(engine, "session.sign_in_failed")) == users.FREE_TRIES
    assert _audit(engine, "session.sign_in_throttled") == [("审计员", "user:审计员")]


def test_a_chain_key_trouble_on_a_console_form_names_no_file_but_to_an_admin(
    client: TestClient[Litestar],
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    batch_id = _prepared_batch(client, tokens)
    on = {"on": "2025-12-31"}
    client.post(f"{API}/batches/{batch_id}/approve", json=on, headers=auth(tokens["李科长"]))
    missing = tmp_path / "moved-away.keys"
    monkeypatch.delenv(RING_VARIABLE)
    monkeypatch.setenv(FILE_VARIABLE, str(missing))
    sign_in(client, "王局长")  # the second approval posts: the ledger cannot seal it
    page = client.get(f"/console/batches/{batch_id}")
    r = client.post(f"/console/batches/{batch_id}/approve", data=form_fields(page.text))
    assert KEY_TROUBLE in r.text
    assert str(missing) not in r.text


def test_a_long_hidden_name_at_sign_in_is_kept_cut_to_its_column(
    client: TestClient[Litestar], engine: Engine
) -> None:
    """Fifty characters typed, each hidden one written out as six and each 身份证号
    followed by its pseudonym: the entry is still kept (cut to 50), so it counts."""
    typed = ("\u202e" * 10 + "150102197203079023" * 3)[:50]
    assert sign_in(client, typed, "not the password").status_code == 401
    [(actor, target)] = _audit(engine, "session.sign_in_failed")
    assert len(actor) == 50
    assert actor.startswith("\\u202e" * 8)
    assert len(target) <= 120
    # and the throttle finds them again under the name as typed: the sixth try waits
    for _ in range(users.FREE_TRIES - 1):
        sign_in(client, typed, "not the password")
    assert "登录失败次数过多" in sign_in(client, typed, "not the password").text
    assert len(_audit(engine, "session.sign_in_throttled")) == 1


def test_a_password_change_or_a_disable_ends_the_users_other_sessions(
    client: TestClient[Litestar], engine: Engine
) -> None:
    here = _session_id(sign_in(client, "李科长"))
    with _client(engine) as elsewhere:
        sign_in(elsewhere, "李科长")
        with UnitOfWork(engine) as uow:  # they change their own, in the session ``here``
            users.set_password(uow, "李科长", "another long pass phrase", "李科长", session=here)
            uow.commit()
        assert client.get("/console", follow_redirects=False).status_code == 200
        assert elsewhere.get("/console", follow_redirects=False).status_code == 302
        sign_in(elsewhere, "李科长", "another long pass phrase")
        with UnitOfWork(engine) as uow:  # an admin resets it: every session ends
            users.set_password(uow, "李科长", PASSWORD, "系统管理员")
            uow.commit()
        assert client.get("/console", follow_redirects=False).status_code == 302
        assert elsewhere.get("/console", follow_redirects=False).status_code == 302
        sign_in(client, "王局长")
        with UnitOfWork(engine) as uow:
            users.disable_user(uow, "王局长", "系统管理员")
            uow.commit()
        with engine.connect() as connection:
            left = connection.execute(sql("SELECT user_name FROM console_sessions")).all()
        assert left == []


def test_the_csrf_key_is_derived_from_the_chain_key_and_kept_nowhere(engine: Engine) -> None:
    """A copy of the database holds no key to forge a form with: the key is derived from
    the chain key, which lives outside it; every worker derives the same one."""
    assert "service_keys" not in inspect(engine).get_table_names()
    ring_secret = bytes.fromhex(TEST_RING.split(":")[1])
    expected = hmac.new(ring_secret, b"studio-ledger console csrf", hashlib.sha256).hexdigest()
    assert csrf_secret(engine) == csrf_secret(engine) == expected


def test_an_idle_session_expires_and_signing_out_ends_it(
    client: TestClient[Litestar], engine: Engine
) -> None:
    sign_in(client, "李科长")
    assert client.get("/console").status_code == 200
    with engine.begin() as connection:  # 31 idle minutes later
        connection.execute(
            update(ConsoleSessionRow).values(expires_at=utc_now() - timedelta(minutes=1))
        )
    r = client.get("/console/batches", follow_redirects=False)
    assert r.headers["location"] == "/?next=%2Fconsole%2Fbatches&expired=1"
    assert "会话已过期" in client.get(r.headers["location"]).text

    sign_in(client, "李科长")
    stolen = client.cookies.get(SESSION_COOKIE)
    home = client.get("/console")
    r = client.post("/sign-out", data=form_fields(home.text), follow_redirects=False)
    assert r.headers["location"] == "/?signed_out=1"
    assert _audit(engine, "session.sign_out") == [("李科长", "user:李科长")]
    client.cookies.set(SESSION_COOKIE, stolen or "")
    assert client.get("/console", follow_redirects=False).status_code == 302
    with UnitOfWork(engine, write=False) as uow:
        assert uow.session.query(ConsoleSessionRow).count() == 0


def test_after_signing_in_the_user_goes_where_they_were_going_but_never_off_site(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/")
    for target, lands in (("/console/jobs", "/console/jobs"), ("//evil.example/x", "/console")):
        r = client.post(
            "/sign-in",
            data={"name": "审计员", "password": PASSWORD, "next": target, **form_fields(page.text)},
            follow_redirects=False,
        )
        assert r.headers["location"] == lands
        client.cookies.clear()
        page = client.get("/")


# -- CSRF, roles, acting once ---------------------------------------------------------------


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    batch_id = _prepared_batch(client, tokens)
    sign_in(client, "李科长")
    page = client.get(f"/console/batches/{batch_id}")
    fields = form_fields(page.text)
    r = client.post(f"/console/batches/{batch_id}/approve", data={"_key": fields["_key"]})
    assert r.status_code == 403
    assert "表单已失效" in r.text
    assert "Traceback" not in r.text
    assert _state(client, tokens, batch_id)["approved_by"] == []
    # with a token of another browser's cookie, too
    client.cookies.set(CSRF_COOKIE, "0" * 128)
    r = client.post(f"/console/batches/{batch_id}/approve", data=fields)
    assert r.status_code == 403
    assert _state(client, tokens, batch_id)["approved_by"] == []


def test_the_preparer_sees_no_approve_button_and_the_server_refuses_it_anyway(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    batch_id = _prepared_batch(client, tokens)
    sign_in(client, "张会计")
    page = client.get(f"/console/batches/{batch_id}")
    assert page.status_code == 200
    assert "审批通过" not in page.text
    assert "作废" in page.text  # a clerk may withdraw a draft
    r = client.post(f"/console/batches/{batch_id}/approve", data=form_fields(page.text))
    assert r.status_code == 403
    assert "无权办理" in r.text
    assert _state(client, tokens, batch_id)["approved_by"] == []
    assert _audit(engine, "batch.approve") == []


def test_an_approval_from_the_console_is_the_apis_approval_and_acts_once(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    batch_id = _prepared_batch(client, tokens)
    sign_in(client, "李科长")
    page = client.get(f"/console/batches/{batch_id}")
    assert "审批通过" in page.text
    assert "0 / 2" in page.text
    fields = form_fields(page.text)
    first = client.post(f"/console/batches/{batch_id}/approve", data=fields, follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (302, f"/console/batches/{batch_id}")
    again = client.post(f"/console/batches/{batch_id}/approve", data=fields)  # a double click
    assert "重复提交，未再次办理" in again.text
    assert "1 / 2" in again.text
    assert "审批通过</button>" not in again.text  # nobody approves twice
    assert _state(client, tokens, batch_id)["approved_by"] == ["李科长"]
    assert _audit(engine, "batch.approve") == [("李科长", f"batch:{batch_id}")]


def test_the_bank_file_is_offered_while_approved_and_as_a_copy_after_payment(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    batch_id = _prepared_batch(client, tokens)
    url = f"{API}/batches/{batch_id}"
    on = {"on": "2025-12-31"}
    sign_in(client, "孙出纳")
    assert "批量代发" not in client.get(f"/console/batches/{batch_id}").text  # a draft
    for approver in ("李科长", "王局长"):
        client.post(f"{url}/approve", json=on, headers=auth(tokens[approver]))
    page = client.get(f"/console/batches/{batch_id}").text
    assert "下载批量代发文件</button>" in page
    bank = f"/console/batches/{batch_id}/bank.xlsx"
    # an audited export is a POST with the form's CSRF token: a link from another site
    # (a GET) or a form without the token takes nothing
    assert client.get(bank).status_code == 405
    assert client.post(bank, data={}).status_code == 403
    assert _audit(engine, "batch.bank_file") == []
    assert client.post(bank, data=form_fields(page)).status_code == 200
    client.post(f"{url}/confirm", json=on, headers=auth(tokens["孙出纳"]))
    page = client.get(f"/console/batches/{batch_id}").text
    assert "下载批量代发文件（对账副本）</button>" in page
    assert client.post(bank, data=form_fields(page)).status_code == 200
    assert _audit(engine, "batch.bank_file") == [("孙出纳", f"batch:{batch_id}")] * 2
    sign_in(client, "李科长")  # the approver checks whole numbers but sends no bank file
    page = client.get(f"/console/batches/{batch_id}").text
    assert "批量代发" not in page
    assert client.post(bank, data=form_fields(page)).status_code == 403


def test_a_refusal_shows_on_the_page_in_words(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    batch_id = _prepared_batch(client, tokens)
    sign_in(client, "李科长")
    page = client.get(f"/console/batches/{batch_id}")
    r = client.post(
        f"/console/batches/{batch_id}/reject", data={**form_fields(page.text), "reason": " "}
    )
    assert r.status_code == 200
    assert "输入有误：驳回理由：必须填写" in r.text
    assert _state(client, tokens, batch_id)["state"] == "draft"


def test_a_date_after_today_is_refused_in_chinese_naming_the_field(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock
) -> None:
    """The date picker stops at today, and a later date typed anyway is refused with the
    field's label; no batch is prepared."""
    clock.set(date(2026, 12, 4))
    fund_a_year(client, tokens)
    sign_in(client, "张会计")
    page = client.get("/console/batches")
    assert 'name="on" type="date" max="2026-12-04"' in page.text
    r = client.post(
        "/console/batches", data={**form_fields(page.text), "year": "2025", "on": "2026-12-05"}
    )
    assert r.status_code == 200
    assert "输入有误：准备日期：不能晚于今天（2026-12-04）：2026-12-05 尚未到来" in r.text
    assert (  # and beside the field it names
        'title="留空为今天；其月份为发放月份"><span class="field-error" role="alert">'
        "不能晚于今天（2026-12-04）：2026-12-05 尚未到来</span>"
    ) in r.text
    again = client.get("/console/batches")  # shown once
    assert 'class="field-error"' not in again.text
    r = client.post("/console/batches", data={**form_fields(again.text), "year": "2027", "on": ""})
    assert (
        'inputmode="numeric" required><span class="field-error" role="alert">'
        "2027年尚未开始（今天是2026-12-04）"
    ) in r.text
    assert client.get(f"{API}/batches", headers=auth(tokens["审计员"])).json()["items"] == []


def test_a_payment_dated_tomorrow_or_before_its_approval_is_refused_beside_its_date(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock
) -> None:
    clock.set(date(2025, 12, 28))
    batch_id = _prepared_batch(client, tokens)
    for approver in ("李科长", "王局长"):
        r = client.post(
            f"{API}/batches/{batch_id}/approve",
            json={"on": "2025-12-22"},
            headers=auth(tokens[approver]),
        )
        assert r.status_code == 200, r.text
    sign_in(client, "孙出纳")
    for day, refused in (
        ("2025-12-29", "不能晚于今天（2025-12-28）：2025-12-29 尚未到来"),
        ("2025-12-21", f"2025-12-21 不能早于批次 #{batch_id} 的审批（2025-12-22）"),
    ):
        page = client.get(f"/console/batches/{batch_id}")
        r = client.post(
            f"/console/batches/{batch_id}/confirm", data={**form_fields(page.text), "on": day}
        )
        assert f'<span class="field-error" role="alert">{refused}</span>' in r.text
    assert _state(client, tokens, batch_id)["state"] == "approved"


@pytest.mark.parametrize(
    ("name", "allowed", "refused"),
    [
        (
            "张会计",
            ["/console", "/console/batches", "/console/studios", "/console/people"],
            ["/console/users", "/console/audit", "/console/statements", "/console/jobs"],
        ),
        ("审计员", ["/console/statements", "/console/jobs", "/console/audit"], ["/console/users"]),
        ("系统管理员", ["/console/users", "/console/jobs", "/console/audit"], []),
    ],
)
def test_each_role_sees_its_pages_and_is_refused_the_others(
    client: TestClient[Litestar], name: str, allowed: list[str], refused: list[str]
) -> None:
    sign_in(client, name)
    menu = client.get("/console").text
    for path in allowed:
        assert client.get(path).status_code == 200, path
        assert f'href="{path}"' in menu
    for path in refused:
        r = client.get(path)
        assert (r.status_code, "无权" in r.text, f'href="{path}"' in menu) == (403, True, False)


def test_console_pages_load_nothing_from_outside_the_server(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    batch_id = _prepared_batch(client, tokens)
    sign_in(client, "系统管理员")
    pages = [
        "/console",
        "/console/batches",
        f"/console/batches/{batch_id}",
        "/console/studios",
        "/console/people",
        "/console/statements",
        "/console/jobs",
        "/console/audit",
        "/console/users",
    ]
    client.cookies.clear()
    login = client.get("/")
    assert "script-src 'self'" in login.headers["content-security-policy"]
    sign_in(client, "系统管理员")
    for path in pages:
        page = client.get(path)
        # and the browser is told so: no script, style or form target from elsewhere
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        html = page.text
        for text in (html, login.text):
            for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", text):
                assert url.startswith("/"), f"{path} loads {url}"
                if url.startswith("/static/"):
                    assert client.get(url).status_code == 200, url


def test_people_are_shown_masked(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    fund_a_year(client, tokens)
    sign_in(client, "张会计")
    html = client.get("/console/people").text
    assert "150625********1011" in html or "********" in html
    assert not re.search(r"\b\d{17}[\dX]\b", html)


def test_an_admin_adds_a_user_sees_the_token_once_and_sets_a_password(
    client: TestClient[Litestar], engine: Engine
) -> None:
    sign_in(client, "系统管理员")
    page = client.get("/console/users")
    r = client.post(
        "/console/users", data={**form_fields(page.text), "name": "赵出纳", "role": "clerk"}
    )
    token = re.search(r'id="token">(sl_[^<]+)<', r.text)
    assert token is not None
    assert client.get(f"{API}/batches", headers=auth(token.group(1))).status_code == 200
    page = client.get("/console/users")
    r = client.post(
        f"/console/users/{'赵出纳'}/password",
        data={
            **form_fields(page.text),
            "password": "a long passphrase",
            "again": "a long passphrase",
        },
    )
    assert "已为 赵出纳 设置新密码" in r.text
    with UnitOfWork(engine, write=False) as uow:
        assert users.check_password(uow, "赵出纳", "a long passphrase") is not None
        # neither the token nor the password is kept in a stored answer
        stored = uow.session.execute(sql("SELECT response FROM idempotent_requests")).all()
    assert all(token.group(1) not in str(row) and "passphrase" not in str(row) for row in stored)


def test_an_approver_added_in_the_console_waits_for_the_other_admin_to_confirm(
    client: TestClient[Litestar], engine: Engine
) -> None:
    sign_in(client, "系统管理员")
    page = client.get("/console/users")
    client.post(
        "/console/users",
        data={
            **form_fields(page.text),
            "name": "钱科长",
            "role": "approver",
            "id_number": approver_id_number(40),
        },
    )
    page = client.get("/console/users")
    row = re.search(r"<td>钱科长</td>.*?</tr>", page.text, re.S)
    assert row is not None
    assert "待第二位管理员确认（系统管理员 添加）" in row.group(0)
    assert "/console/users/%E9%92%B1%E7%A7%91%E9%95%BF/confirm" not in row.group(0)  # not his own
    client.post("/sign-out", data=form_fields(page.text))
    sign_in(client, "信息科管理员")
    page = client.get("/console/users")
    r = client.post("/console/users/钱科长/confirm", data=form_fields(page.text))
    assert "已确认用户 钱科长（approver），现可使用" in r.text
    assert _audit(engine, "user.confirm") == [("信息科管理员", "user:钱科长")]


def test_the_studios_page_closes_an_ended_cycle_and_renames_a_studio(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    """A round of 2021-2023: HJ-S01 graded 不合格 throughout (nothing owed), HJ-S02 合格 at
    the end and paid; an approver closes both cycles from the page, an admin renames
    HJ-S02; HJ-S01 is not renamed and offers nothing."""
    clerk, boss = auth(tokens["张会计"]), auth(tokens["李科长"])
    policy = client.get(f"{API}/policies", headers=clerk).json()[0]
    earlier = {**policy, "version": "2021试行", "year": 2021}
    for path, body, who in (
        ("policies", earlier, auth(tokens["系统管理员"])),
        ("roster", roster(2021), clerk),
        ("appropriations", {"year": 2021, "on": "2021-01-02"}, clerk),
        (
            "grades",
            [
                {"year": year, "studio": code, "grade": "unqualified"}
                for year in (2021, 2022, 2023)
                for code in ("HJ-S01", "HJ-S02")
                if (year, code) != (2023, "HJ-S02")
            ]
            + [{"year": 2023, "studio": "HJ-S02", "grade": "qualified"}],
            clerk,
        ),
    ):
        r = client.post(f"{API}/{path}", json=body, headers=who)
        assert r.status_code in (200, 201), r.text
    batch = client.post(f"{API}/batches", json={"year": 2023, "on": "2023-12-20"}, headers=clerk)
    assert batch.status_code == 201, batch.text
    cashier = auth(tokens["孙出纳"])
    for step, body, who in (
        ("approve", {"on": "2023-12-22"}, boss),
        ("confirm", {"on": "2023-12-25"}, cashier),
    ):
        r = client.post(f"{API}/batches/{batch.json()['id']}/{step}", json=body, headers=who)
        assert r.status_code == 200, r.text

    sign_in(client, "审计员")  # reads the cycles, acts on none
    page = client.get("/console/studios")
    assert "第1周期（2021-2023）" in page.text
    assert "期满待结算" in page.text
    assert "/console/studios/HJ-S01/close" not in page.text
    client.post("/sign-out", data=form_fields(page.text))
    sign_in(client, "李科长")
    page = client.get("/console/studios")
    assert page.text.count('action="/console/studios/HJ-S0') == 2  # 结算 for both
    for code in ("HJ-S01", "HJ-S02"):
        r = client.post(
            f"/console/studios/{code}/close",
            data={**form_fields(client.get("/console/studios").text), "on": "2024-01-10"},
        )
        assert f"{code} 第1周期（2021-2023）已结算：退回 ¥" in r.text, r.text
    page = client.get("/console/studios")
    assert "不再命名" in page.text
    assert "可继续命名" in page.text
    assert "/renew" not in page.text  # an approver does not rename
    client.post("/sign-out", data=form_fields(page.text))
    sign_in(client, "系统管理员")
    page = client.get("/console/studios")
    assert 'action="/console/studios/HJ-S02/renew"' in page.text
    assert 'action="/console/studios/HJ-S01/renew"' not in page.text
    r = client.post(
        "/console/studios/HJ-S02/renew",
        data={**form_fields(page.text), "on": "2024-01-15"},
    )
    assert "HJ-S02 已继续命名：第2周期（2024-2026）" in r.text
    assert _audit(engine, "cycle.close") == [
        ("李科长", "cycle:HJ-S01:1"),
        ("李科长", "cycle:HJ-S02:1"),
    ]
    assert _audit(engine, "cycle.renew") == [("系统管理员", "cycle:HJ-S02:2")]


def test_the_studios_page_lists_who_is_held_and_an_admin_records_the_decision_restoring_it(
    client: TestClient[Litestar], tokens: dict[str, str], engine: Engine
) -> None:
    """HJ-S02 graded 不合格 in 2024 is held in 2025 (考核发放): a clerk sees why and no form;
    an admin's decision with a bad percent is refused naming the field, writing nothing;
    a decision of 80% funds 40,000 元 at once and is listed with who recorded it."""
    clerk = auth(tokens["张会计"])
    for path, body in (
        ("roster", roster(2024)),
        ("appropriations", {"year": 2024}),
        (
            "grades",
            [
                {"year": 2024, "studio": "HJ-S01", "grade": "excellent"},
                {"year": 2024, "studio": "HJ-S02", "grade": "unqualified"},
            ],
        ),
    ):
        r = client.post(f"{API}/{path}", json=body, headers=clerk)
        assert r.status_code in (200, 201), r.text

    sign_in(client, "张会计")
    page = client.get("/console/studios?funding=2025")
    funding = page.text.split('id="funding"')[1]
    held = re.findall(r"<tr>\s*<td class=\"nowrap\">(HJ-S\d\d)</td>", funding)
    assert held == ["HJ-S02"]  # HJ-S01, graded 优秀, is due its whole budget
    assert "2024年度考核不合格，按政策暂停拨付，待领导小组决定恢复" in page.text
    assert "待领导小组决定" in page.text
    assert "/console/studios/HJ-S02/funding" not in page.text  # a clerk decides nothing
    before = client.get("/console/studios?funding=2020")  # a year no policy governs
    assert "2020 年度没有暂停拨付的工作室" in before.text
    client.post("/sign-out", data=form_fields(page.text))

    sign_in(client, "系统管理员")
    page = client.get("/console/studios?funding=2025")
    assert 'action="/console/studios/HJ-S02/funding"' in page.text
    decision = {"year": "2025", "reason": "领导小组2025年第1次会议：整改到位", "on": "2025-03-01"}
    r = client.post(
        "/console/studios/HJ-S02/funding",
        data={**form_fields(page.text), **decision, "percent": "120"},
    )
    assert "输入有误：恢复比例：应为 1–100 之间的整数百分比：&#39;120&#39;" in r.text, r.text
    assert _audit(engine, "funding.decide") == []
    r = client.post(
        "/console/studios/HJ-S02/funding",
        data={
            **form_fields(client.get("/console/studios?funding=2025").text),
            **decision,
            "percent": "80",
        },
    )
    assert "HJ-S02 2025年度经费经领导小组决定恢复拨付80%，已拨付 ¥40,000.00" in r.text, r.text
    assert "2025 年度没有暂停拨付的工作室" in r.text
    decided = re.search(r"<tr><td class=\"nowrap\">HJ-S02</td>.*?</tr>", r.text)
    assert decided is not None
    assert "80%" in decided.group(0)
    assert "领导小组2025年第1次会议：整改到位" in decided.group(0)
    assert "系统管理员" in decided.group(0)
    assert _audit(engine, "funding.decide") == [("系统管理员", "funding:HJ-S02:2025")]
    for source in ("finance", "edu_fund"):
        balance = client.get(
            f"{API}/accounts/studio:HJ-S02:fund:{source}/balance?as_of=2025-03-01",
            headers=auth(tokens["审计员"]),
        ).json()
        assert balance["balance_fen"] == 2_500_000 + 2_000_000  # 2024 whole, 2025 at 80%


@pytest.mark.parametrize(
    "odd", ["²", "２０２５", "٢٠٢٥", "99999999999999999999999999", "-1", "2025\x00"]
)
def test_a_number_is_ascii_digits_and_anything_else_is_never_a_500(
    client: TestClient[Litestar], odd: str
) -> None:
    """A Unicode digit (²) passes str.isdigit and breaks int(); a fullwidth year
    (２０２５) int() would read silently: both are not numbers to the ledger."""
    sign_in(client, "审计员")
    for path in ("/console", "/console/batches", "/console/studios", "/console/statements"):
        r = client.get(path, params={"year": odd})
        assert r.status_code == 200, (path, odd, r.status_code)
    r = client.get("/console/audit", params={"after": odd})
    assert r.status_code == 200, ("/console/audit", odd)
    sign_in(client, "张会计")
    page = client.get("/console/batches")
    r = client.post(
        "/console/batches", data={**form_fields(page.text), "year": odd}, follow_redirects=True
    )
    assert r.status_code == 200
    assert "年度" in r.text  # refused naming the field, in words


def test_a_failed_sign_in_cannot_poison_the_audit_log(
    client: TestClient[Litestar], engine: Engine
) -> None:
    typed = "\x1b[2J\u202e管理员\u200b"
    page = client.get("/")
    r = client.post(
        "/sign-in",
        # an empty password is checked all the same (one Argon2 verification)
        data={"name": typed, "password": "", **form_fields(page.text)},
        headers={"X-Request-Id": "evil id;"},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert _audit(engine, "session.sign_in_failed") == [
        ("\\u001b[2J\\u202e管理员\\u200b", "user:\\u001b[2J\\u202e管理员\\u200b")
    ]
    with UnitOfWork(engine, write=False) as uow:
        [entry] = uow.audit.entries(0, 10, action="session.sign_in_failed")
    assert len(entry.request_id) == 32  # not the caller's: it was no plain id


def _cells(html: str, table: str) -> list[list[str]]:
    """A table's body rows as text cells (tags dropped, whitespace closed up)."""
    body = re.search(rf'<table class="{table}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None, table
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]


def test_the_approver_sees_whole_accounts_and_each_studios_funds_before_and_after(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock
) -> None:
    clock.set(date(2025, 12, 28))
    batch_id = _prepared_batch(client, tokens)
    funds = [
        ["HJ-S01", "旗财政", "25,000.00", "17,500.00", "7,500.00"],
        ["立教教育基金", "25,000.00", "17,500.00", "7,500.00"],
        ["小计", "50,000.00", "35,000.00", "15,000.00"],
        ["HJ-S02", "旗财政", "25,000.00", "17,500.00", "7,500.00"],
        ["立教教育基金", "25,000.00", "17,500.00", "7,500.00"],
        ["小计", "50,000.00", "35,000.00", "15,000.00"],
    ]
    for n, approver in enumerate(("李科长", "王局长"), start=1):
        sign_in(client, approver)
        page = client.get(f"/console/batches/{batch_id}").text
        assert _cells(page, "funds") == funds
        lines = _cells(page, "lines")
        # 姓名, 身份证号, 开户银行, 银行账号 whole; the studio's fund before and after the line
        assert [x[1:5] + x[12:14] for x in lines[:2]] == [
            ["教师0", "150625199001010002", "中国农业银行", "6228480000000000000",
             "50,000.00", "40,000.00"],
            ["教师1", "150625199001010010", "中国农业银行", "6228480000000000001",
             "40,000.00", "35,000.00"],
        ]  # fmt: skip
        assert [x[12:14] for x in lines[5:7]] == [
            ["20,000.00", "15,000.00"],  # HJ-S01's last line
            ["50,000.00", "40,000.00"],  # HJ-S02's first
        ]
        assert '<span class="field-error">余额不足' not in page
        client.post(f"/console/batches/{batch_id}/approve", data=form_fields(page))
        assert len(_state(client, tokens, batch_id)["approved_by"]) == n  # type: ignore[arg-type]
    # approved: the same figures, now from the approval day's books with the batch added back
    page = client.get(f"/console/batches/{batch_id}").text
    assert _cells(page, "funds") == funds
    assert "按审批日 2025-12-28 日终余额加回本批次" in page
    # the clerk reads the same page masked
    sign_in(client, "张会计")
    page = client.get(f"/console/batches/{batch_id}").text
    assert [x[2:5] for x in _cells(page, "lines")[:1]] == [
        ["150625********0002", "中国农业银行", "***************0000"]
    ]


def test_the_auditor_finds_people_by_name_last_four_and_studio_and_reads_their_pages(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock
) -> None:
    clock.set(date(2025, 12, 28))
    batch_id = _prepared_batch(client, tokens)
    url = f"{API}/batches/{batch_id}"
    for approver in ("李科长", "王局长"):
        client.post(f"{url}/approve", json={"on": "2025-12-22"}, headers=auth(tokens[approver]))
    paid = client.post(
        f"{url}/confirm",
        json={"on": "2025-12-24", "failed": [{"line": 2, "reason": "账户已销户"}]},
        headers=auth(tokens["孙出纳"]),
    )
    assert paid.status_code == 200, paid.text
    sign_in(client, "审计员")

    def found(q: str) -> list[str]:
        page = client.get("/console/people", params={"q": q}).text
        return [row[1] for row in _cells(page, "people")] if "<table" in page else []

    assert found("教师1") == ["教师1", *(f"教师1{n}" for n in range(6))]  # part of a name
    assert found("0010") == ["教师1"]  # the last four of a 身份证号
    assert found("015x") == ["教师15"]  # …its X in either case
    assert found("hj-s02") == [f"教师1{n}" for n in range(6)]  # a studio's members
    assert found("无此人") == []
    assert "没有找到与“无此人”相符的人员" in client.get("/console/people?q=无此人").text
    assert found("%") == []  # a LIKE wildcard is a character like any other
    assert found("_") == []

    page = client.get("/console/studios/HJ-S01", params={"year": "2025"}).text
    assert _cells(page, "funds") == [
        ["旗财政", "0.00", "25,000.00", "17,500.00", "7,500.00", "7,500.00"],
        ["立教教育基金", "0.00", "25,000.00", "17,500.00", "7,500.00", "7,500.00"],
    ]
    assert re.search(r"<tfoot><tr><th>合计</th>.*?50,000.00.*?35,000.00.*?15,000.00", page)
    entries = _cells(page, "entries")
    assert entries[0] == [
        "2025-01-02", "记-2025-01-0001", "旗财政", "2025年度工作室业务经费拨款", "25,000.00", ""
    ]  # fmt: skip
    assert len(entries) == 2 + 12  # the appropriation, then each line from each source
    assert sum(int(e[5].replace(",", "").replace(".", "") or 0) for e in entries) == 3_500_000
    assert [m[:2] for m in _cells(page, "members")][:2] == [["教师0", "主持人"], ["教师1", "成员"]]
    assert _cells(page, "grades") == [["2025", "优秀"]]
    payouts = _cells(page, "payouts")
    assert payouts[0] == [
        "#1", "1", "2025", "教师0", "主持人", "1–12月", "优秀",
        "10,000.00", "1,600.00", "8,400.00", "已支付", "2025-12-24",
    ]  # fmt: skip
    assert payouts[1][10:] == ["退回", "—"]

    teacher0 = client.get("/console/people", params={"q": "0002"}).text
    code = _cells(teacher0, "people")[0][0]
    page = client.get(f"/console/people/{code}").text
    assert "150625********0002" in page
    assert "150625199001010002" not in page  # masked for the auditor
    assert _cells(page, "places") == [["HJ-S01", "语文名师工作室", "主持人", "2025-01-01", "—"]]
    assert _cells(page, "months") == [["2025-12", "1", "10,000.00", "1,600.00", "0.00", "8,400.00"]]
    assert _cells(page, "payouts")[0][-2:] == ["已支付", "2025-12-24"]
    assert client.get("/console/people/P999999").status_code == 404

    page = client.get("/console/studios", params={"q": "第二中"}).text
    assert [row[0] for row in _cells(page, "studios")] == ["HJ-S02"]  # by host unit
    page = client.get("/console/studios", params={"q": "语文"}).text
    assert [row[0] for row in _cells(page, "studios")] == ["HJ-S01"]  # by name


def test_an_approver_closes_the_months_that_have_ended_and_a_clerk_only_reads_them(
    client: TestClient[Litestar], tokens: dict[str, str], clock: Clock, engine: Engine
) -> None:
    clock.set(date(2025, 12, 28))
    fund_a_year(client, tokens)
    sign_in(client, "张会计")
    page = client.get("/console/periods").text
    assert "结账至" not in page  # a clerk closes nothing
    assert (
        client.post(
            "/console/periods/close", data={**form_fields(page), "period": "2025-11"}
        ).status_code
        == 403
    )
    sign_in(client, "李科长")
    page = client.get("/console/periods").text
    assert 'name="period" type="month" value="2025-11" max="2025-11"' in page
    refused = client.post("/console/periods/close", data={**form_fields(page), "period": "2025-12"})
    assert "2025年12月尚未结束（今天是 2025-12-28），月份结束后方可结账" in refused.text
    assert "period：" not in refused.text  # the field in words, never its code
    typo = client.post("/console/periods/close", data={**form_fields(page), "period": "2025-111"})
    assert (
        "会计期间：应写作 YYYY-MM（如 2024-03）：&#39;2025-111&#39;" in typo.text
    )  # never read as 2025-11: a close is final
    done = client.post("/console/periods/close", data={**form_fields(page), "period": "2025-11"})
    assert "已结账 2025-01..2025-11，结账人 李科长；锚点 " in done.text
    rows = _cells(done.text, "periods")
    assert rows[0][:3] == ["2025年12月", "未结账", "0"]
    assert rows[1][:4] == ["2025年11月", "已结账", "0", "李科长"]
    assert rows[-1][:4] == ["2025年1月", "已结账", "2", "李科长"]  # one appropriation a studio
    assert re.fullmatch(r"2025-12-28 12:0\d", rows[1][4])  # 北京时间, as the clock reads
    assert _audit(engine, "period.close") == [("李科长", "period:2025-11")]
