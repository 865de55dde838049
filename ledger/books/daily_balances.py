"""Each account's closing balance for every day it moved (日末余额), so that a balance as of
any date is one look-up, however long the ledger.

For every account and every effective date on which postings moved it, the store
keeps a *day*: ``moved``, the net of that day's postings (credits in minus debits
out), and ``closing``, the balance at the end of that day. The invariants:

- a day's closing is the previous day's closing plus its own ``moved`` (the first
  day's is its ``moved``);
- the latest day's closing is the account's kept balance.

A balance as of date D is then the closing of the latest day on or before D (zero
when there is none). A write dated D changes D's ``moved`` and the closing of D and
of every later day of that account — only days in open periods, so few — and
:func:`days_after_write` computes them all from the rows the store reads from D on.

The as-of guard reads the same days: a guarded account is never below zero at the end
of any day, not only now. Before anything is written, :func:`ledger.book.post` works out
each touched account's days after the write and refuses it when one of them would
close below zero (:func:`first_negative_day`); a write dated D can only change days
from D on, so those are all it needs to look at, and they are the days the write must
rewrite anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol

from ledger.books.accounts import Account
from ledger.books.postings import Posting, balance_changes
from ledger.money import Fen


class Day(NamedTuple):
    """One account's day: the net moved on that date and the balance at its end (a named
    tuple: a write compares and builds thousands of them)."""

    moved: Fen
    closing: Fen


class Dated(Protocol):
    """A transaction, asked for or recorded: its date and its postings."""

    @property
    def effective_date(self) -> date: ...

    @property
    def postings(self) -> tuple[Posting, ...]: ...


def day_movements(transactions: Iterable[Dated]) -> dict[Account, dict[date, Fen]]:
    """The net each account moved on each effective date, over ``transactions``."""
    moved: dict[Account, dict[date, Fen]] = {}
    for t in transactions:
        day = t.effective_date
        for address, change in balance_changes(t.postings).items():
            days = moved.setdefault(address, {})
            days[day] = days.get(day, 0) + change
    return moved


def days_after_write(
    existing: Mapping[date, Day], moved: Mapping[date, Fen], balance_after: Fen
) -> dict[date, Day]:
    """An account's days from the earliest date of ``moved`` on, after a write.

    ``existing`` holds every day the store kept for the account from that date on
    (it may hold earlier days too); ``moved`` is what the write moves on each date;
    ``balance_after`` is the account's kept balance after the write, which the latest
    day closes at. Closings are worked back from it, day by day.
    """
    first = min(moved)
    days = sorted({d for d in existing if d >= first} | moved.keys(), reverse=True)
    after: dict[date, Day] = {}
    closing = balance_after
    for day in days:
        before = existing.get(day)
        day_moved = (before.moved if before else 0) + moved.get(day, 0)
        after[day] = Day(day_moved, closing)
        closing -= day_moved
    return after


def first_negative_day(days: Mapping[date, Day]) -> tuple[date, Fen] | None:
    """The earliest of ``days`` that closes below zero, with its closing; ``None`` when
    none does."""
    return next(
        ((day, kept.closing) for day, kept in sorted(days.items()) if kept.closing < 0), None
    )


def overdrawing(
    kept: Mapping[Account, Mapping[date, Day]],
    balances: Mapping[Account, Fen],
    writes: Sequence[Dated],
    guarded: Callable[[Account], bool],
) -> dict[int, tuple[Account, date, Fen]]:
    """Which of ``writes`` (by index) would take a guarded account below zero at the end
    of some day, each judged with the writes before it that are not refused: the
    account, the first such day and its closing. ``kept`` holds each account's kept days
    from the earliest date any write moves it on, ``balances`` its kept balance. An
    import names every such row at once this way, before anything is written."""
    taken: dict[Account, dict[date, Fen]] = {}
    refused: dict[int, tuple[Account, date, Fen]] = {}
    for i, write in enumerate(writes):
        trial = {
            address: _merged(taken.get(address, {}), days)
            for address, days in day_movements([write]).items()
        }
        for address in sorted(a for a in trial if guarded(a)):
            after = days_after_write(
                kept.get(address, {}),
                trial[address],
                balances.get(address, 0) + sum(trial[address].values()),
            )
            if negative := first_negative_day(after):
                refused[i] = (address, *negative)
                break
        else:
            taken.update(trial)
    return refused


def _merged(first: Mapping[date, Fen], second: Mapping[date, Fen]) -> dict[date, Fen]:
    return {day: first.get(day, 0) + second.get(day, 0) for day in first.keys() | second.keys()}


class DayWrite(NamedTuple):
    """A day a write keeps: ``new`` when the account had no day on that date before,
    else its changed ``moved`` and ``closing``."""

    address: Account
    day: date
    kept: Day
    new: bool


def day_writes(
    address: Account, existing: Mapping[date, Day], after: Mapping[date, Day]
) -> list[DayWrite]:
    """What the store writes for one account: the days of ``after`` (from
    :func:`days_after_write`) that are new or differ from ``existing``."""
    return [
        DayWrite(address, day, kept, day not in existing)
        for day, kept in after.items()
        if existing.get(day) != kept
    ]


@dataclass(frozen=True, slots=True)
class DayMismatch:
    """The first day of an account whose kept closing is not what its postings give."""

    address: Account
    day: date
    kept: Fen | None
    derived: Fen | None

    def __str__(self) -> str:
        kept = "未记存当日余额" if self.kept is None else f"记存日终余额 {self.kept} 分"
        derived = "当日没有分录" if self.derived is None else f"按分录应为 {self.derived} 分"
        return f"{self.address} {self.day.isoformat()}：{kept}，{derived}"


DayRow = tuple[int, Account, date, Fen]
"""(account number, address, day, amount): rows as a store reads them, ordered by account
number and then day. The number is the store's own; it only orders the rows."""


def day_mismatches(kept: Iterable[DayRow], moved: Iterable[DayRow]) -> Iterator[DayMismatch]:
    """The first wrong day of each account, comparing the kept closings (``kept``, the
    amount is the closing) with the closings the postings give (``moved``, the amount
    is the day's net summed from the postings)."""
    kept_rows, derived_rows = iter(kept), _running(moved)
    k, d = next(kept_rows, None), next(derived_rows, None)
    wrong: set[Account] = set()
    while k is not None or d is not None:
        found: DayMismatch | None = None
        if k is not None and d is not None and (k[0], k[2]) == (d[0], d[2]):
            if k[3] != d[3]:
                found = DayMismatch(k[1], k[2], k[3], d[3])
            k, d = next(kept_rows, None), next(derived_rows, None)
        elif k is not None and (d is None or (k[0], k[2]) < (d[0], d[2])):
            found = DayMismatch(k[1], k[2], k[3], None)
            k = next(kept_rows, None)
        elif d is not None:
            found = DayMismatch(d[1], d[2], None, d[3])
            d = next(derived_rows, None)
        if found is not None and found.address not in wrong:
            wrong.add(found.address)
            yield found


def _running(moved: Iterable[DayRow]) -> Iterator[DayRow]:
    account: int | None = None
    closing = 0
    for number, address, day, net in moved:
        if number != account:
            account, closing = number, 0
        closing += net
        yield number, address, day, closing
