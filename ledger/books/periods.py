"""Accounting periods (会计期间): months, and closing them in order (结账).

A period is a calendar month. Closing a month closes it and every month before
it, so what is closed is always one unbroken run up to a "closed through"
month; closing a December is the year-end close (年结). A closed period is
never reopened.

Invariant: no transaction is dated in a closed period. :func:`check_open` is
the one rule; :func:`ledger.book.post` applies it to every write under the
chain head lock (so a close and a post never interleave), services apply it
early to name the field or row, and the database refuses such a row again.
A correction of a closed period is a new voucher dated in an open one that
references the original (:func:`ledger.book.reverse`).

Because closing is cumulative, a voucher can never be dated before a closed
period either: backdating stops at the first open month.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Self

from ledger.clock import FIRST_YEAR, LAST_YEAR, future_date_error, out_of_books_error
from ledger.errors import ClosedPeriodError, ValidationError

_PERIOD: Final = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A month of the books, written ``2024-03``."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Self:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str, *, field: str = "period") -> Self:
        """``YYYY-MM`` strictly, a month of the years the program can hold."""
        match = _PERIOD.fullmatch(text.strip())
        if (
            match is None
            or not 1 <= int(match[2]) <= 12
            or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR
        ):
            raise ValidationError(field, f"应写作 YYYY-MM（如 2024-03）：{text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class Closing:
    """One close: ``through`` and every month before it, by whom, when (UTC, naive)."""

    through: Period
    by: str
    at: datetime


def closed_through(closings: Iterable[Closing]) -> Period | None:
    """The last closed month, or ``None`` when nothing is closed."""
    return max((c.through for c in closings), default=None)


def is_closed(closed: Period | None, day: date) -> bool:
    return closed is not None and Period.of(day) <= closed


def closed_period_error(
    closed: Period | None, day: date, *, field: str = "date"
) -> ClosedPeriodError | None:
    """The refusal of ``day`` when its month is closed, naming the month and the first
    open one; ``None`` when it is open."""
    if closed is None or not is_closed(closed, day):
        return None
    return ClosedPeriodError(
        field,
        f"{Period.of(day).label}已结账（账簿已结账至 {closed}），不能记入日期为 "
        f"{day.isoformat()} 的内容；更正请记在未结账的期间（{closed.next()} 及以后）",
    )


def check_open(closed: Period | None, day: date, *, field: str = "date") -> None:
    """Refuse ``day`` when its month is closed (:func:`closed_period_error`)."""
    if error := closed_period_error(closed, day, field=field):
        raise error


def dating_error(
    day: date, *, field: str, today: date, closed: Period | None
) -> ValidationError | None:
    """Why a write cannot be dated ``day``: after today
    (:func:`ledger.clock.future_date_error`), before the books begin
    (:func:`ledger.clock.out_of_books_error`) or in a closed period; ``None`` when it can.
    The one rule every dated write meets: the ledger applies it to each voucher, services
    to each field or row first."""
    return (
        future_date_error(day, field=field, today=today)
        or out_of_books_error(day, field=field)
        or closed_period_error(closed, day, field=field)
    )


def check_closable(period: Period, today: date) -> None:
    """A month is closed once it has ended."""
    if period.last_day >= today:
        raise ValidationError(
            "period",
            f"{period.label}尚未结束（今天是 {today.isoformat()}），月份结束后方可结账",
        )


@dataclass(frozen=True, slots=True)
class PeriodState:
    """A month as ``periods list`` shows it.

    Attributes:
      last_voucher: the highest voucher number used in the month (0 when none).
      closing: the close that closed it, or ``None`` while it is open.
    """

    period: Period
    last_voucher: int
    closing: Closing | None

    @property
    def closed(self) -> bool:
        return self.closing is not None

    @property
    def year_end(self) -> bool:
        """年结: a closed December."""
        return self.closed and self.period.month == 12

    @property
    def label(self) -> str:
        if not self.closed:
            return "未结账"
        return "已年结" if self.year_end else "已结账"


def period_states(
    closings: Iterable[Closing], vouchers: Mapping[Period, int], today: date
) -> list[PeriodState]:
    """Every month from the first with a voucher or a close to the later of this month
    and the last with a voucher; each closed month names the close that closed it."""
    ordered = sorted(closings, key=lambda c: c.through)
    known = [*vouchers, *(c.through for c in ordered)]
    first = min(known, default=Period.of(today))
    last = max([*vouchers, Period.of(today)])
    states: list[PeriodState] = []
    period = first
    while period <= last:
        closing = next((c for c in ordered if period <= c.through), None)
        states.append(PeriodState(period, vouchers.get(period, 0), closing))
        period = period.next()
    return states
