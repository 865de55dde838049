"""Closing the books (结账): the service over :mod:`ledger.periods`.

It works in the caller's unit of work and never commits. A close first takes the
chain head lock, the one every posting takes, so a close and a write never
interleave: a write either lands before the close or is refused after it.
Who may close is :mod:`ledger.permissions` (``period.close``); a close of a month already closed
changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import clock
from ledger.batches import disbursement
from ledger.books.book import Anchor, ChainHead
from ledger.books.periods import (
    Closing,
    Period,
    PeriodState,
    check_closable,
    period_states,
)
from ledger.books.postings import utc_now
from ledger.users import acting


@dataclass(frozen=True)
class Closed:
    """What a close did.

    Attributes:
      first: the first month this close closed (``None`` when it changed nothing).
      head: the ledger's last transaction when the books were closed: the anchor
        an auditor can compare a later ledger with.
    """

    through: Period
    first: Period | None
    by: str
    head: ChainHead

    @property
    def changed(self) -> bool:
        return self.first is not None

    @property
    def message(self) -> str:
        if self.first is None:
            return f"{self.through} 已结账，未作任何更改"
        span = str(self.through) if self.first == self.through else f"{self.first}..{self.through}"
        year_end = f"（{self.through.year}年度年结）" if self.through.month == 12 else ""
        return (
            f"已结账 {span}{year_end}，结账人 {self.by}；"
            f"锚点 {Anchor(self.head.seq, self.head.hash)}"
            "（请另行保存：`verify --anchor` 可核对账簿仍含此笔）"
        )


def close(stores: disbursement.Stores, period: str, by: str) -> Closed:
    """Close ``period`` (``YYYY-MM``) and every month before it, once it has ended
    (today is the clock's, :mod:`ledger.clock`)."""
    through = Period.parse(period)
    acting(stores, by, "period.close")
    check_closable(through, clock.today())
    head = stores.ledger.lock_head()
    closed = stores.ledger.closed_through()
    if closed is not None and through <= closed:
        return Closed(through, None, by, head)
    stores.ledger.add_closing(Closing(through, by, utc_now()))
    first = closed.next() if closed is not None else min([through, *stores.ledger.last_vouchers()])
    return Closed(through, first, by, head)


def states(stores: disbursement.Stores, today: date) -> list[PeriodState]:
    """Each month of the books with its state, who closed it and when."""
    return period_states(stores.ledger.closings(), stores.ledger.last_vouchers(), today)
