"""The registry's storage on SQLAlchemy: implements :class:`ledger.program.RegistryStore`.

Saves are upserts by natural key (studio code, ID number, studio + person +
join date, year + studio [+ person]) and report how many rows they changed,
so saving the same data twice changes nothing. Nothing here deletes: a person
leaves a studio by a ``left_on`` date.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from ledger.books.postings import utc_now
from ledger.errors import InvalidTransitionError
from ledger.funds.appropriation import FundingDecision
from ledger.funds.expenses import ExpensePlan
from ledger.money import Fen
from ledger.registry.cycles import Cycle
from ledger.registry.policy import Policy
from ledger.registry.roster import Grade, Membership, Person, PersonInput, Studio
from ledger.registry.search import Search
from ledger.registry.units import UNIT_CODE_PREFIX, Unit, code_number, new_codes
from schema.ledger_store import chunks, take_turns
from schema.tables import (
    Base,
    ExpensePlanRow,
    FundingDecisionRow,
    MembershipRow,
    PersonGradeRow,
    PersonRow,
    PolicyRow,
    StudioCycleRow,
    StudioGradeRow,
    StudioRow,
    UnitRow,
)

PERSON_CODE_DIGITS: Final = 6
UNITS_LOCK: Final = "units"
"""What two transactions giving unit codes take turns on (:func:`take_turns`)."""


def _changed(old: Any, new: dict[str, Any]) -> bool:
    return any(getattr(old, k) != v for k, v in new.items())


_TABLES: Final = Base.metadata.tables

# The roster is read as plain rows (no ORM objects): a national roster is 900,000 people.
_CYCLES: Final = _TABLES[StudioCycleRow.__tablename__]
_STUDIOS: Final = select(
    StudioRow.code,
    StudioRow.name,
    StudioRow.kind,
    StudioRow.host_unit,
    StudioRow.cycle_start_year,
    StudioRow.cancelled_on,
    StudioRow.cancellation_reason,
    StudioRow.round,
    StudioRow.cancellation_cause,
    select(func.max(_CYCLES.c.last_year))
    .where(_CYCLES.c.studio_code == StudioRow.code)
    .scalar_subquery(),
)
_PEOPLE: Final = select(
    PersonRow.code,
    PersonRow.id_number,
    PersonRow.name,
    PersonRow.unit,
    PersonRow.bank_name,
    PersonRow.bank_account,
    PersonRow.phone,
)


_STUDIOS_OF: Final = _STUDIOS.where(StudioRow.code.in_(bindparam("codes", expanding=True)))
_MEMBERSHIPS: Final = select(
    MembershipRow.studio_code,
    MembershipRow.person_code,
    MembershipRow.role,
    MembershipRow.joined_on,
    MembershipRow.left_on,
)
"""A membership's columns, in :class:`Membership`'s order."""
_BY_STUDIO: Final = (MembershipRow.studio_code, MembershipRow.person_code, MembershipRow.joined_on)
_PEOPLE_OF: Final = _PEOPLE.where(PersonRow.code.in_(bindparam("codes", expanding=True)))
"""Built once: building a statement costs more than running it on an indexed key."""


def _studio(row: Any) -> Studio:
    code, name, kind, host_unit, start, cancelled_on, reason, number, cause, end = row
    return Studio(
        code, name, kind, host_unit, start, cancelled_on, reason or "", number, cause, end
    )


def _cycle(row: Any) -> Cycle:
    return Cycle(
        row.studio_code,
        row.number,
        row.first_year,
        row.last_year,
        row.closed_on,
        row.closed_by,
        row.close_seq,
        dict(row.returned or {}),
    )


class SqlRegistryStore:
    """Registry storage in the unit of work's session (which it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- policy ---------------------------------------------------------------

    def policies(self) -> list[Policy]:
        rows = self.session.scalars(select(PolicyRow).order_by(PolicyRow.year))
        return [Policy.from_json(row.body) for row in rows]

    def add_policy(self, policy: Policy, created_by: str) -> None:
        self.session.add(
            PolicyRow(
                version=policy.version,
                year=policy.year,
                body=policy.to_json(),
                created_at=utc_now(),
                created_by=created_by,
            )
        )
        self.session.flush()

    # -- roster ---------------------------------------------------------------

    def studios(self) -> list[Studio]:
        return [_studio(r) for r in self.session.execute(_STUDIOS.order_by(StudioRow.code))]

    def studios_of(self, codes: Collection[str]) -> list[Studio]:
        return [
            _studio(r)
            for chunk in chunks(sorted(set(codes)))
            for r in self.session.execute(_STUDIOS_OF, {"codes": chunk})
        ]

    def people(self) -> list[Person]:
        return [Person(*r) for r in self.session.execute(_PEOPLE.order_by(PersonRow.code))]

    def people_of(self, codes: Collection[str]) -> list[Person]:
        return [
            Person(*r)
            for chunk in chunks(sorted(set(codes)))
            for r in self.session.execute(_PEOPLE_OF, {"codes": chunk})
        ]

    def find_people(self, search: Search, after: str, limit: int) -> list[Person]:
        query = _PEOPLE.where(PersonRow.code > after)
        if search:
            found = [
                PersonRow.name.contains(search.text, autoescape=True),
                PersonRow.code.in_(
                    select(MembershipRow.person_code).where(
                        func.upper(MembershipRow.studio_code) == search.code
                    )
                ),
            ]
            if search.last_four:
                found.append(PersonRow.id_number.endswith(search.last_four, autoescape=True))
            query = query.where(or_(*found))
        rows = self.session.execute(query.order_by(PersonRow.code).limit(limit))
        return [Person(*r) for r in rows]

    def find_studios(self, search: Search, after: str, limit: int) -> list[Studio]:
        query = _STUDIOS.where(StudioRow.code > after)
        if search:
            query = query.where(
                or_(
                    func.upper(StudioRow.code).contains(search.code, autoescape=True),
                    StudioRow.name.contains(search.text, autoescape=True),
                    StudioRow.host_unit.contains(search.text, autoescape=True),
                )
            )
        rows = self.session.execute(query.order_by(StudioRow.code).limit(limit))
        return [_studio(r) for r in rows]

    def places_of(self, person: str) -> list[Membership]:
        rows = self.session.execute(
            _MEMBERSHIPS.where(MembershipRow.person_code == person).order_by(
                MembershipRow.joined_on, MembershipRow.studio_code
            )
        )
        return [Membership(*r) for r in rows]

    def payee_code(self, id_number: str) -> str | None:
        return self.session.scalar(select(PersonRow.code).where(PersonRow.id_number == id_number))

    def payee_codes(self, id_numbers: Collection[str]) -> dict[str, str]:
        return {
            number: code
            for chunk in chunks(sorted(set(id_numbers)))
            for number, code in self.session.execute(
                select(PersonRow.id_number, PersonRow.code).where(PersonRow.id_number.in_(chunk))
            )
        }

    def units(self) -> list[Unit]:
        return [Unit(*r) for r in self.session.execute(select(UnitRow.code, UnitRow.name))]

    def unit_codes(self, names: Collection[str]) -> dict[str, str]:
        return {
            name: code
            for chunk in chunks(sorted(set(names)))
            for code, name in self.session.execute(
                select(UnitRow.code, UnitRow.name).where(UnitRow.name.in_(chunk))
            )
        }

    def register_units(self, names: Collection[str]) -> dict[str, str]:
        """The code of each unit named, registering a name not seen before under a new
        code (:func:`ledger.registry.units.new_codes`). On PostgreSQL two rosters saved at
        once take turns here (an advisory lock), so they never draw the same number."""
        codes = self.unit_codes(names)
        unseen = sorted(set(names) - codes.keys())
        if unseen:
            take_turns(self.session, UNITS_LOCK)
            codes |= self.unit_codes(unseen)  # one another roster gave meanwhile
            unseen = [n for n in unseen if n not in codes]
        if unseen:
            numbered = set(
                self.session.scalars(
                    select(UnitRow.code).where(UnitRow.code.startswith(UNIT_CODE_PREFIX))
                )
            )
            given = new_codes(unseen, numbered, max(map(code_number, numbered), default=0))
            self.session.execute(
                insert(UnitRow), [{"code": c, "name": n} for n, c in given.items()]
            )
            codes |= given
        return codes

    def unit_names(self, codes: Collection[str]) -> dict[str, str]:
        return {
            code: name
            for chunk in chunks(sorted(set(codes)))
            for code, name in self.session.execute(
                select(UnitRow.code, UnitRow.name).where(UnitRow.code.in_(chunk))
            )
        }

    def memberships(self) -> list[Membership]:
        rows = self.session.execute(_MEMBERSHIPS.order_by(*_BY_STUDIO))
        return [Membership(*r) for r in rows]

    def memberships_of(self, studios: Collection[str]) -> list[Membership]:
        """The memberships of these studios, read in chunks (by the studio-first unique
        index)."""
        query = _MEMBERSHIPS.order_by(*_BY_STUDIO)
        return [
            Membership(*r)
            for chunk in chunks(sorted(set(studios)))
            for r in self.session.execute(query.where(MembershipRow.studio_code.in_(chunk)))
        ]

    def save_studios(self, studios: Sequence[Studio]) -> int:
        table = _TABLES[StudioRow.__tablename__]
        existing = {r.code: r for r in self._rows_among(table, "code", [s.code for s in studios])}
        return self._save_rows(
            table,
            ("code",),
            (
                (
                    existing.get(s.code),
                    {"code": s.code},
                    {
                        "name": s.name,
                        "kind": s.kind,
                        "host_unit": s.host_unit,
                        "cycle_start_year": s.cycle_start_year,
                        "cancelled_on": s.cancelled_on,
                        "cancellation_reason": s.cancellation_reason or None,
                        "cancellation_cause": s.cancellation_cause,
                        "round": s.round,
                    },
                )
                for s in studios
            ),
        )

    def save_people(self, people: Sequence[PersonInput]) -> tuple[dict[str, str], int]:
        """Add or update people by ID number; their payee codes and how many changed."""
        table = _TABLES[PersonRow.__tablename__]
        existing = {
            r.id_number: r
            for r in self._rows_among(table, "id_number", [p.id_number for p in people])
        }
        codes = {number: row.code for number, row in existing.items()}
        next_number = self._last_person_number() + 1
        for p in people:
            if p.id_number not in codes:
                codes[p.id_number] = f"P{next_number:0{PERSON_CODE_DIGITS}d}"
                next_number += 1
        changed = self._save_rows(
            table,
            ("id_number",),
            (
                (
                    existing.get(p.id_number),
                    {"id_number": p.id_number},
                    {
                        "code": codes[p.id_number],
                        "name": p.name,
                        "unit": p.unit,
                        "bank_name": p.bank_name,
                        "bank_account": p.bank_account,
                        "phone": p.phone,
                    },
                )
                for p in people
            ),
        )
        return codes, changed

    def _last_person_number(self) -> int:
        """The greatest payee number given, compared as a number: past P999999 the text
        order would put P1000000 first."""
        last = self.session.scalar(
            select(func.max(cast(func.substr(PersonRow.code, 2), BigInteger)))
        )
        return int(last or 0)

    def save_memberships(self, memberships: Sequence[Membership]) -> int:
        table = _TABLES[MembershipRow.__tablename__]
        existing = {
            (r.studio_code, r.person_code, r.joined_on): r
            for r in self._rows_among(table, "person_code", [m.person for m in memberships])
        }
        return self._save_rows(
            table,
            ("studio_code", "person_code", "joined_on"),
            (
                (
                    existing.get((m.studio, m.person, m.joined_on)),
                    {"studio_code": m.studio, "person_code": m.person, "joined_on": m.joined_on},
                    {"role": m.role, "left_on": m.left_on},
                )
                for m in memberships
            ),
        )

    def _rows_among(self, table: Table, column: str, values: Sequence[Any]) -> list[Any]:
        """The rows whose ``column`` is among ``values``, read in chunks so no statement
        carries an unbounded list."""
        rows: list[Any] = []
        for chunk in chunks(sorted(set(values))):
            rows.extend(self.session.execute(select(table).where(table.c[column].in_(chunk))))
        return rows

    def _save_rows(
        self,
        table: Table,
        key: Sequence[str],
        items: Iterable[tuple[Any, dict[str, Any], dict[str, Any]]],
    ) -> int:
        """Insert the new rows and update the changed ones, one executemany each, and how
        many were new or changed. Each item is (the stored row or None, its ``key``
        columns, its other values); of items with the same key the last one counts, as
        saving them one by one would have left it."""
        latest = {tuple(item[1][k] for k in key): item for item in items}
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for row, identity, values in latest.values():
            if row is None:
                new.append({**identity, **values})
            elif _changed(row, values):
                changed.append({**{f"key_{k}": identity[k] for k in key}, **values})
        if new:
            self.session.execute(insert(table), new)
        if changed:
            columns = [c for c in changed[0] if not c.startswith("key_")]
            self.session.execute(
                update(table)
                .where(and_(*(table.c[k] == bindparam(f"key_{k}") for k in key)))
                .values({c: bindparam(c) for c in columns}),
                changed,
            )
        if new or changed:
            self.session.expire_all()  # rows loaded earlier in this unit of work are stale
        return len(new) + len(changed)

    # -- cycles and funding decisions --------------------------------------------

    def cycles(self, studios: Collection[str] | None = None) -> list[Cycle]:
        """The cycles of ``studios`` (every studio's when ``None``), by studio and number."""
        query = select(_CYCLES).order_by(_CYCLES.c.studio_code, _CYCLES.c.number)
        if studios is None:
            return [_cycle(r) for r in self.session.execute(query)]
        return [
            _cycle(r)
            for chunk in chunks(sorted(set(studios)))
            for r in self.session.execute(query.where(_CYCLES.c.studio_code.in_(chunk)))
        ]

    def save_cycles(self, cycles: Sequence[Cycle]) -> None:
        """Add new cycles and set the years of stored ones not closed (a studio's start
        year corrected before its cycle closed)."""
        stored = {(c.studio, c.number) for c in self.cycles({c.studio for c in cycles})}
        new = [
            {
                "studio_code": c.studio,
                "number": c.number,
                "first_year": c.first_year,
                "last_year": c.last_year,
            }
            for c in cycles
            if (c.studio, c.number) not in stored
        ]
        moved = [
            {
                "key_studio": c.studio,
                "key_number": c.number,
                "first": c.first_year,
                "last": c.last_year,
            }
            for c in cycles
            if (c.studio, c.number) in stored
        ]
        if new:
            self.session.execute(insert(_CYCLES), new)
        if moved:
            self.session.execute(
                update(_CYCLES)
                .where(
                    _CYCLES.c.studio_code == bindparam("key_studio"),
                    _CYCLES.c.number == bindparam("key_number"),
                    _CYCLES.c.closed_on.is_(None),
                )
                .values(first_year=bindparam("first"), last_year=bindparam("last")),
                moved,
            )

    def close_cycle(self, cycle: Cycle, at: datetime) -> None:
        """Record a cycle's close (once: a closed cycle is never closed again)."""
        done = self.session.execute(
            update(_CYCLES)
            .where(
                _CYCLES.c.studio_code == cycle.studio,
                _CYCLES.c.number == cycle.number,
                _CYCLES.c.closed_on.is_(None),
            )
            .values(
                closed_on=cycle.closed_on,
                closed_by=cycle.closed_by,
                closed_at=at,
                close_seq=cycle.close_seq,
                returned=dict(cycle.returned),
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTransitionError(
                f"{cycle.studio} {cycle.label}已由他人同时结算 (closed meanwhile)"
            )

    def funding_decisions(self, year: int) -> dict[str, FundingDecision]:
        table = _TABLES[FundingDecisionRow.__tablename__]
        rows = self.session.execute(select(table).where(table.c.year == year))
        return {
            r.studio_code: FundingDecision(
                r.studio_code, r.year, r.percent, r.reason, r.decided_by, r.decided_at
            )
            for r in rows
        }

    def add_funding_decision(self, decision: FundingDecision) -> None:
        self.session.execute(
            insert(_TABLES[FundingDecisionRow.__tablename__]).values(
                studio_code=decision.studio,
                year=decision.year,
                percent=decision.percent,
                reason=decision.reason,
                decided_by=decision.decided_by,
                decided_at=decision.decided_at,
            )
        )

    # -- grades and plans -------------------------------------------------------

    def studio_grades(self, year: int, studios: Collection[str] | None = None) -> dict[str, str]:
        query = select(StudioGradeRow.studio_code, StudioGradeRow.grade).where(
            StudioGradeRow.year == year
        )
        if studios is None:
            return dict(self.session.execute(query).all())
        return {
            code: grade
            for chunk in chunks(sorted(set(studios)))
            for code, grade in self.session.execute(
                query.where(StudioGradeRow.studio_code.in_(chunk))
            )
        }

    def person_grades(
        self, year: int, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], str]:
        query = select(
            PersonGradeRow.studio_code, PersonGradeRow.person_code, PersonGradeRow.grade
        ).where(PersonGradeRow.year == year)
        queries = (
            [query]
            if studios is None
            else [
                query.where(PersonGradeRow.studio_code.in_(chunk))
                for chunk in chunks(sorted(set(studios)))
            ]
        )
        return {
            (studio, person): grade
            for q in queries
            for studio, person, grade in self.session.execute(q)
        }

    def save_grades(self, grades: Sequence[Grade]) -> int:
        people = {
            r.id_number: r
            for r in self._rows_among(
                _TABLES[PersonRow.__tablename__],
                "id_number",
                [g.id_number for g in grades if g.id_number],
            )
        }
        years = [g.year for g in grades]
        studio_table = _TABLES[StudioGradeRow.__tablename__]
        person_table = _TABLES[PersonGradeRow.__tablename__]
        by_studio = {
            (r.year, r.studio_code): r for r in self._rows_among(studio_table, "year", years)
        }
        by_person = {
            (r.year, r.studio_code, r.person_code): r
            for r in self._rows_among(person_table, "year", years)
        }
        own = [(g, people[g.id_number].code) for g in grades if g.id_number]
        changed = self._save_rows(
            person_table,
            ("year", "studio_code", "person_code"),
            (
                (
                    by_person.get((g.year, g.studio, code)),
                    {"year": g.year, "studio_code": g.studio, "person_code": code},
                    {"grade": g.grade},
                )
                for g, code in own
            ),
        )
        return changed + self._save_rows(
            studio_table,
            ("year", "studio_code"),
            (
                (
                    by_studio.get((g.year, g.studio)),
                    {"year": g.year, "studio_code": g.studio},
                    {"grade": g.grade},
                )
                for g in grades
                if not g.id_number
            ),
        )

    def expense_plans(self, year: int) -> dict[tuple[str, str], Fen]:
        rows = self.session.execute(
            select(
                ExpensePlanRow.studio_code, ExpensePlanRow.category, ExpensePlanRow.amount
            ).where(ExpensePlanRow.year == year)
        )
        return {(studio, category): amount for studio, category, amount in rows}

    def save_expense_plans(self, plans: Sequence[ExpensePlan]) -> int:
        table = _TABLES[ExpensePlanRow.__tablename__]
        stored = {
            (r.year, r.studio_code, r.category): r
            for r in self._rows_among(table, "year", [p.year for p in plans])
        }
        return self._save_rows(
            table,
            ("year", "studio_code", "category"),
            (
                (
                    stored.get((p.year, p.studio, p.category)),
                    {"year": p.year, "studio_code": p.studio, "category": p.category},
                    {"amount": p.amount},
                )
                for p in plans
            ),
        )
