"""The books over HTTP: balances, transactions, verify, and accounting periods."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.response import File

from api.http.base import (
    Cursor,
    EmptyIn,
    IdempotencyKey,
    Limit,
    Page,
    download,
    downloads,
    engine_of,
    page,
    read,
    reads,
    request_id,
    sends_original,
    upload_bytes,
    upload_name,
    uploads,
    write,
    writes,
)
from api.http.statements import logged
from api.shapes import (
    AttachmentOut,
    BalanceOut,
    ClosedOut,
    PeriodOut,
    TransactionOut,
    VerifyOut,
    VoucherOut,
    VoucherSummaryOut,
    attachment_out,
    balance_out,
    closed_out,
    period_out,
    transaction_out,
    verify_out,
    voucher_out,
    voucher_summary_out,
)
from ledger import audit as audit_log
from ledger import program
from ledger.books import attachments, book, closing, corrections, statements, vouchers
from ledger.books.accounts import account_kind
from ledger.books.periods import Period
from ledger.books.postings import MAX_MEMO_LENGTH
from ledger.users import User
from ledger.workbooks.vouchers import export_vouchers
from schema.db import UnitOfWork

VoucherNumber = Annotated[
    str, PathParameter(max_length=24, description="凭证号, e.g. 记-2024-03-0002")
]
Address = Annotated[
    str, PathParameter(max_length=200, description="e.g. studio:HJ-S01:fund:finance")
]


class AttachmentController(Controller):
    path = "/attachments"
    tags = ("books",)

    @sends_original("/{attachment_id:int}", "attachment.read")
    def get_attachment(
        self,
        request: Request[User, Any, Any],
        attachment_id: Annotated[int, PathParameter(ge=1, le=10**15)],
    ) -> Response[bytes]:
        """An original's bytes exactly as attached (the download is in the audit log); a
        file exchanged with the bank (whole 身份证号 and accounts) only for the 出纳."""
        return fetch_original(request, attachment_id)


class AccountController(Controller):
    path = "/accounts"
    tags = ("books",)

    @reads("/{address:str}/balance", "ledger.read")
    def account_balance(
        self,
        request: Request[User, Any, Any],
        address: Address,
        as_of: FromQuery[date | None] = None,
    ) -> BalanceOut:
        """An account's balance now, or at the end of ``as_of``, with its 科目."""
        account_kind(address)
        found = read(
            request, lambda uow: statements.account_balance(uow, address, as_of), snapshot=False
        )
        return balance_out(found, as_of)


class TransactionController(Controller):
    path = "/transactions"
    tags = ("books",)

    @reads("/", "ledger.read")
    def list_transactions(
        self,
        request: Request[User, Any, Any],
        account: Annotated[str | None, QueryParameter(max_length=200)] = None,
        studio: Annotated[str | None, QueryParameter(max_length=40)] = None,
        from_date: FromQuery[date | None] = None,
        to_date: FromQuery[date | None] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[TransactionOut]:
        """Transactions oldest first, by account, studio or effective date."""
        if account is not None:
            account_kind(account)
        start = cursor or 0
        found = read(
            request,
            lambda uow: book.transactions(
                uow.ledger,
                after=start,
                limit=limit + 1,
                account=account,
                studio=studio,
                from_date=from_date,
                to_date=to_date,
            ),
        )
        return page([transaction_out(t) for t in found], limit, lambda t: t.seq)


class VerifyController(Controller):
    path = "/verify"
    tags = ("books",)

    @reads("/", "ledger.verify")
    def verify(
        self,
        request: Request[User, Any, Any],
        anchor: Annotated[
            list[str] | None,
            QueryParameter(
                description="SEQ:HASH printed earlier; the ledger must still hold it",
                max_items=20,
            ),
        ] = None,
    ) -> VerifyOut:
        """Check the hash chain, its kept head, that every kept balance equals its
        postings, and that the ledger still holds each ``anchor`` (``ok`` false names
        what does not hold; the answer is still 200)."""
        kept = [book.parse_anchor(a) for a in anchor or []]
        report = read(request, lambda uow: attachments.verified(uow, kept))
        return verify_out(report, request.user.role)


class PeriodController(Controller):
    path = "/periods"
    tags = ("periods",)

    @reads("/", "ledger.read")
    def list_periods(self, request: Request[User, Any, Any]) -> list[PeriodOut]:
        """Each month of the books: open or closed (结账), by whom and when."""
        states = read(request, lambda uow: closing.states(uow, program.today()))
        return [period_out(x) for x in states]

    @writes("/{period:str}/close", "period.close")
    def close_period(
        self,
        request: Request[User, Any, Any],
        period: Annotated[str, PathParameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
        data: JSONBody[EmptyIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[ClosedOut]:
        """Close the month and every month before it; December is the year-end close."""
        return write(
            request,
            action="period.close",
            data=data,
            key=key,
            run=lambda uow: closing.close(uow, period, request.user.name),
            answer=lambda _, c: closed_out(c),
            target=lambda c: f"period:{c.through}",
        )


class ReversalIn(msgspec.Struct, forbid_unknown_fields=True):
    """A correction (红字冲销): why, when, and which postings (default: all)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MEMO_LENGTH)]
    on: date | None = None
    """The reversal's date: in an open month, not before the voucher's, not after today
    (default today, 北京时间)."""
    positions: list[Annotated[int, msgspec.Meta(ge=0, le=100_000)]] | None = None
    """The postings to send back, 0 the first; default every one."""


@dataclass
class AttachmentIn:
    """An original (PDF, OFD, JPEG, PNG or xlsx, up to 20 MB, known by its content) and
    what it is."""

    file: UploadFile
    note: str = ""


def original_response(found: attachments.Attachment, content: bytes) -> Response[bytes]:
    """An original's bytes, named as attached (RFC 6266, the UTF-8 name beside an ASCII
    one)."""
    ascii_name = f"original-{found.id}.{found.suffix}"
    return Response(
        content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(found.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def fetch_original(request: Request[User, Any, Any], attachment_id: int) -> Response[bytes]:
    """Original ``attachment_id``'s bytes for the request's user, the download logged."""
    with UnitOfWork(engine_of(request)) as uow:
        found, content = attachments.original(uow, attachment_id, by=request.user.name)
        audit_log.record(
            uow,
            request.user.name,
            attachments.download_action(found),
            f"attachment:{attachment_id}",
            request_id(request),
            {"file": found.filename, "sha256": found.sha256},
        )
        uow.commit()
    return original_response(found, content)


def vouchers_file(
    request: Request[User, Any, Any], month: str | None, numbers: Sequence[str]
) -> File:
    """记账凭证 (xlsx, A5 landscape): the month's, or those numbered."""

    def produce(folder: Path) -> Path:
        path = folder / (f"{month}-记账凭证.xlsx" if month else "记账凭证.xlsx")
        read(
            request,
            lambda uow: export_vouchers(vouchers.printed(uow, month=month, numbers=numbers), path),
        )
        target = f"vouchers:{month}" if month else "vouchers:" + ",".join(numbers)[:200]
        logged(request, "voucher.print", target, path.name)
        return path

    return download("studio-ledger-vouchers-", produce)


class VoucherController(Controller):
    path = "/vouchers"
    tags = ("books",)

    @downloads("/print.xlsx", "ledger.read")
    def print_vouchers(
        self,
        request: Request[User, Any, Any],
        month: Annotated[
            str | None, QueryParameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
        ] = None,
        number: Annotated[
            list[str] | None,
            QueryParameter(max_items=500, description="凭证号 (repeatable), instead of month"),
        ] = None,
    ) -> File:
        """记账凭证 to print (xlsx, A5 landscape, one page each; a longer voucher continues
        with 过次页): a month's in number order, or the vouchers named."""
        return vouchers_file(request, month, number or [])

    @reads("/{number:str}/attachments", "attachment.read")
    def list_attachments(
        self,
        request: Request[User, Any, Any],
        number: VoucherNumber,
    ) -> list[AttachmentOut]:
        """The originals (原始凭证) of a voucher, in the order they were attached."""
        return read(
            request, lambda uow: [attachment_out(a) for a in attachments.of_voucher(uow, number)]
        )

    @uploads(
        "/{number:str}/attachments",
        "attachment.add",
        status_code=201,
        request_max_body_size=attachments.MAX_BYTES + 1024 * 1024,
    )
    def add_attachment(
        self,
        request: Request[User, Any, Any],
        number: VoucherNumber,
        data: Annotated[AttachmentIn, Body(media_type=RequestEncodingType.MULTI_PART)],
        key: IdempotencyKey = None,
    ) -> Response[AttachmentOut]:
        """Attach an original to a voucher: PDF, OFD, JPEG, PNG or xlsx, known by its
        content (a program renamed .pdf is refused naming what it is), up to 20 MB; kept
        by its SHA-256 and sealed into the originals' chain."""
        name = upload_name(data.file.filename)
        content = upload_bytes(data.file, name)
        return write(
            request,
            action="attachment.add",
            data={"file": name, "sha256": hashlib.sha256(content).hexdigest(), "note": data.note},
            key=key,
            run=lambda uow: attachments.attach(
                uow, number, name, content, by=request.user.name, note=data.note
            ),
            answer=lambda _, a: attachment_out(a),
            target=lambda a: f"attachment:{a.id}",
            status=201,
        )

    @reads("/", "ledger.read")
    def list_vouchers(
        self,
        request: Request[User, Any, Any],
        month: Annotated[
            str | None,
            QueryParameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (default: this month)"),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[VoucherSummaryOut]:
        """A month's 记账凭证 in number order: 凭证号, 日期, 摘要, 合计 (this month's when
        no month is given, as on the command line)."""
        period = Period.parse(month, field="month") if month else Period.of(program.today())
        found = read(
            request,
            lambda uow: vouchers.month_vouchers(uow, period, after=cursor or 0, limit=limit + 1),
        )
        return page([voucher_summary_out(v) for v in found], limit, lambda v: v.seq)

    @reads("/{number:str}", "ledger.read")
    def get_voucher(
        self,
        request: Request[User, Any, Any],
        number: VoucherNumber,
    ) -> VoucherOut:
        """One 记账凭证 (``记-2024-03-0002``): each account once per side, 借 before 贷,
        with its 科目, 辅助核算 and 合计 in figures and 大写."""
        return read(request, lambda uow: voucher_out(vouchers.voucher(uow, number)))

    @writes("/{number:str}/reverse", "voucher.reverse", status=201)
    def reverse_voucher(
        self,
        request: Request[User, Any, Any],
        number: VoucherNumber,
        data: JSONBody[ReversalIn],
        key: IdempotencyKey = None,
    ) -> Response[TransactionOut]:
        """Reverse a voucher to correct it: a new voucher naming it, dated in an open month,
        on or after its date; each posting is sent back once (approver)."""
        return write(
            request,
            action="voucher.reverse",
            data=data,
            key=key,
            run=lambda uow: corrections.reverse_voucher(
                uow,
                number,
                data.on or program.today(),
                by=request.user.name,
                reason=data.reason,
                positions=data.positions,
            ),
            answer=lambda _, t: transaction_out(t),
            target=lambda t: f"voucher:{t.voucher}",
            status=201,
        )
