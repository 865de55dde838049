"""Corrections (更正): a recorded voucher is never changed; it is reversed (红字冲销) by a
new voucher dated in an open month, on or after its own date and never after today,
that names it, and the movement is then posted again as it should have been.

The service works in the caller's unit of work and never commits. Who may reverse is
:mod:`ledger.permissions` (``voucher.reverse``); the rules are :func:`ledger.book.reverse`'s
(each posting sent back once, a reversal never reversed, every guarded account
non-negative on every day) and the dates' (:mod:`ledger.clock`, :mod:`ledger.periods`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ledger import program
from ledger.books import book
from ledger.books.postings import MAX_MEMO_LENGTH, Transaction, Voucher
from ledger.errors import NotFoundError, ValidationError
from ledger.users import acting


def reverse_voucher(
    stores: program.Stores,
    number: str,
    on: date,
    *,
    by: str,
    reason: str,
    positions: Sequence[int] | None = None,
) -> Transaction:
    """Reverse voucher ``number`` (its postings at ``positions``, default all) dated ``on``,
    its 摘要 naming the voucher it corrects and why. Repeating the same correction
    returns the first; a posting already sent back is refused."""
    acting(stores, by, "voucher.reverse")
    if not reason.strip():
        raise ValidationError("reason", "冲销须写明原因（更正什么、为什么）")
    program.require_dated(stores, on)
    voucher = Voucher.parse(number)
    seq = stores.ledger.voucher_seq(voucher)
    if seq is None:
        raise NotFoundError(f"没有凭证 {voucher}")
    chosen = sorted(set(positions)) if positions is not None else None
    which = "all" if chosen is None else ",".join(map(str, chosen))
    return book.reverse(
        stores.ledger,
        seq,
        idempotency_key=f"correction:{seq}:{which}",
        effective_date=on,
        memo=f"冲销 {voucher}：{reason.strip()}"[:MAX_MEMO_LENGTH],
        positions=chosen,
        date_field="on",
        by=by,
    )
