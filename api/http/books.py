"""The books over HTTP: balances, transactions, verify, and accounting periods."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from api.http.base import (
    Cursor,
    EmptyIn,
    IdempotencyKey,
    Limit,
    Page,
    page,
    read,
    reads,
    write,
    writes,
)
from api.shapes import (
    BalanceOut,
    ClosedOut,
    PeriodOut,
    TransactionOut,
    VerifyOut,
    VoucherOut,
    VoucherSummaryOut,
    balance_out,
    closed_out,
    period_out,
    transaction_out,
    verify_out,
    voucher_out,
    voucher_summary_out,
)
from ledger import program
from ledger.books import book, closing, corrections, statements, vouchers
from ledger.books.accounts import account_kind
from ledger.books.periods import Period
from ledger.books.postings import MAX_MEMO_LENGTH
from ledger.users import User

Address = Annotated[
    str, PathParameter(max_length=200, description="e.g. studio:HJ-S01:fund:finance")
]


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
        found = read(request, lambda uow: statements.account_balance(uow, address, as_of))
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
        report = read(request, lambda uow: book.verify(uow.ledger, kept))
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


class VoucherController(Controller):
    path = "/vouchers"
    tags = ("books",)

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
        number: Annotated[
            str, PathParameter(max_length=24, description="凭证号, e.g. 记-2024-03-0002")
        ],
    ) -> VoucherOut:
        """One 记账凭证 (``记-2024-03-0002``): each account once per side, 借 before 贷,
        with its 科目, 辅助核算 and 合计 in figures and 大写."""
        return read(request, lambda uow: voucher_out(vouchers.voucher(uow, number)))

    @writes("/{number:str}/reverse", "voucher.reverse", status=201)
    def reverse_voucher(
        self,
        request: Request[User, Any, Any],
        number: Annotated[
            str, PathParameter(max_length=24, description="凭证号, e.g. 记-2024-03-0002")
        ],
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
