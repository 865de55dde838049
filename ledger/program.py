"""The program as the services see it: its one today, the unit of work's stores,
and the one dating check of a write.

The capabilities live in packages: :mod:`ledger.books` (the ledger, periods,
statements' figures), :mod:`ledger.registry` (studios, people, cycles, policy),
:mod:`ledger.funds` (appropriation, receipts, expenses), :mod:`ledger.batches`
(entitlements and the stipend batch), :mod:`ledger.tax` (withholding) and, at the
edge, :mod:`ledger.workbooks` (Excel in and out). Each service works inside the
caller's unit of work (:class:`Stores`) and never commits: a CLI command, a
request or a job run commits once, or rolls everything back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from ledger import clock, users
from ledger.books import book
from ledger.books.periods import dating_error
from ledger.books.postings import NewTransaction
from ledger.errors import (
    ValidationError,
)
from ledger.registry.roster import (
    Finding,
)
from ledger.registry.store import RegistryStore

today = clock.today
"""Today in Beijing (:func:`ledger.clock.today`): the program's one today."""


class Stores(users.Stores, Protocol):
    """A unit of work's stores, as the services see them."""

    @property
    def ledger(self) -> book.LedgerStore: ...

    @property
    def registry(self) -> RegistryStore: ...


@dataclass(frozen=True)
class SaveReport:
    """What a write changed; ``changed == 0`` when it repeated an earlier one."""

    changed: int
    warnings: list[Finding] = field(default_factory=list)


def require_dated(stores: Stores, day: date, *, field: str = "on") -> None:
    """Refuse a write dated ``day`` after today or in a closed period, naming ``field``
    (:func:`ledger.periods.dating_error`)."""
    if refused := dating_error(
        day, field=field, today=today(), closed=stores.ledger.closed_through()
    ):
        raise refused


def date_errors(
    stores: Stores,
    items: Sequence[Dated],
    requests: Sequence[NewTransaction],
    fresh: Collection[str],
    name: str,
) -> dict[int, ValidationError]:
    """The refusal of each new item dated after today or in a closed period, by its
    index, naming the item's date (an item already recorded is a repeat and writes
    nothing, so it stands)."""
    closed = stores.ledger.closed_through()
    day = today()
    return {
        i: refused
        for i, (item, request) in enumerate(zip(items, requests, strict=True))
        if request.idempotency_key in fresh
        and (refused := dating_error(item.on, field=f"{name}[{i}].日期", today=day, closed=closed))
    }


class Dated(Protocol):
    @property
    def on(self) -> date: ...
