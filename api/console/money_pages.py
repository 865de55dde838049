"""The 经办人's day in the console: 导入 (the four workbooks, each refused whole with every
problem named), 收款 (a unit's matching or support) and 支出 (an activity expense), each
through the same service as the command line, each recorded voucher shown at once so
its originals can be attached."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from litestar import Controller, Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template

from api.console.common import act, form_write, page, refused_back
from api.console.pages import Form, date_field, form, text, view
from api.http.base import (
    KeyReused,
    download,
    read,
    upload_name,
)
from api.shapes import import_out
from ledger.books import book
from ledger.books.postings import Transaction
from ledger.codes import ExpenseCategory, FundingSource, ReceiptKind, labels
from ledger.errors import InvalidInputError, LedgerError, ValidationError
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, Receipt
from ledger.money import parse_amount
from ledger.permissions import allows
from ledger.registry import roster_services
from ledger.users import User
from ledger.workbooks import imports
from ledger.workbooks.imports import ImportRefused
from schema.db import UnitOfWork

BODY_LIMIT: Final = imports.MAX_IMPORT_BYTES + 1024 * 1024
"""An import's upload, with room for the form around the file."""
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


# -- 导入 ------------------------------------------------------------------------------------


class ImportPages(Controller):
    path = "/console/imports"

    @view("/", "roster.save")
    def imports(self, request: Request[User, Any, Any]) -> Template:
        """导入: a file input per workbook the user may import, each with its template."""
        return _imports_page(request)

    @view("/{kind:str}/template.xlsx", "roster.save")
    def template(self, kind: FromPath[str]) -> File:
        """The empty workbook of ``kind``: its sheets, headers, drop-downs and examples."""
        if kind not in imports.KINDS:
            raise NotFoundException()

        def write(folder: Path) -> Path:
            path = folder / f"{imports.TITLES[kind]}模板.xlsx"
            imports.write_template(kind, path)
            return path

        return download("studio-ledger-template-", write)

    @form("/roster", "roster.save", request_max_body_size=BODY_LIMIT)
    def roster(self, request: Request[User, Any, Any], data: Upload) -> Template | Redirect:
        return _import(request, "roster", data)

    @form("/grades", "grades.save", request_max_body_size=BODY_LIMIT)
    def grades(self, request: Request[User, Any, Any], data: Upload) -> Template | Redirect:
        return _import(request, "grades", data)

    @form("/receipts", "receipt.record", request_max_body_size=BODY_LIMIT)
    def receipts(self, request: Request[User, Any, Any], data: Upload) -> Template | Redirect:
        return _import(request, "receipts", data)

    @form("/expenses", "expense.record", request_max_body_size=BODY_LIMIT)
    def expenses(self, request: Request[User, Any, Any], data: Upload) -> Template | Redirect:
        return _import(request, "expenses", data)


def _imports_page(
    request: Request[User, Any, Any],
    *,
    refused: ImportRefused | None = None,
    kind: str = "",
    name: str = "",
) -> Template:
    role = request.user.role
    shown = page(
        request,
        "imports.html",
        "导入",
        kinds=[(k, imports.TITLES[k]) for k in imports.KINDS if allows(role, imports.ACTIONS[k])],
        problems=[] if refused is None else refused.problems,
        refused_kind=kind,
        refused_title=imports.TITLES.get(kind, ""),
        refused_name=name,
        limit_mb=imports.MAX_IMPORT_BYTES // (1024 * 1024),
    )
    if refused is not None:
        shown.status_code = 422
    return shown


def _import(
    request: Request[User, Any, Any], kind: str, data: Mapping[str, Any]
) -> Template | Redirect:
    """Import the uploaded workbook of ``kind`` as the user, all or nothing: refused, the
    page lists every problem (sheet, row, column, why) and nothing is stored; done, what
    changed. The form's key makes a second click act once."""
    upload = data.get("file")
    user = request.user
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.xlsx"
        content = upload.file.read() if isinstance(upload, UploadFile) else b""
        path.write_bytes(content)
        try:
            name = upload_name(upload.filename if isinstance(upload, UploadFile) else "", "文件")
            if not content:
                raise ValidationError("文件", f"请选择要导入的{imports.TITLES[kind]}工作簿")
            written = form_write(
                request,
                data,
                action=f"import.{kind}",
                data={"file": name, "sha256": hashlib.sha256(content).hexdigest()},
                run=lambda uow: imports.import_file(uow, kind, path, by=user.name),
                answer=lambda _, report: import_out(report),
                target=lambda _: name,
            )
        except ImportRefused as refused:
            return _imports_page(request, refused=refused, kind=kind, name=name)
        except LedgerError as refused:
            return refused_back(request, refused, "/console/imports")
        except KeyReused:
            flash(request, "此表单已经提交过，没有重复导入；请重新选择文件。", "error")
            return Redirect("/console/imports")
    report = written.content
    words = (
        f"已导入{imports.TITLES[kind]}：{name} 共 {report['rows']} 行，"
        + (f"{report['changed']} 项有更改" if report["changed"] else "与已有记录相同，没有更改")
        + ("（重复提交，未再次导入）" if written.replayed else "")
    )
    flash(request, words, "success")
    for warning in report["warnings"]:
        flash(request, f"提示：{warning}", "warning")
    return Redirect("/console/imports")


# -- 收款 / 支出 --------------------------------------------------------------------------------


def _one(
    uow: UnitOfWork, prefix: str, run: Callable[[], list[Transaction]]
) -> tuple[Transaction, bool]:
    """``run`` a service given one item: its voucher and whether it is new (the same
    receipt or expense entered again returns the first, posting nothing); its refusals
    naming the form's fields (``日期``) rather than the list's (``receipts[0].日期``),
    each kept as the kind of refusal it is (余额不足 stays an overdraft)."""
    before = book.chain_end(uow.ledger)[0]
    try:
        [posted] = run()
    except InvalidInputError as refused:
        for error in refused.errors:
            error.field = error.field.removeprefix(prefix)
        raise
    except ValidationError as refused:
        refused.field = refused.field.removeprefix(prefix)
        raise
    return posted, posted.seq > before


def _studios(request: Request[User, Any, Any]) -> list[tuple[str, str]]:
    return read(request, lambda uow: [(s.code, s.name) for s in roster_services.studios(uow)])


def _posted(_: UnitOfWork, recorded: tuple[Transaction, bool]) -> tuple[str, str]:
    """After a receipt or an expense: its voucher, where its originals are attached; an
    entry the ledger already holds says so and names it (nothing was posted again)."""
    transaction, new = recorded
    said = (
        f"已记账：{transaction.voucher}，{transaction.memo}；可在下方附加原始凭证"
        if new
        else f"没有重复记账：与已记账的 {transaction.voucher}（{transaction.memo}）内容完全相同。"
        "如确是另一笔，请在摘要中写明区别后重新记账"
    )
    return said, f"/console/vouchers/{transaction.voucher}"


def _book(
    request: Request[User, Any, Any],
    action: str,
    data: Mapping[str, Any],
    run: Callable[[UnitOfWork], tuple[Transaction, bool]],
    back: str,
) -> Redirect:
    """Record one receipt or expense from its form (``run``) as ``action``: on to its
    voucher (:func:`_posted`), or ``back`` to the form with the refusal."""
    return act(
        request,
        action=action,
        form=data,
        run=run,
        target=lambda recorded: f"voucher:{recorded[0].voucher}",
        done=_posted,
        back=back,
    )


class MoneyPages(Controller):
    path = "/console"

    @view("/receipts", "receipt.record")
    def receipts(self, request: Request[User, Any, Any]) -> Template:
        """收款: a unit's matching (挂牌单位配套) or support (成员单位支持) into a studio."""
        return page(
            request,
            "receipts.html",
            "收款",
            studios=_studios(request),
            kinds=list(labels(ReceiptKind).items()),
        )

    @form("/receipts", "receipt.record")
    def record_receipt(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        me = request.user.name

        def run(uow: UnitOfWork) -> tuple[Transaction, bool]:
            receipt = Receipt(
                on=date_field(data, "on", "日期"),
                studio=text(data, "studio", "工作室"),
                amount=parse_amount(text(data, "amount", "金额"), field="金额"),
                memo=text(data, "memo", "摘要"),
                kind=text(data, "kind", "类型"),
                unit=text(data, "unit", "出资单位", required=False),
            )
            return _one(
                uow,
                "receipts[0].",
                lambda: fund_services.receive_matching(uow, [receipt], by=me),
            )

        return _book(request, "receipt.record", data, run, "/console/receipts")

    @view("/expenses", "expense.record")
    def expenses(self, request: Request[User, Any, Any]) -> Template:
        """支出: an activity expense paid from one of a studio's funds, within its plan."""
        return page(
            request,
            "expenses.html",
            "支出",
            studios=_studios(request),
            sources=list(labels(FundingSource).items()),
            categories=list(labels(ExpenseCategory).items()),
        )

    @form("/expenses", "expense.record")
    def record_expense(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        me = request.user.name

        def run(uow: UnitOfWork) -> tuple[Transaction, bool]:
            expense = Expense(
                on=date_field(data, "on", "日期"),
                studio=text(data, "studio", "工作室"),
                source=text(data, "source", "资金来源"),
                category=text(data, "category", "类别"),
                amount=parse_amount(text(data, "amount", "金额"), field="金额"),
                memo=text(data, "memo", "摘要"),
                claimant=text(data, "claimant", "报销人", required=False),
                claimant_id=text(data, "claimant_id", "报销人身份证号", required=False),
            )
            return _one(uow, "expenses[0].", lambda: fund_services.spend(uow, [expense], by=me))

        return _book(request, "expense.record", data, run, "/console/expenses")
