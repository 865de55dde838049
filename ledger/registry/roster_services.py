"""Roster services: the policy, the roster, the grades and who is on a studio's roster.

Each service works inside the caller's unit of work (:class:`ledger.program.Stores`)
and never commits; the rules live in :mod:`ledger.registry.roster` and
:mod:`ledger.registry.cycles`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from ledger.errors import (
    InvalidInputError,
    LedgerError,
    NotFoundError,
    ValidationError,
)
from ledger.program import SaveReport, Stores, today
from ledger.registry.cycles import Cycle, first_cycle, reinstatement_refusal
from ledger.registry.policy import Policy, policy_for_year
from ledger.registry.roster import (
    Finding,
    Grade,
    Membership,
    MembershipInput,
    Person,
    PersonInput,
    Studio,
    grade_errors,
    in_order,
    kind_counts,
    membership_errors,
    normalize_id_number,
    person_errors,
    quota_findings,
    studio_errors,
    studio_findings,
)
from ledger.registry.search import Search
from ledger.registry.units import Unit
from ledger.users import acting


class CompositionRefused(LedgerError):  # noqa: N818 (a refusal, named as the domain says it)
    """The roster would make money wrong; ``findings`` lists every refused rule."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("；".join(f"{f.studio}：{f.message}" for f in findings))
        self.findings = findings


def policy(stores: Stores, year: int) -> Policy:
    """The policy governing ``year``."""
    return policy_for_year(stores.registry.policies(), year)


def add_policy(stores: Stores, new: Policy, created_by: str) -> None:
    """Store a new year's policy; an existing version or year is never overwritten."""
    acting(stores, created_by, "policy.add")
    existing = stores.registry.policies()
    if any(p.version == new.version for p in existing):
        raise ValidationError("version", f"政策版本“{new.version}”已存在")
    if any(p.year == new.year for p in existing):
        raise ValidationError(
            "year",
            f"{new.year}年度的政策已存在；政策录入后不再修改，请为以后的年度新增政策",
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
    changed = save_roster_part(stores, studios, people, memberships, by=by)
    return SaveReport(changed, checked_composition(stores))


def save_roster_part(
    stores: Stores,
    studios: Sequence[Studio],
    people: Sequence[PersonInput],
    memberships: Sequence[MembershipInput],
    *,
    by: str,
) -> int:
    """:func:`save_roster` of one part of a roster too large to hold (a file read a
    chunk at a time): the part's records checked (fields named by their place in the
    part) and written, and how many were new or changed. The composition is not checked:
    :func:`checked_composition` does, once the last part is in, in the same unit of work
    (which a refusal rolls back whole)."""
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
    registry.register_units({s.host_unit for s in studios} | {p.unit for p in people})
    changed = registry.save_studios(studios)
    registry.save_cycles(first_cycles)
    codes, people_changed = registry.save_people(people)
    unknown = {m.id_number for m in memberships} - codes.keys()
    codes |= registry.payee_codes(unknown)
    errors = [
        ValidationError("身份证号", f"身份证号 {m.id_number} 不在名册的人员中")
        for m in memberships
        if m.id_number not in codes
    ]
    if errors:
        raise InvalidInputError(errors)
    return (
        changed
        + people_changed
        + registry.save_memberships(
            [
                Membership(m.studio, codes[m.id_number], m.role, m.joined_on, m.left_on)
                for m in memberships
            ]
        )
    )


STUDIOS_AT_A_TIME: Final = 1_000
"""Studios whose rosters the composition check holds at once."""


def checked_composition(stores: Stores) -> list[Finding]:
    """Every composition rule the registry's roster breaks, refusals first: refused
    whole (:class:`CompositionRefused`) when one would make money wrong, the rest
    returned as warnings. Read :data:`STUDIOS_AT_A_TIME` studios with their places and
    people at a time, so a province's roster is checked in the memory of a chunk."""
    registry = stores.registry
    counts: dict[tuple[int, str], int] = {}
    starts: dict[int, int] = {}  # each round's first year
    latest = None
    for page in studio_pages(stores):
        for kind, count in kind_counts(page).items():
            counts[kind] = counts.get(kind, 0) + count
        for s in page:
            starts[s.round] = min(starts.get(s.round, s.cycle_start_year), s.cycle_start_year)
            latest = max(latest or s.cycle_start_year, s.cycle_start_year)
    if latest is None:
        return []
    rules = policy(stores, latest)
    findings = []
    for page in studio_pages(stores):
        places: dict[str, list[Membership]] = {}
        for m in registry.memberships_of([s.code for s in page]):
            places.setdefault(m.studio, []).append(m)
        people = {m.person for held in places.values() for m in held}
        units = {p.code: p.unit for p in registry.people_of(people)}
        for s in page:
            findings += studio_findings(s, places.get(s.code, []), units, rules)
    quotas = {number: policy(stores, start).quotas for number, start in starts.items()}
    findings = in_order([*findings, *quota_findings(counts, quotas)])
    if refused := [f for f in findings if f.refused]:
        raise CompositionRefused(refused)
    return findings


def studio_pages(stores: Stores) -> Iterator[list[Studio]]:
    """Every studio of the registry in code order, :data:`STUDIOS_AT_A_TIME` at a time."""
    after = ""
    while page := stores.registry.find_studios(Search(), after, STUDIOS_AT_A_TIME):
        yield page
        after = page[-1].code


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


def cycle_start_refusals(stores: Stores, studios: Sequence[Studio]) -> list[ValidationError]:
    """Of ``studios`` about to be saved, each whose start year may no longer change (its
    studio renewed or settled), as ``studios[i].cycle_start_year``."""
    try:
        _first_cycles(stores, studios, _stored_studios(stores, studios))
    except InvalidInputError as refused:
        return refused.errors
    return []


def register_units(stores: Stores, names: Collection[str], *, by: str) -> None:
    """Give each unit a roster names a code, those not yet registered in name order: a
    roster saved in parts (:func:`save_roster_part`) registers its units first, so the
    codes do not depend on where the parts begin."""
    acting(stores, by, "roster.save")
    stores.registry.register_units(names)


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


def _first_cycles(stores: Stores, studios: Sequence[Studio], stored: _StoredStudios) -> list[Cycle]:
    """The first cycle of each studio saved: new for a new studio, its years moved for
    a studio whose start year is corrected while its one cycle is open. A studio renewed
    or closed keeps its start year: its cycles are history."""
    cycles, errors = [], []
    rules: dict[int, Policy] = {}  # each start year's policy, read once
    for i, studio in enumerate(studios):
        mine = stored.cycles.get(studio.code, [])
        before = stored.studios.get(studio.code)
        if mine and before is not None and before.cycle_start_year == studio.cycle_start_year:
            continue
        if len(mine) > 1 or any(c.closed_on is not None for c in mine):
            errors.append(
                ValidationError(
                    f"studios[{i}].cycle_start_year",
                    f"{studio.code}已续期或已结算，周期开始年度不能再改",
                )
            )
            continue
        if studio.cycle_start_year not in rules:
            rules[studio.cycle_start_year] = policy(stores, studio.cycle_start_year)
        cycles.append(first_cycle(studio, rules[studio.cycle_start_year]))
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
            errors.append(
                ValidationError(f"grades[{i}].工作室编号", f"工作室 {g.studio} 不在名册中")
            )
        elif g.id_number and (g.studio, people.get(g.id_number, "")) not in members:
            errors.append(
                ValidationError(
                    f"grades[{i}].身份证号", f"身份证号 {g.id_number} 不是工作室 {g.studio} 的成员"
                )
            )
    if errors:
        raise InvalidInputError(errors)
    return SaveReport(registry.save_grades(grades))


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
    raise NotFoundError(f"工作室 {code} 不在名册中")


def studios(stores: Stores) -> list[Studio]:
    """Every studio in the registry, by code."""
    return stores.registry.studios()


def people(stores: Stores, after: str = "") -> list[Person]:
    """The people in the registry by payee code, those after ``after`` when given."""
    return [p for p in stores.registry.people() if p.code > after]


def units(stores: Stores, after: str = "") -> list[Unit]:
    """The units in the registry by code (those after ``after`` when given): who each
    code in a ``source:unit:`` or ``source:support:`` account is."""
    return sorted((u for u in stores.registry.units() if u.code > after), key=lambda u: u.code)


def policies(stores: Stores) -> list[Policy]:
    """Every year's policy, as added (never changed)."""
    return stores.registry.policies()
