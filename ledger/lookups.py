"""What the desk looks up (SPEC §7): people and studios found by a 搜索 box a page at a
time, and the page of one person or one studio — every figure read from the ledger and
the batches, none kept beside them.

- a person: their places in studios, every batch line paying them, and what each month's
  payments gave them, withheld and paid (the 劳务报酬 the tax declaration counts);
- a studio: its people, its fund by source (the year's opening, money in, money out and
  closing, and the balance now), the year's entries of each of its books, its batch
  lines, its grades and its cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger import program
from ledger.batches import disbursement
from ledger.batches.batch import BatchLine, LineStatus
from ledger.books.accounts import FUNDING_SOURCES, studio_fund
from ledger.books.book import AccountEntry
from ledger.errors import NotFoundError
from ledger.money import Fen
from ledger.registry import roster_services
from ledger.registry.cycles import Cycle
from ledger.registry.roster import Membership, Person, Studio
from ledger.registry.search import Search

PAGE: Final = 100
LINES_SHOWN: Final = 500
"""A person's or a studio's batch lines shown on their page, newest first (a studio of a
three-year cycle has a few dozen)."""


def find_people(stores: program.Stores, search: Search, after: str = "") -> list[Person]:
    """A page of people (one more than :data:`PAGE`, to know a next page exists)."""
    return stores.registry.find_people(search, after, PAGE + 1)


def find_studios(stores: program.Stores, search: Search, after: str = "") -> list[Studio]:
    """A page of studios (one more than :data:`PAGE`, to know a next page exists)."""
    return stores.registry.find_studios(search, after, PAGE + 1)


@dataclass(frozen=True, slots=True)
class Payout:
    """One batch line paying someone: its batch, the day it was paid (``None`` while it
    is not), and the line."""

    batch: int
    paid_on: date | None
    line: BatchLine


@dataclass(frozen=True, slots=True)
class MonthPaid:
    """What a month's payments gave one person: income (应发), tax withheld from it,
    tax withheld too much before and given back with it (退还), and what the bank paid
    them (实发: the income less its tax, and the refund)."""

    month: str
    lines: int
    gross: Fen
    tax: Fen
    refund: Fen
    net: Fen


def months_paid(payouts: Sequence[Payout]) -> list[MonthPaid]:
    """The paid lines by the month of their payment voucher, in month order; a line the
    bank returned was not paid and counts nowhere."""
    months: dict[str, list[BatchLine]] = {}
    for p in payouts:
        if p.paid_on is not None and p.line.status == LineStatus.PAID:
            months.setdefault(f"{p.paid_on:%Y-%m}", []).append(p.line)
    return [
        MonthPaid(
            month,
            len(lines),
            sum(x.gross for x in lines),
            sum(x.current_tax for x in lines),
            sum(x.refund for x in lines),
            sum(x.sent for x in lines),
        )
        for month, lines in sorted(months.items())
    ]


@dataclass(frozen=True, slots=True)
class PersonPage:
    person: Person
    places: list[tuple[Membership, str]]
    payouts: list[Payout]
    months: list[MonthPaid]


def person_page(stores: disbursement.Stores, code: str) -> PersonPage:
    """One person: places (with the studio's name), batch lines, months paid."""
    found = stores.registry.people_of([code])
    if not found:
        raise NotFoundError(f"人员 {code} 不在名册中")
    places = stores.registry.places_of(code)
    names = {s.code: s.name for s in stores.registry.studios_of({m.studio for m in places})}
    payouts = [Payout(*row) for row in stores.batches.lines_of(person=code, limit=LINES_SHOWN)]
    return PersonPage(
        found[0], [(m, names.get(m.studio, "")) for m in places], payouts, months_paid(payouts)
    )


@dataclass(frozen=True, slots=True)
class SourceYear:
    """One of a studio's books in a year: 年初, 本年收入, 本年支出, 年末 (to today in
    the year under way), and the balance now."""

    source: str
    opening: Fen
    inflow: Fen
    outflow: Fen
    now: Fen

    @property
    def closing(self) -> Fen:
        return self.opening + self.inflow - self.outflow


@dataclass(frozen=True, slots=True)
class StudioPage:
    studio: Studio
    year: int
    members: list[tuple[Membership, Person]]
    funds: list[SourceYear]
    entries: list[tuple[str, AccountEntry]]
    payouts: list[Payout]
    grades: dict[int, str]
    cycles: list[Cycle]


def studio_page(stores: disbursement.Stores, code: str, year: int) -> StudioPage:
    """One studio in ``year``: see the module's docstring. Its books are each studio
    pool that ever held money (a member's unit's support only once some came)."""
    studio = roster_services.studio(stores, code)
    places = stores.registry.memberships_of([code])
    people = {p.code: p for p in stores.registry.people_of({m.person for m in places})}
    members = sorted(
        ((m, people[m.person]) for m in places if m.person in people),
        key=lambda mp: (mp[0].role != "host", mp[0].joined_on, mp[1].code),
    )
    start, end = date(year, 1, 1), date(year, 12, 31)
    accounts = {source: studio_fund(code, source) for source in FUNDING_SOURCES}
    now = stores.ledger.current_balances(list(accounts.values()))
    funds: list[SourceYear] = []
    entries: list[tuple[str, AccountEntry]] = []
    for source, account in accounts.items():
        if account not in now:
            continue  # never held money
        opening = stores.ledger.balance(account, date(year - 1, 12, 31)) or 0
        mine = list(stores.ledger.iter_account_entries(account, start, end))
        funds.append(
            SourceYear(
                source,
                opening,
                sum(e.inflow for e in mine),
                sum(e.outflow for e in mine),
                now[account],
            )
        )
        entries.extend((source, e) for e in mine)
    entries.sort(key=lambda se: (se[1].effective_date, se[1].seq))
    cycles = stores.registry.cycles([code])
    years = range(studio.cycle_start_year, max([year, *(c.last_year for c in cycles)]) + 1)
    grades = {
        y: grade for y in years if (grade := stores.registry.studio_grades(y, [code]).get(code))
    }
    payouts = [Payout(*row) for row in stores.batches.lines_of(studio=code, limit=LINES_SHOWN)]
    return StudioPage(studio, year, members, funds, entries, payouts, grades, cycles)
