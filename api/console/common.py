"""What every console page shares: the layout's context, acting on a form, and
showing a refusal as a message on the page instead of an error.

A form carries two hidden fields: Litestar's CSRF token (``_csrf_token``,
checked by the CSRF middleware before any handler runs) and a key (``_key``,
fresh each time the page is drawn). An action runs through
:func:`api.http.base.commit_write` with that key, the same path the API takes
for an ``Idempotency-Key``: the change and its audit entry commit together, and
a double click or a resubmitted form finds the first answer and acts once.
After an action the browser is redirected (post/redirect/get), so reloading the
page it lands on repeats nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeVar

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError, IntegrityError

from api.console.auth import MANUAL, login_redirect
from api.http.base import KeyReused, Written, commit_write, engine_of, refusal_of, request_id
from api.shapes import key_trouble_for
from ledger import clock, errors
from ledger.codes import UserRole
from ledger.messages import field_label
from ledger.permissions import allows
from ledger.users import User
from ledger.workbooks.imports import ImportRefused
from schema.db import UnitOfWork, is_conflict

T = TypeVar("T")
log = logging.getLogger("studio_ledger.console")

KEY_FIELD: Final = "_key"

FIELD_ERRORS: Final = "_field_errors"
"""Where a refused form leaves its fields' messages for the page it goes back to, which
shows each beside its field (:func:`page`'s ``field_error``)."""


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    action: str


NAV: Final = (
    NavItem("/console", "首页", "ledger.read"),
    NavItem("/console/imports", "导入", "roster.save"),
    NavItem("/console/receipts", "收款", "receipt.record"),
    NavItem("/console/expenses", "支出", "expense.record"),
    NavItem("/console/batches", "批次", "batch.read"),
    NavItem("/console/people", "人员", "registry.read"),
    NavItem("/console/studios", "工作室", "registry.read"),
    NavItem("/console/vouchers", "凭证", "ledger.read"),
    NavItem("/console/periods", "期间", "ledger.read"),
    NavItem("/console/statements", "报表", "statement.export"),
    NavItem("/console/tax", "个税", "statement.withholding"),
    NavItem("/console/jobs", "作业", "job.read"),
    NavItem("/console/audit", "审计日志", "audit.read"),
    NavItem("/console/users", "用户", "user.read"),
)
"""The menu; each entry shows only to roles allowed its action."""

MANUAL_HOME: Final = f"{MANUAL}/"
CHAPTERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "clerk": "guide/clerk/",
        "approver": "guide/approver/",
        "cashier": "guide/cashier/",
        "auditor": "guide/auditor/",
        "admin": "guide/admin/",
    }
)
"""Each role's chapter of the manual (docs/guide/)."""
ANY_ROLE: Final = ""
HELP: Final[tuple[tuple[str, Mapping[str, str]], ...]] = (
    ("/console/imports", {ANY_ROLE: "guide/clerk/#imports"}),
    ("/console/receipts", {ANY_ROLE: "guide/clerk/#receipts"}),
    ("/console/expenses", {ANY_ROLE: "guide/clerk/#expenses"}),
    ("/console/people", {ANY_ROLE: "guide/clerk/#people"}),
    (
        "/console/batches",  # a different desk for each role
        {
            "clerk": "guide/clerk/#batches",
            "cashier": "guide/cashier/#pay",
            ANY_ROLE: "guide/approver/#approve",
        },
    ),
    (
        "/console/studios",
        {"approver": "guide/approver/#cycles", ANY_ROLE: "guide/admin/#studios"},
    ),
    ("/console/vouchers", {ANY_ROLE: "guide/auditor/#vouchers"}),
    (
        "/console/periods",
        {"approver": "guide/approver/#periods", ANY_ROLE: "guide/admin/#periods"},
    ),
    ("/console/statements", {ANY_ROLE: "guide/auditor/#statements"}),
    ("/console/tax", {ANY_ROLE: "guide/cashier/#tax"}),
    ("/console/jobs", {ANY_ROLE: "guide/admin/#jobs"}),
    ("/console/audit", {ANY_ROLE: "guide/auditor/#audit"}),
    ("/console/users", {ANY_ROLE: "guide/admin/#users"}),
    ("/console/password", {ANY_ROLE: "guide/admin/#password"}),
)
"""The manual's section for each console page, by the start of its path: the reader's
role's own where its chapter has one, else the one section for every role."""


def help_for(path: str, role: str) -> str:
    """The 帮助 link of the console page at ``path`` for a user of ``role``; the role's
    chapter for its home page."""
    for prefix, sections in HELP:
        if path.startswith(prefix):
            return MANUAL_HOME + sections.get(role, sections[ANY_ROLE])
    return MANUAL_HOME + CHAPTERS.get(role, "guide/")


def new_key() -> str:
    return secrets.token_urlsafe(18)


def page(request: Request[User, Any, Any], template: str, title: str, **context: Any) -> Template:
    """A console page in the layout: the menu for the user's role, their name and role,
    the messages left by the last action."""
    user = request.user
    path = request.url.path
    refused = request.session.pop(FIELD_ERRORS, None) or {}

    def field_error(form: str, label: str) -> str:
        """The refusal of ``label`` when the form posting to ``form`` was just refused."""
        return str(refused.get("fields", {}).get(label, "")) if refused.get("form") == form else ""

    return Template(
        template,
        context={
            "title": title,
            "me": user,
            "my_role": UserRole(user.role).label,
            "nav": [
                (
                    item,
                    path == item.path or (item.path != "/console" and path.startswith(item.path)),
                )
                for item in NAV
                if allows(user.role, item.action)
            ],
            "can": lambda action: allows(user.role, action),
            "help": help_for(path, user.role),
            "new_key": new_key,
            "today": clock.today(),  # date inputs of writes stop at it (max)
            "field_error": field_error,
            **context,
        },
    )


# -- refusals in words --------------------------------------------------------------------


def refusal_text(error: errors.LedgerError, role: str | None = None) -> str:
    """A domain refusal as one line for a person (of ``role``): what kind, then the
    service's words — but a chain key's trouble in full for an admin only."""
    title = refusal_of(error).heading
    if isinstance(error, errors.ChainKeyError):
        detail = key_trouble_for(role, str(error))
    elif isinstance(error, errors.InvalidInputError):
        detail = "；".join(f"{field_label(e.field)}：{e.message}" for e in error.errors)
    elif isinstance(error, ImportRefused):
        detail = "；".join(map(str, error.problems))
    elif isinstance(error, errors.ValidationError):
        detail = f"{field_label(error.field)}：{error.message}"
    else:
        detail = str(error)
    return f"{title}：{detail}"


def _fields(error: errors.LedgerError) -> dict[str, str]:
    """Each refused field of a form (by the label the console names it with) and why."""
    if isinstance(error, errors.InvalidInputError):
        return {e.field: e.message for e in error.errors}
    if isinstance(error, errors.ValidationError):
        return {error.field: error.message}
    return {}


# -- acting on a form ------------------------------------------------------------------------


def act(
    request: Request[User, Any, Any],
    *,
    action: str,
    form: Mapping[str, Any],
    run: Callable[[UnitOfWork], T],
    target: Callable[[T], str],
    done: Callable[[UnitOfWork, T], tuple[str, str]],
    back: str,
) -> Redirect:
    """Do ``run`` for the signed-in user as ``action`` and go where ``done`` says, with
    its message; a refusal goes ``back`` with the reason. Nothing is written when refused.

    ``form`` (without the CSRF token) is what the idempotency check compares: the
    same form key with other values is refused, never acted on twice."""
    data = {k: v for k, v in form.items() if k not in ("_csrf_token", KEY_FIELD)}
    try:
        written = form_write(
            request,
            form,
            action=action,
            data=data,
            run=run,
            answer=lambda uow, result: dict(zip(("message", "to"), done(uow, result), strict=True)),
            target=target,
        )
    except errors.LedgerError as refused:
        return refused_back(request, refused, back)
    except KeyReused:
        flash(request, "此表单已经提交过，没有重复办理；请在页面上重新操作。", "error")
        return Redirect(back)
    message = written.content["message"]
    if written.replayed:
        message += "（重复提交，未再次办理）"
    flash(request, message, "success")
    return Redirect(written.content["to"])


def form_write(
    request: Request[User, Any, Any],
    form: Mapping[str, Any],
    *,
    action: str,
    data: Any,
    run: Callable[[UnitOfWork], T],
    answer: Callable[[UnitOfWork, T], Any],
    target: Callable[[T], str],
) -> Written:
    """:func:`api.http.base.commit_write` for the signed-in user's form: ``data`` is what
    the form's key (:data:`KEY_FIELD`) is held to, so a second submit acts once."""
    user = request.user
    key = str(form.get(KEY_FIELD) or "")
    return commit_write(
        engine_of(request),
        user=user,
        method=request.method,
        path=request.url.path,
        request_id=request_id(request),
        action=action,
        data=data,
        key=f"console:{user.name}:{key}" if key else None,
        run=run,
        answer=answer,
        target=target,
    )


def refused_back(
    request: Request[User, Any, Any], refused: errors.LedgerError, back: str
) -> Redirect:
    """Back to the form, with the refusal in words and under each field it names."""
    flash(request, refusal_text(refused, request.user.role), "error")
    if fields := _fields(refused):
        request.session[FIELD_ERRORS] = {"form": request.url.path, "fields": fields}
    return Redirect(back)


# -- errors as pages ------------------------------------------------------------------------


def _error_page(
    request: Request[Any, Any, Any], status: int, title: str, message: str
) -> Response[Any]:
    user = request.scope.get("user")
    context: dict[str, Any] = {"title": title, "message": message, "status": status}
    if isinstance(user, User):
        context |= {
            "me": user,
            "my_role": UserRole(user.role).label,
            "help": help_for(request.url.path, user.role),
        }
    return Template("error.html", context=context, status_code=status)


def on_refusal(request: Request[Any, Any, Any], error: errors.LedgerError) -> Response[Any]:
    user = request.scope.get("user")
    words = refusal_text(error, user.role if isinstance(user, User) else None)
    return _error_page(request, refusal_of(error).status, "未能办理", words)


PLAIN_ANSWERS: Final = {
    403: ("无权访问", ""),  # the guard's own words, naming who may
    404: ("未找到", "没有这个页面或记录。"),
    413: ("文件过大", "上传的内容超过服务接受的大小上限，没有办理任何事项。请缩小文件后重新上传。"),
}
"""The pages an HTTP refusal becomes: title and words ('' keeps the refusal's own)."""


def on_http(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if isinstance(error, NotAuthorizedException):
        return login_redirect(request, error)
    if error.status_code == 403 and "CSRF" in str(error.detail):
        return _error_page(
            request,
            403,
            "表单已失效",
            "提交被拒绝：表单缺少或带有无效的安全令牌（CSRF），没有办理任何事项。"
            "请返回、刷新页面后重新提交。",
        )
    if error.status_code in PLAIN_ANSWERS:
        title, words = PLAIN_ANSWERS[error.status_code]
        return _error_page(request, error.status_code, title, words or str(error.detail))
    if isinstance(error, ValidationException):
        return _error_page(request, 400, "输入有误", f"请检查填写的内容：{error.detail}")
    return _error_page(request, error.status_code, "请求未被接受", str(error.detail))


def on_database(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, IntegrityError) and is_conflict(error):
        message = "另一项操作同时修改了相同的数据，本次没有写入任何内容，请重试。"
    else:
        message = "输入的值超出了账簿能保存的范围，或违反了账簿的规则；没有写入任何内容。"
    return _error_page(request, 409, "未能办理", message)


def on_crash(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    rid = request_id(request)
    log.exception("console request %s failed", rid, exc_info=error)
    return _error_page(
        request,
        500,
        "系统出错",
        f"处理请求时出错（编号 {rid}）。请把编号告诉系统管理员；是否已办理，可在审计日志中查看。",
    )


EXCEPTION_HANDLERS: Final = {
    errors.LedgerError: on_refusal,
    errors.ChainKeyError: on_refusal,  # not the app's JSON answer for the API
    HTTPException: on_http,
    IntegrityError: on_database,
    DataError: on_database,
    Exception: on_crash,
}
