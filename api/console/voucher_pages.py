"""The console's 凭证 pages: a month's vouchers searched by number, 摘要, studio and
amount; one voucher as it reads on paper, with its originals to download and attach,
and both printed (A5). And 期间: the months of the books and their close (结账)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Annotated, Any, Final

from litestar import Controller, Request, Response
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import File, Redirect, Template

from api.console.common import act, page
from api.console.pages import Form, export, form, text, view
from api.http.base import Id, read, upload_bytes, upload_name
from api.http.books import fetch_original, vouchers_file
from ledger import program
from ledger.books import attachments, closing, vouchers
from ledger.books.periods import Period
from ledger.books.postings import Voucher
from ledger.errors import ValidationError, digits
from ledger.money import parse_amount, to_uppercase
from ledger.permissions import who_may
from ledger.users import User
from schema.db import UnitOfWork

PAGE_SIZE: Final = 100
MAX_QUERY: Final = 100


_NUMBER: Final = re.compile(r"(?:记-)?\d{4}-\d{2}-\d{4}")


def _voucher_number(text: str) -> Voucher | None:
    """The 凭证号 typed in the search box (``记-2024-12-0002`` or ``2024-12-0002``), not a
    date or a 摘要 that happens to hold digits."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Voucher.parse(text)
    except ValidationError:
        return None


def _back(number: str) -> str:
    return f"/console/vouchers/{number}"


class VoucherPages(Controller):
    path = "/console"

    @view("/vouchers", "ledger.read")
    def vouchers(self, request: Request[User, Any, Any]) -> Template | Redirect:
        """凭证: a month's vouchers (this month's at first), found by 凭证号 (straight to
        it), by 摘要 (the voucher's or a line's: a payee's name finds their stipend), by
        studio and by 合计 in 元; a page of 100 at a time."""
        q = request.query_params
        filters = {k: q.get(k, "").strip()[:MAX_QUERY] for k in ("month", "q", "studio", "amount")}
        problems: list[str] = []
        try:
            month = Period.parse(filters["month"], field="月份") if filters["month"] else None
        except ValidationError as refused:
            month = None
            problems.append(refused.message)
        month = month or Period.of(program.today())
        filters["month"] = str(month)
        if number := _voucher_number(filters["q"]):
            if read(request, lambda uow: uow.ledger.voucher_seq(number) is not None):
                return Redirect(_back(str(number)))
            problems.append(f"凭证{number}不存在")
        amount = None
        if filters["amount"]:
            try:
                amount = parse_amount(filters["amount"], field="合计")
            except ValidationError as refused:
                problems.append(f"合计：{refused.message}")
        query = vouchers.VoucherQuery(month, filters["studio"] or None, amount, filters["q"])
        after = int(q["after"]) if digits(q.get("after", "")) and len(q["after"]) <= 18 else 0

        def load(uow: UnitOfWork) -> tuple[list[vouchers.VoucherSummary], dict[int, int]]:
            found = vouchers.search(uow, query, after=after, limit=PAGE_SIZE + 1)
            return found, uow.attachments.counts(v.seq for v in found[:PAGE_SIZE])

        found, counts = ([], {}) if problems else read(request, load)
        return page(
            request,
            "vouchers.html",
            "凭证",
            found=found[:PAGE_SIZE],
            counts=counts,
            filters=filters,
            problems=problems,
            more=found[PAGE_SIZE - 1].seq if len(found) > PAGE_SIZE else None,
            query={k: v for k, v in filters.items() if v},
        )

    @view("/vouchers/print.xlsx", "ledger.read")
    def print_month(self, request: Request[User, Any, Any]) -> File:
        """The month's vouchers printed (A5 landscape, one page each)."""
        return vouchers_file(request, request.query_params.get("month", "")[:7], [])

    @view("/vouchers/{number:str}", "ledger.read")
    def voucher(self, request: Request[User, Any, Any], number: FromPath[str]) -> Template:
        """One 记账凭证 as it reads on paper, its originals listed with who attached them."""
        me = request.user

        def load(uow: UnitOfWork) -> tuple[vouchers.VoucherView, list[attachments.Attachment]]:
            shown = vouchers.voucher(uow, number[:24])
            return shown, uow.attachments.of_voucher(shown.seq)

        shown, originals = read(request, load)
        readable = {a.id for a in originals if attachments.readable_by(me.role, a)}
        return page(
            request,
            "voucher.html",
            f"凭证 {shown.number}",
            v=shown,
            upper=to_uppercase(shown.total),
            month=f"{shown.number.year}-{shown.number.month:02d}",
            originals=originals,
            readable=readable,
            limit_mb=attachments.MAX_BYTES // (1024 * 1024),
            bank_readers=who_may(attachments.WHOLE_DATA_ACTION),
            attach_path=f"{_back(str(shown.number))}/attachments",
        )

    @view("/vouchers/{number:str}/print.xlsx", "ledger.read")
    def print_one(self, request: Request[User, Any, Any], number: FromPath[str]) -> File:
        """This voucher printed (A5 landscape)."""
        return vouchers_file(request, None, [number[:24]])

    @form(
        "/vouchers/{number:str}/attachments",
        "attachment.add",
        request_max_body_size=attachments.MAX_BYTES + 1024 * 1024,
    )
    def attach(
        self,
        request: Request[User, Any, Any],
        number: FromPath[str],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Redirect:
        """附加原始凭证: kept by its content's hash, sealed; refused with the reason when
        it is not a PDF, OFD, JPEG, PNG or xlsx, or too large."""
        upload = data.get("file")
        content = b""
        too_large = None
        if isinstance(upload, UploadFile):
            try:
                content = upload_bytes(upload, upload.filename or "文件")
            except ValidationError as refused:
                too_large = refused
        note = str(data.get("note") or "")
        fields = {k: v for k, v in data.items() if k != "file"}
        fields["file"] = hashlib.sha256(content).hexdigest()
        me = request.user.name
        back = _back(number[:24])

        def run(uow: UnitOfWork) -> attachments.Attachment:
            if too_large is not None:
                raise too_large
            if not isinstance(upload, UploadFile) or not content:
                raise ValidationError("文件", "请选择要附加的文件")
            name = upload_name(upload.filename, "文件")
            return attachments.attach(uow, number, name, content, by=me, note=note)

        def done(_: UnitOfWork, added: attachments.Attachment) -> tuple[str, str]:
            return (
                f"已附加原始凭证：附件#{added.id} {added.filename}（{added.kind}）",
                _back(str(added.voucher)),
            )

        return act(
            request,
            action="attachment.add",
            form=fields,
            run=run,
            target=lambda a: f"attachment:{a.id}",
            done=done,
            back=back,
        )

    @export("/attachments/{attachment_id:int}", "attachment.read")
    def original(self, request: Request[User, Any, Any], attachment_id: Id) -> Response[bytes]:
        """An original's bytes as attached (a POST with the form's token; logged)."""
        return fetch_original(request, attachment_id)


class PeriodPages(Controller):
    path = "/console/periods"

    @view("/", "ledger.read")
    def periods(self, request: Request[User, Any, Any]) -> Template:
        """期间: each month of the books, open or closed (结账), newest first; an approver
        or admin closes the months that have ended. A closed month is never reopened: a
        correction is a reversing voucher dated in an open month."""
        today = program.today()
        states = read(request, lambda uow: closing.states(uow, today))
        ended = Period.of(Period.of(today).first_day - timedelta(days=1))
        return page(
            request,
            "periods.html",
            "期间",
            states=list(reversed(states)),
            ended=ended,
            closed_through=next((s.period for s in reversed(states) if s.closed), None),
        )

    @form("/close", "period.close")
    def close(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """结账: the month asked and every open month before it, once it has ended."""
        me = request.user.name
        asked = text(data, "period", "结账月份")
        return act(
            request,
            action="period.close",
            form=data,
            run=lambda uow: closing.close(uow, asked, me),
            target=lambda c: f"period:{c.through}",
            done=lambda _, c: (c.message, "/console/periods"),
            back="/console/periods",
        )
