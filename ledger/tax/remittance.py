"""缴纳: the month's withheld tax paid over to the tax office, exactly as declared.

One voucher a month, 借 应交税费—代扣个人所得税, 贷 银行存款 (收支项目 已缴代扣个人所得税), for the
已扣缴税额 of the month's 扣缴个人所得税报告表 (:mod:`ledger.tax.declaration`). It is
refused for a month not yet over, while a batch sent to the bank still waits for its
answer (its payments could still be income of the month), when the declaration does
not agree with the tax account, when there is nothing to pay, and a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import program
from ledger.batches.disbursement import Stores
from ledger.books import book
from ledger.books.accounts import TAX_REMITTED, WITHHELD_TAX
from ledger.books.periods import Period
from ledger.books.postings import NewTransaction, Posting
from ledger.clock import check_not_before
from ledger.errors import InvalidTransitionError, ValidationError
from ledger.money import Fen, format_plain
from ledger.tax.declaration import declaration
from ledger.users import acting


@dataclass(frozen=True)
class Remittance:
    month: Period
    amount: Fen
    people: int
    voucher: str


def remittance_key(month: Period) -> str:
    return f"tax:remit:{month}"


def remit(stores: Stores, month: Period, by: str, on: date) -> Remittance:
    """Pay ``month``'s declared tax over, dated ``on`` (after the month)."""
    acting(stores, by, "tax.remit")
    program.require_dated(stores, on)
    if program.today() <= month.last_day:
        raise InvalidTransitionError(f"{month.year}年{month.month}月尚未结束，不能缴纳本月税款")
    check_not_before(
        on, month.next().first_day, field="on", what=f"{month.year}年{month.month}月结束后的第一天"
    )
    done = stores.ledger.find_by_keys([remittance_key(month)]).get(remittance_key(month))
    if done is not None:
        raise InvalidTransitionError(
            f"{month.year}年{month.month}月的代扣个人所得税已于 {done.request.effective_date} "
            f"缴纳（凭证 {done.voucher}），不能重复缴纳"
        )
    waiting = [(b, m) for b, m in stores.batches.waiting_batches() if m <= str(month)]
    if waiting:
        named = "、".join(f"#{b}" for b, _ in waiting)
        raise InvalidTransitionError(
            f"批次 {named} 尚待银行答复，其付款可能计入{month.year}年{month.month}月的所得；"
            "请先读入银行结果再缴纳"
        )
    found = declaration(stores, month, by)
    if not found.ties:
        raise InvalidTransitionError(
            f"{month.year}年{month.month}月扣缴申报表已扣缴税额 {format_plain(found.withheld)} 元"
            f"与应交税费账面 {format_plain(found.in_ledger)} 元不符，不能缴纳"
        )
    if found.withheld <= 0:
        raise ValidationError("month", f"{month.year}年{month.month}月没有代扣的个人所得税可缴纳")
    memo = f"缴纳{month.year}年{month.month}月代扣个人所得税（劳务报酬，{len(found.lines)}人）"
    [posted] = book.post(
        stores.ledger,
        [
            NewTransaction(
                idempotency_key=remittance_key(month),
                effective_date=on,
                memo=memo,
                postings=(Posting(WITHHELD_TAX, TAX_REMITTED, found.withheld, memo),),
                metadata={"kind": "tax_remittance", "month": str(month)},
            )
        ],
        date_field="on",
        by=by,
    )
    return Remittance(month, found.withheld, len(found.lines), str(posted.voucher))
