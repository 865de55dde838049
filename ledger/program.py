"""Program services: the roster, grades, policy and the money movements of a year.

Each service works inside the caller's unit of work (:class:`Stores`) and
never commits: a CLI command, a request or a job run commits once, or rolls
everything back. Rules live in the pure modules (:mod:`ledger.registry`,
:mod:`ledger.entitlements`, :mod:`ledger.appropriation`, :mod:`ledger.expenses`);
these functions only gather their inputs, apply them and post the results
through :func:`ledger.book.post`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol

from ledger import book, clock, users
from ledger.accounts import expense_account, may_go_negative
from ledger.appropriation import (
    FundingDecision,
    FundingShare,
    appropriation,
    appropriation_key,
    decision_errors,
    funding_share,
)
from ledger.clock import check_year_begun
from ledger.cycles import Cycle, closed_for, first_cycle, reinstatement_refusal
from ledger.daily_balances import day_movements, overdrawing
from ledger.entitlements import PAID_ROLES, EntitlementLine, entitlements
from ledger.errors import (
    FutureDateError,
    InvalidInputError,
    InvalidTransitionError,
    LedgerError,
    NotFoundError,
    ValidationError,
)
from ledger.expenses import (
    Expense,
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
from ledger.periods import dating_error
from ledger.policy import GRADE_LABELS, Policy, policy_for_year
from ledger.postings import NewTransaction, Transaction, utc_now
from ledger.registry import (
    FIRST_YEAR,
    LAST_YEAR,
    Finding,
    Membership,
    MembershipInput,
    Person,
    PersonInput,
    Studio,
    choice_errors,
    composition_findings,
    id_number_errors,
    membership_errors,
    normalize_id_number,
    person_errors,
    studio_errors,
)
from ledger.users import acting

today = clock.today
"""Today in Beijing (:func:`ledger.clock.today`): the program's one today."""


class RegistryStore(Protocol):
    """What the program services need from storage; ``schema.registry_store`` implements it."""

    def policies(self) -> list[Policy]: ...
    def add_policy(self, policy: Policy, created_by: str) -> None: ...
    def studios(self) -> list[Studio]: ...
    def studios_of(self, codes: Collection[str]) -> list[Studio]:
        """The studios with these codes (those in the registry), read in chunks."""

    def people(self) -> list[Person]: ...
    def people_of(self, codes: Collection[str]) -> list[Person]:
        """The people with these payee codes (those in the registry), read in chunks."""

    def payee_code(self, id_number: str) -> str | None:
        """The code of the person with this 身份证号, if they are in the registry."""

    def memberships(self) -> list[Membership]: ...
    def memberships_of(self, studios: Collection[str]) -> list[Membership]:
        """The memberships of these studios (past and present)."""

    def save_studios(self, studios: Sequence[Studio]) -> int: ...
    def save_people(self, people: Sequence[PersonInput]) -> tuple[dict[str, str], int]: ...
    def save_memberships(self, memberships: Sequence[Membership]) -> int: ...
    def studio_grades(self, year: int, studios: Collection[str] | None = None) -> dict[str, str]:
        """Studio code → grade for ``year`` (of ``studios`` only, when given)."""

    def person_grades(
        self, year: int, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], str]:
        """(studio code, payee code) → a member's own grade for ``year``."""

    def save_grades(self, grades: Sequence[Grade]) -> int: ...
    def expense_plans(self, year: int) -> dict[tuple[str, str], Fen]: ...
    def save_expense_plans(self, plans: Sequence[ExpensePlan]) -> int: ...
    def cycles(self, studios: Collection[str] | None = None) -> list[Cycle]:
        """The cycles of ``studios`` (every studio's when ``None``), by studio and number."""

    def save_cycles(self, cycles: Sequence[Cycle]) -> None:
        """Add new cycles; set the years of stored ones not closed."""

    def close_cycle(self, cycle: Cycle, at: datetime) -> None:
        """Record a cycle's close (once)."""

    def funding_decisions(self, year: int) -> dict[str, FundingDecision]: ...
    def add_funding_decision(self, decision: FundingDecision) -> None: ...


class Stores(users.Stores, Protocol):
    """A unit of work's stores, as the services see them."""

    @property
    def ledger(self) -> book.LedgerStore: ...

    @property
    def registry(self) -> RegistryStore: ...


class CompositionRefused(LedgerError):  # noqa: N818 (a refusal, named as the domain says it)
    """The roster would make money wrong; ``findings`` lists every refused rule."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f"{f.studio}: {f.message}" for f in findings))
        self.findings = findings


@dataclass(frozen=True, slots=True)
class Grade:
    """A grade for a studio (``id_number`` empty) or for one of its members."""

    year: int
    studio: str
    id_number: str
    grade: str


def grade_errors(grade: Grade, where: str, today: date) -> list[ValidationError]:
    """What is wrong with an assessment result before the roster is looked at; a year
    that has not begun has no result yet."""
    errors = choice_errors(f"{where}grade", grade.grade, GRADE_LABELS)
    if not FIRST_YEAR <= grade.year <= LAST_YEAR:
        errors.append(ValidationError(f"{where}year", f"must be a year {FIRST_YEAR}-{LAST_YEAR}"))
    elif grade.year > today.year:
        errors.append(
            FutureDateError(
                f"{where}year",
                f"{grade.year}年尚未开始（今天是{today.isoformat()}），还没有考核结果",
            )
        )
    if grade.id_number:
        errors += id_number_errors(grade.id_number, f"{where}id_number")
    return errors


@dataclass(frozen=True, slots=True)
class ExpensePlan:
    year: int
    studio: str
    category: str
    amount: Fen


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


def _date_errors(
    stores: Stores,
    items: Sequence[_Dated],
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


def policy(stores: Stores, year: int) -> Policy:
    """The policy governing ``year``."""
    return policy_for_year(stores.registry.policies(), year)


def add_policy(stores: Stores, new: Policy, created_by: str) -> None:
    """Store a new year's policy; an existing version or year is never overwritten."""
    acting(stores, created_by, "policy.add")
    existing = stores.registry.policies()
    if any(p.version == new.version for p in existing):
        raise ValidationError("version", f"policy version {new.version!r} already exists")
    if any(p.year == new.year for p in existing):
        raise ValidationError(
            "year",
            f"a policy for {new.year} already exists; policies are "
            "never changed, add one for a later year",
        )
    stores.registry.add_policy(new, created_by)


def save_roster(
    stores: Stores,
    studios: Sequence[Studio],
    people: Sequence[PersonInput],
    memberships: Sequence[MembershipInput],
    *,
    by: str,
) -> SaveReport:
    """Add or update studios, people and memberships, then check the whole roster.

    Every record is checked first, whichever entry point it came through (fields
    named ``studios[0].kind``); any error refuses the whole roster
    (:class:`InvalidInputError`) before anything is written. Refused whole
    (:class:`CompositionRefused`) too when the resulting roster breaks a rule that
    would make money wrong; other broken rules come back as warnings.
    """
    acting(stores, by, "roster.save")
    day = today()
    problems = [
        *(e for i, x in enumerate(studios) for e in studio_errors(x, f"studios[{i}].", today=day)),
        *(e for i, x in enumerate(people) for e in person_errors(x, f"people[{i}].")),
        *(
            e
            for i, x in enumerate(memberships)
            for e in membership_errors(x, f"memberships[{i}].", today=day)
        ),
    ]
    if problems:
        raise InvalidInputError(problems)
    stored = _stored_studios(stores, studios)
    if kept := _reinstatements(studios, stored):
        raise InvalidInputError(
            [ValidationError(f"studios[{i}].cancelled_on", why) for i, why in kept.items()]
        )
    people = [replace(x, id_number=normalize_id_number(x.id_number)) for x in people]
    memberships = [replace(x, id_number=normalize_id_number(x.id_number)) for x in memberships]
    registry = stores.registry
    first_cycles = _first_cycles(stores, studios, stored)
    changed = registry.save_studios(studios)
    registry.save_cycles(first_cycles)
    codes, people_changed = registry.save_people(people)
    unknown = [m for m in memberships if m.id_number not in codes]
    known = {p.id_number: p.code for p in registry.people()}
    errors = [
        ValidationError("身份证号", f"{m.id_number} is not in the roster's people")
        for m in unknown
        if m.id_number not in known
    ]
    if errors:
        raise InvalidInputError(errors)
    codes = {**known, **codes}
    changed += people_changed + registry.save_memberships(
        [
            Membership(m.studio, codes[m.id_number], m.role, m.joined_on, m.left_on)
            for m in memberships
        ]
    )
    all_studios = registry.studios()
    rules = policy(stores, max(s.cycle_start_year for s in all_studios)) if all_studios else None
    findings = (
        []
        if rules is None
        else composition_findings(
            all_studios,
            registry.people(),
            registry.memberships(),
            rules,
            round_quotas(stores, all_studios),
        )
    )
    refused = [f for f in findings if f.refused]
    if refused:
        raise CompositionRefused(refused)
    return SaveReport(changed, findings)


@dataclass(frozen=True)
class _StoredStudios:
    """What the registry holds of the studios a roster saves: their records and cycles."""

    studios: dict[str, Studio]
    cycles: dict[str, list[Cycle]]


def _stored_studios(stores: Stores, studios: Sequence[Studio]) -> _StoredStudios:
    codes = {s.code for s in studios}
    cycles: dict[str, list[Cycle]] = {}
    for c in stores.registry.cycles(codes):
        cycles.setdefault(c.studio, []).append(c)
    return _StoredStudios({s.code: s for s in stores.registry.studios_of(codes)}, cycles)


def reinstatements_refused(stores: Stores, studios: Sequence[Studio]) -> dict[int, str]:
    """Of ``studios`` about to be saved, by position, those a roster may not bring back
    from a cancellation, and why (:func:`ledger.cycles.reinstatement_refusal`)."""
    return _reinstatements(studios, _stored_studios(stores, studios))


def _reinstatements(studios: Sequence[Studio], stored: _StoredStudios) -> dict[int, str]:
    return {
        i: why
        for i, s in enumerate(studios)
        if (
            why := reinstatement_refusal(
                stored.studios.get(s.code), s, stored.cycles.get(s.code, [])
            )
        )
    }


def round_quotas(stores: Stores, studios: Iterable[Studio]) -> dict[int, Mapping[str, int]]:
    """Each round's quotas: the policy's governing the round's first year."""
    starts: dict[int, int] = {}
    for s in studios:
        starts[s.round] = min(starts.get(s.round, s.cycle_start_year), s.cycle_start_year)
    return {number: policy(stores, start).quotas for number, start in starts.items()}


def _first_cycles(stores: Stores, studios: Sequence[Studio], stored: _StoredStudios) -> list[Cycle]:
    """The first cycle of each studio saved: new for a new studio, its years moved for
    a studio whose start year is corrected while its one cycle is open. A studio renewed
    or closed keeps its start year: its cycles are history."""
    cycles, errors = [], []
    for i, studio in enumerate(studios):
        mine = stored.cycles.get(studio.code, [])
        before = stored.studios.get(studio.code)
        if mine and before is not None and before.cycle_start_year == studio.cycle_start_year:
            continue
        if len(mine) > 1 or any(c.closed_on is not None for c in mine):
            errors.append(
                ValidationError(
                    f"studios[{i}].cycle_start_year",
                    f"{studio.code}已续期或已结算，周期开始年度不能再改 "
                    "(the studio's cycles are history: its start year stays)",
                )
            )
            continue
        cycles.append(first_cycle(studio, policy(stores, studio.cycle_start_year)))
    if errors:
        raise InvalidInputError(errors)
    return cycles


def save_grades(stores: Stores, grades: Sequence[Grade], *, by: str) -> SaveReport:
    """Record assessment results; a person's grade needs them in that studio's roster."""
    acting(stores, by, "grades.save")
    registry = stores.registry
    studios = {s.code for s in registry.studios()}
    people = {p.id_number: p.code for p in registry.people()}
    members = {(m.studio, m.person) for m in registry.memberships()}
    errors = [e for i, g in enumerate(grades) for e in grade_errors(g, f"grades[{i}].", today())]
    if errors:
        raise InvalidInputError(errors)
    grades = [
        replace(g, id_number=normalize_id_number(g.id_number)) if g.id_number else g for g in grades
    ]
    for i, g in enumerate(grades):
        if g.studio not in studios:
            errors.append(ValidationError(f"grades[{i}].工作室编号", f"unknown studio {g.studio}"))
        elif g.id_number and (g.studio, people.get(g.id_number, "")) not in members:
            errors.append(
                ValidationError(
                    f"grades[{i}].身份证号", f"{g.id_number} is not a member of {g.studio}"
                )
            )
    if errors:
        raise InvalidInputError(errors)
    return SaveReport(registry.save_grades(grades))


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
    new = book.post(stores.ledger, requests, date_field="on" if on else "year")
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
        raise ValidationError("year", f"{year} is not a year of {found.code}'s cycles")
    prior = stores.registry.studio_grades(year - 1, [found.code]).get(found.code)
    if not funding_share(found, year, governing, prior).awaits_decision:
        raise InvalidTransitionError(
            f"{found.code} {year}年度经费未因考核结果暂停，无需领导小组决定 "
            "(only a studio held for its grade is restored by a decision)"
        )
    if found.code in stores.registry.funding_decisions(year):
        raise InvalidTransitionError(f"{found.code} {year}年度已有领导小组决定 (a decision stands)")
    if stores.ledger.find_by_keys([appropriation_key(found.code, year)]):
        raise InvalidTransitionError(f"{found.code} {year}年度经费已拨付 (already funded)")
    decision = FundingDecision(found.code, year, percent, reason.strip(), by, utc_now())
    stores.registry.add_funding_decision(decision)
    if on < appropriation_day(year):
        return decision, None  # the year's appropriation run funds it
    return decision, appropriate(stores, year, on, by=by, only=[found.code])


def roster_counts(stores: Stores, day: date) -> dict[str, int]:
    """How many people (host, members, trainees) each studio's roster holds on ``day``."""
    counts: dict[str, int] = {}
    for m in stores.registry.memberships():
        if m.active_on(day):
            counts[m.studio] = counts.get(m.studio, 0) + 1
    return counts


@dataclass(frozen=True)
class StudioRoster:
    """A studio, its memberships (past and present), and the names of its people."""

    studio: Studio
    memberships: list[Membership]
    names: dict[str, str]


def roster_of(stores: Stores, code: str) -> StudioRoster:
    """One studio with everyone who was ever in its roster, or :class:`NotFoundError`."""
    found = studio(stores, code)
    members = stores.registry.memberships_of([code])
    wanted = {m.person for m in members}
    names = {p.code: p.name for p in stores.registry.people_of(wanted)}
    return StudioRoster(found, members, names)


def studio(stores: Stores, code: str) -> Studio:
    """One studio of the registry, or :class:`NotFoundError`."""
    for s in stores.registry.studios_of([code]):
        return s
    raise NotFoundError(f"studio {code} is not in the registry")


class _ForStudio(Protocol):
    @property
    def studio(self) -> str: ...


class _Dated(Protocol):
    @property
    def on(self) -> date: ...


def _unknown_studios(
    studios: Collection[str], items: Sequence[_ForStudio], name: str
) -> list[ValidationError]:
    """An error for each item naming a studio that is not in the registry."""
    return [
        ValidationError(f"{name}[{i}].工作室编号", f"unknown studio {item.studio}")
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
    requests = [receipt_transaction(r, studios[r.studio].host_unit) for r in receipts]
    fresh = set(_fresh_keys(stores, requests))
    if misdated := _date_errors(stores, receipts, requests, fresh, "receipts"):
        raise InvalidInputError(list(misdated.values()))
    return book.post(stores.ledger, requests)


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
            f"{r.unit}不是{r.studio}任何成员的所在单位 (not a unit of the studio's members)",
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
    misdated = _date_errors(stores, expenses, requests, fresh_keys, "expenses")
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
    return book.post(stores.ledger, requests)


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


@dataclass(frozen=True)
class EntitlementReport:
    year: int
    policy: Policy
    lines: list[EntitlementLine]

    @property
    def payable(self) -> list[EntitlementLine]:
        return [line for line in self.lines if line.held is None]

    @property
    def held(self) -> list[EntitlementLine]:
        return [line for line in self.lines if line.held is not None]

    @property
    def total(self) -> Fen:
        return sum(line.gross for line in self.payable)


def compute_entitlements(stores: Stores, year: int) -> EntitlementReport:
    """Every stipend line for ``year`` under the policy governing it."""
    registry = stores.registry
    governing = policy(stores, year)
    people = registry.people()
    lines = entitlements(
        year,
        governing,
        studios=registry.studios(),
        people=people,
        memberships=registry.memberships(),
        studio_grades=registry.studio_grades(year),
        person_grades=registry.person_grades(year),
    )
    return EntitlementReport(year, governing, lines)


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
