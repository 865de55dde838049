"""Fund services: the year's appropriation, the 领导小组's funding decisions, matching
receipts, expenses and their plans.

Each service works inside the caller's unit of work and never commits; the rules
live in :mod:`ledger.funds.appropriation` and :mod:`ledger.funds.expenses`, and every
voucher is posted through :func:`ledger.books.book.post`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from ledger.batches.entitlements import PAID_ROLES
from ledger.books import book
from ledger.books.accounts import expense_account, may_go_negative
from ledger.books.daily_balances import day_movements, overdrawing
from ledger.books.postings import NewTransaction, Transaction, utc_now
from ledger.clock import check_year_begun
from ledger.errors import (
    FutureDateError,
    InvalidInputError,
    InvalidTransitionError,
    ValidationError,
)
from ledger.funds.appropriation import (
    FundingDecision,
    FundingShare,
    appropriation,
    appropriation_key,
    decision_errors,
    funding_share,
)
from ledger.funds.expenses import (
    Expense,
    ExpensePlan,
    MatchingShortfall,
    Receipt,
    expense_errors,
    expense_transaction,
    matching_shortfalls,
    net_matching,
    over_plan_error,
    receipt_errors,
    receipt_transaction,
    travel_claim_error,
)
from ledger.money import Fen
from ledger.program import SaveReport, Stores, date_errors, require_dated, today
from ledger.registry.cycles import closed_for
from ledger.registry.policy import Policy, policy_for_year
from ledger.registry.roster import (
    Membership,
    Studio,
    normalize_id_number,
)
from ledger.registry.roster_services import policy, studio
from ledger.users import acting


@dataclass(frozen=True)
class AppropriationReport:
    """What an appropriation run did: the vouchers posted, the studios funded before,
    and the studios held back with why (考核发放, :func:`ledger.appropriation.funding_share`)."""

    year: int
    policy_version: str
    posted: list[Transaction]
    already: list[str]
    total: Fen
    held: list[tuple[str, str]] = field(default_factory=list)
    shares: dict[str, FundingShare] = field(default_factory=dict)


def appropriation_day(year: int) -> date:
    """When a year's budget arrives: 2 January (the scheduled job's day)."""
    return date(year, 1, 2)


def appropriate(
    stores: Stores,
    year: int,
    on: date | None = None,
    *,
    by: str,
    only: Collection[str] | None = None,
) -> AppropriationReport:
    """Post each studio's budget for ``year`` (``only`` those studios, when given), once
    per studio-year, by its grade of the year before (考核发放).

    A studio is funded when ``year`` is in its cycles and it was not cancelled on or
    before the appropriation date (default 2 January); the share follows
    :func:`ledger.appropriation.funding_share`, and a studio held back is listed with
    why. Run again after a grade is recorded or a decision restores a studio, it funds
    what is now due and nothing twice.
    """
    acting(stores, by, "appropriation.post")
    check_year_begun(year, on=on)
    governing = policy(stores, year)
    effective = on or appropriation_day(year)
    if on is None and effective > today():
        raise FutureDateError(
            "year",
            f"{year}年度拨款日（{effective.isoformat()}）尚未到来（今天是{today().isoformat()}）",
        )
    require_dated(stores, effective)
    registry = stores.registry
    candidates = registry.studios() if only is None else registry.studios_of(only)
    already, shares = _shares_due(stores, year, governing, effective, candidates)
    requests = [
        appropriation(code, year, governing, effective, share.percent)
        for code, share in shares.items()
        if not share.held
    ]
    new = book.post(stores.ledger, requests, date_field="on" if on else "year", by=by)
    return AppropriationReport(
        year,
        governing.version,
        new,
        already,
        sum(p.amount for t in new for p in t.postings),
        [(code, share.basis) for code, share in shares.items() if share.held],
        shares,
    )


def _shares_due(
    stores: Stores, year: int, governing: Policy, effective: date, candidates: list[Studio]
) -> tuple[list[str], dict[str, FundingShare]]:
    """Of ``candidates`` due a budget for ``year`` on ``effective`` (the year in their
    cycles, not cancelled by then): those funded already, and each other's share."""
    closed = closed_for(stores.registry.cycles([s.code for s in candidates]), year)
    due = [
        s
        for s in candidates
        if year in s.cycle_years(governing) and s.code not in closed and s.active_on(effective)
    ]
    before = stores.ledger.find_by_keys({appropriation_key(s.code, year) for s in due})
    already = [s.code for s in due if appropriation_key(s.code, year) in before]
    grades = stores.registry.studio_grades(year - 1)
    decisions = stores.registry.funding_decisions(year)
    shares = {
        s.code: funding_share(s, year, governing, grades.get(s.code), decisions.get(s.code))
        for s in due
        if s.code not in already
    }
    return already, shares


def held_back(stores: Stores, year: int) -> dict[str, FundingShare]:
    """The studios whose ``year`` budget is held (考核发放) and not funded, with why: a
    missing grade of the year before, or a grade whose share is 0 until a 领导小组
    decision restores it. Nothing is held in a year no policy governs."""
    policies = stores.registry.policies()
    if not any(p.year <= year for p in policies):
        return {}
    governing = policy_for_year(policies, year)
    _, shares = _shares_due(
        stores, year, governing, appropriation_day(year), stores.registry.studios()
    )
    return {code: share for code, share in shares.items() if share.held}


def restore_funding(
    stores: Stores,
    studio_code: str,
    year: int,
    percent: int,
    reason: str,
    *,
    by: str,
    on: date,
) -> tuple[FundingDecision, AppropriationReport | None]:
    """Record a 领导小组 decision restoring the funding of a studio held for its grade,
    and, once the year's appropriation day has passed, fund it at once (dated ``on``).

    Refused when the studio is not held for its grade (a missing grade is recorded, not
    decided), when a decision for the year stands, or when the year is funded already.
    """
    acting(stores, by, "funding.decide")
    require_dated(stores, on)
    if errors := decision_errors(percent, reason):
        raise InvalidInputError(errors)
    found = studio(stores, studio_code)
    governing = policy(stores, year)
    if year not in found.cycle_years(governing):
        raise ValidationError("year", f"{year}年度不在{found.code}的工作周期内")
    prior = stores.registry.studio_grades(year - 1, [found.code]).get(found.code)
    if not funding_share(found, year, governing, prior).awaits_decision:
        raise InvalidTransitionError(
            f"{found.code} {year}年度经费未因考核结果暂停，无需领导小组决定"
        )
    if found.code in stores.registry.funding_decisions(year):
        raise InvalidTransitionError(f"{found.code} {year}年度已有领导小组决定")
    if stores.ledger.find_by_keys([appropriation_key(found.code, year)]):
        raise InvalidTransitionError(f"{found.code} {year}年度经费已拨付")
    decision = FundingDecision(found.code, year, percent, reason.strip(), by, utc_now())
    stores.registry.add_funding_decision(decision)
    if on < appropriation_day(year):
        return decision, None  # the year's appropriation run funds it
    return decision, appropriate(stores, year, on, by=by, only=[found.code])


class _ForStudio(Protocol):
    @property
    def studio(self) -> str: ...


def _unknown_studios(
    studios: Collection[str], items: Sequence[_ForStudio], name: str
) -> list[ValidationError]:
    """An error for each item naming a studio that is not in the registry."""
    return [
        ValidationError(f"{name}[{i}].工作室编号", f"工作室 {item.studio} 不在名册中")
        for i, item in enumerate(items)
        if item.studio not in studios
    ]


def _refuse_unknown_studios(
    studios: Collection[str], items: Sequence[_ForStudio], name: str
) -> None:
    if errors := _unknown_studios(studios, items, name):
        raise InvalidInputError(errors)


def receive_matching(stores: Stores, receipts: Sequence[Receipt], *, by: str) -> list[Transaction]:
    """Post unit receipts: the host unit's money into the studio's matching fund, a
    member's unit's support into its support fund (成员所在单位经费支持), kept apart."""
    acting(stores, by, "receipt.record")
    studios = {s.code: s for s in stores.registry.studios_of({r.studio for r in receipts})}
    _refuse_unknown_studios(studios, receipts, "receipts")
    errors = [
        e
        for i, r in enumerate(receipts)
        for e in receipt_errors(f"receipts[{i}]", r, studios[r.studio].host_unit)
    ]
    errors += _support_unit_errors(stores, receipts)
    if errors:
        raise InvalidInputError(errors)
    units = [r.unit if r.kind == "support" else studios[r.studio].host_unit for r in receipts]
    codes = stores.registry.unit_codes(set(units))
    if unknown := [
        ValidationError(f"receipts[{i}].出资单位", f"单位未登记：{name}")
        for i, name in enumerate(units)
        if name not in codes
    ]:
        raise InvalidInputError(unknown)
    requests = [receipt_transaction(r, studios[r.studio].host_unit, codes) for r in receipts]
    fresh = set(_fresh_keys(stores, requests))
    if misdated := date_errors(stores, receipts, requests, fresh, "receipts"):
        raise InvalidInputError(list(misdated.values()))
    return book.post(stores.ledger, requests, by=by)


def _support_unit_errors(stores: Stores, receipts: Sequence[Receipt]) -> list[ValidationError]:
    """Support comes from the unit of someone in the studio's roster (成员所在单位)."""
    wanted = {r.studio for r in receipts if r.kind == "support"}
    if not wanted:
        return []
    places = stores.registry.memberships_of(wanted)
    units = {p.code: p.unit for p in stores.registry.people_of({m.person for m in places})}
    of_studio: dict[str, set[str]] = {}
    for m in places:
        of_studio.setdefault(m.studio, set()).add(units.get(m.person, ""))
    return [
        ValidationError(
            f"receipts[{i}].出资单位",
            f"{r.unit}不是{r.studio}任何成员的所在单位",
        )
        for i, r in enumerate(receipts)
        if r.kind == "support" and r.unit and r.unit not in of_studio.get(r.studio, set())
    ]


def spend(stores: Stores, expenses: Sequence[Expense], *, by: str) -> list[Transaction]:
    """Post activity expenses against the studio's plan and balance (专款专用).

    Refused whole when any expense would exceed its category's plan for the
    year (counting the other expenses of the same call) or its fund's balance.
    """
    acting(stores, by, "expense.record")
    studios = {s.code for s in stores.registry.studios_of({e.studio for e in expenses})}
    errors = _unknown_studios(studios, expenses, "expenses") + [
        error for i, e in enumerate(expenses) for error in expense_errors(f"expenses[{i}]", e)
    ]
    if errors:
        raise InvalidInputError(errors)
    claimants = _claimants(stores, expenses)
    errors = [
        error
        for i, e in enumerate(expenses)
        if (
            error := travel_claim_error(
                f"expenses[{i}]",
                e,
                claimants.paid_role(e),
                included=policy(stores, e.on.year).travel_included,
            )
        )
    ]
    if errors:
        raise InvalidInputError(errors)
    requests = [expense_transaction(e, claimants.code(e)) for e in expenses]
    fresh_keys = set(_fresh_keys(stores, requests))
    misdated = date_errors(stores, expenses, requests, fresh_keys, "expenses")
    errors = list(misdated.values())
    spent: dict[tuple[int, str, str], Fen] = {}
    plans_by_year: dict[int, dict[tuple[str, str], Fen]] = {}
    for i, (expense, request) in enumerate(zip(expenses, requests, strict=True)):
        if request.idempotency_key not in fresh_keys:
            continue
        year = expense.on.year
        plans = plans_by_year.setdefault(year, stores.registry.expense_plans(year))
        key = (year, expense.studio, expense.category)
        if key not in spent:
            spent[key] = _spent(stores, expense.studio, expense.category, year)
        error = over_plan_error(
            f"expenses[{i}]", expense, plans.get((expense.studio, expense.category)), spent[key]
        )
        if error is not None:
            errors.append(error)
        spent[key] += expense.amount
    # a row dated ahead or in a closed month is not judged again by the days it cannot have
    dated_right = {
        r.idempotency_key
        for i, r in enumerate(requests)
        if i not in misdated and r.idempotency_key in fresh_keys
    }
    errors += _overdrawing_errors(stores, requests, dated_right, "expenses")
    if errors:
        raise InvalidInputError(errors)
    return book.post(stores.ledger, requests, by=by)


def _overdrawing_errors(
    stores: Stores, requests: Sequence[NewTransaction], fresh: Collection[str], name: str
) -> list[ValidationError]:
    """An error on the date of each new item that would leave a fund short on some day
    from that date on (the as-of guard, :func:`ledger.daily_balances.overdrawing`), each
    judged with the items before it that pass: every such row of an import is named
    before anything is written. :func:`ledger.book.post` checks again under the locks."""
    new = [(i, r) for i, r in enumerate(requests) if r.idempotency_key in fresh]
    moved = day_movements(r for _, r in new)
    addresses = sorted(moved)
    refused = overdrawing(
        stores.ledger.days_from({a: min(days) for a, days in moved.items()}),
        stores.ledger.current_balances(addresses),
        [r for _, r in new],
        lambda address: not may_go_negative(address),
    )
    return [
        ValidationError(
            f"{name}[{new[n][0]}].日期",
            book.shortfall_text(address, day, closing) + "：支出不能早于资金到账",
        )
        for n, (address, day, closing) in sorted(refused.items())
    ]


@dataclass(frozen=True)
class _Claimants:
    """Expense claimants found in the registry: payee code by 身份证号, and the paid
    places (host, member) those people hold."""

    codes: dict[str, str]
    places: list[Membership]

    def code(self, expense: Expense) -> str | None:
        if not expense.claimant_id:
            return None
        return self.codes.get(normalize_id_number(expense.claimant_id))

    def paid_role(self, expense: Expense) -> str | None:
        """The claimant's paid role in the expense's studio on its day, if any."""
        person = self.code(expense)
        return next(
            (
                m.role
                for m in self.places
                if m.person == person and m.studio == expense.studio and m.active_on(expense.on)
            ),
            None,
        )


def _claimants(stores: Stores, expenses: Sequence[Expense]) -> _Claimants:
    numbers = {normalize_id_number(e.claimant_id) for e in expenses if e.claimant_id}
    codes = {n: c for n in numbers if (c := stores.registry.payee_code(n)) is not None}
    known = set(codes.values())
    studios = {e.studio for e in expenses if e.claimant_id}
    places = (
        [
            m
            for m in stores.registry.memberships_of(studios)
            if m.person in known and m.role in PAID_ROLES
        ]
        if known
        else []
    )
    return _Claimants(codes, places)


def _fresh_keys(stores: Stores, requests: Iterable[NewTransaction]) -> list[str]:
    keys = [r.idempotency_key for r in requests]
    recorded = stores.ledger.find_by_keys(keys)
    return [k for k in keys if k not in recorded]


def _spent(stores: Stores, studio: str, category: str, year: int) -> Fen:
    address = expense_account(category, studio)
    end = stores.ledger.balance(address, date(year, 12, 31)) or 0
    start = stores.ledger.balance(address, date(year - 1, 12, 31)) or 0
    return end - start


def save_expense_plans(stores: Stores, plans: Sequence[ExpensePlan], *, by: str) -> SaveReport:
    """Record each studio's activity plan per category (计划使用), which expenses are held to."""
    acting(stores, by, "expense.record")
    _refuse_unknown_studios({s.code for s in stores.registry.studios()}, plans, "plans")
    return SaveReport(stores.registry.save_expense_plans(plans))


def matching_received(stores: Stores, year: int) -> dict[str, Fen]:
    """Net matching money each studio received from host units during ``year``."""
    return net_matching(
        stores.ledger.pair_movements(date(year, 1, 1), date(year, 12, 31)),
        (s.code for s in stores.registry.studios()),
    )


def matching_check(stores: Stores, year: int) -> list[MatchingShortfall]:
    """Studios in their cycle whose host unit matched less than the minimum in ``year``."""
    governing = policy(stores, year)
    in_cycle = {
        s.code: s.host_unit
        for s in stores.registry.studios()
        if year in s.cycle_years(governing) and s.active_on(date(year, 12, 31))
    }
    return matching_shortfalls(
        in_cycle, matching_received(stores, year), governing.matching_minimum
    )


def funding_decisions(stores: Stores, year: int) -> dict[str, FundingDecision]:
    """The 领导小组's decisions restoring a studio's ``year`` funding, by studio."""
    return stores.registry.funding_decisions(year)
