"""The registry's storage on SQLAlchemy: implements :class:`ledger.program.RegistryStore`.

Saves are upserts by natural key (studio code, ID number, studio + person +
join date, year + studio [+ person]) and report how many rows they changed,
so saving the same data twice changes nothing. Nothing here deletes: a person
leaves a studio by a ``left_on`` date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger.money import Fen
from ledger.policy import Policy
from ledger.postings import utc_now
from ledger.program import ExpensePlan, Grade
from ledger.registry import Membership, Person, PersonInput, Studio
from schema.tables import (
    ExpensePlanRow,
    MembershipRow,
    PersonGradeRow,
    PersonRow,
    PolicyRow,
    StudioGradeRow,
    StudioRow,
)

PERSON_CODE_DIGITS: Final = 6


def _changed(old: Any, new: dict[str, Any]) -> bool:
    return any(getattr(old, k) != v for k, v in new.items())


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
        return [
            Studio(
                r.code,
                r.name,
                r.kind,
                r.host_unit,
                r.cycle_start_year,
                r.cancelled_on,
                r.cancellation_reason or "",
            )
            for r in self.session.scalars(select(StudioRow).order_by(StudioRow.code))
        ]

    def people(self) -> list[Person]:
        return [
            Person(r.code, r.id_number, r.name, r.unit, r.bank_name, r.bank_account, r.phone)
            for r in self.session.scalars(select(PersonRow).order_by(PersonRow.code))
        ]

    def payee_code(self, id_number: str) -> str | None:
        return self.session.scalar(select(PersonRow.code).where(PersonRow.id_number == id_number))

    def memberships(self) -> list[Membership]:
        rows = self.session.scalars(
            select(MembershipRow).order_by(
                MembershipRow.studio_code, MembershipRow.person_code, MembershipRow.joined_on
            )
        )
        return [
            Membership(r.studio_code, r.person_code, r.role, r.joined_on, r.left_on) for r in rows
        ]

    def save_studios(self, studios: Sequence[Studio]) -> int:
        existing = {
            r.code: r
            for r in self.session.scalars(
                select(StudioRow).where(StudioRow.code.in_([s.code for s in studios]))
            )
        }
        changed = 0
        for s in studios:
            values = {
                "name": s.name,
                "kind": s.kind,
                "host_unit": s.host_unit,
                "cycle_start_year": s.cycle_start_year,
                "cancelled_on": s.cancelled_on,
                "cancellation_reason": s.cancellation_reason or None,
            }
            row = existing.get(s.code)
            if row is None:
                self.session.add(StudioRow(code=s.code, **values))
                changed += 1
            elif _changed(row, values):
                for k, v in values.items():
                    setattr(row, k, v)
                changed += 1
        self.session.flush()
        return changed

    def save_people(self, people: Sequence[PersonInput]) -> tuple[dict[str, str], int]:
        """Add or update people by ID number; their payee codes and how many changed."""
        existing = {
            r.id_number: r
            for r in self.session.scalars(
                select(PersonRow).where(PersonRow.id_number.in_([p.id_number for p in people]))
            )
        }
        next_number = self._last_person_number() + 1
        codes: dict[str, str] = {}
        changed = 0
        for p in people:
            values = {
                "name": p.name,
                "unit": p.unit,
                "bank_name": p.bank_name,
                "bank_account": p.bank_account,
                "phone": p.phone,
            }
            row = existing.get(p.id_number)
            if row is None:
                row = PersonRow(
                    code=f"P{next_number:0{PERSON_CODE_DIGITS}d}", id_number=p.id_number, **values
                )
                next_number += 1
                self.session.add(row)
                existing[p.id_number] = row
                changed += 1
            elif _changed(row, values):
                for k, v in values.items():
                    setattr(row, k, v)
                changed += 1
            codes[p.id_number] = row.code
        self.session.flush()
        return codes, changed

    def _last_person_number(self) -> int:
        last = self.session.scalar(select(func.max(PersonRow.code)))
        return int(last[1:]) if last else 0

    def save_memberships(self, memberships: Sequence[Membership]) -> int:
        existing = {
            (r.studio_code, r.person_code, r.joined_on): r
            for r in self.session.scalars(
                select(MembershipRow).where(
                    MembershipRow.person_code.in_({m.person for m in memberships})
                )
            )
        }
        changed = 0
        for m in memberships:
            row = existing.get((m.studio, m.person, m.joined_on))
            values = {"role": m.role, "left_on": m.left_on}
            if row is None:
                self.session.add(
                    MembershipRow(
                        studio_code=m.studio, person_code=m.person, joined_on=m.joined_on, **values
                    )
                )
                changed += 1
            elif _changed(row, values):
                for k, v in values.items():
                    setattr(row, k, v)
                changed += 1
        self.session.flush()
        return changed

    # -- grades and plans -------------------------------------------------------

    def studio_grades(self, year: int) -> dict[str, str]:
        rows = self.session.execute(
            select(StudioGradeRow.studio_code, StudioGradeRow.grade).where(
                StudioGradeRow.year == year
            )
        )
        return dict(rows.all())

    def person_grades(self, year: int) -> dict[tuple[str, str], str]:
        rows = self.session.execute(
            select(
                PersonGradeRow.studio_code, PersonGradeRow.person_code, PersonGradeRow.grade
            ).where(PersonGradeRow.year == year)
        )
        return {(studio, person): grade for studio, person, grade in rows}

    def save_grades(self, grades: Sequence[Grade]) -> int:
        codes = dict(
            self.session.execute(
                select(PersonRow.id_number, PersonRow.code).where(
                    PersonRow.id_number.in_({g.id_number for g in grades if g.id_number})
                )
            ).all()
        )
        changed = 0
        for g in grades:
            if g.id_number:
                key: dict[str, Any] = {
                    "year": g.year,
                    "studio_code": g.studio,
                    "person_code": codes[g.id_number],
                }
                changed += self._upsert(PersonGradeRow, key, {"grade": g.grade})
            else:
                changed += self._upsert(
                    StudioGradeRow, {"year": g.year, "studio_code": g.studio}, {"grade": g.grade}
                )
        return changed

    def expense_plans(self, year: int) -> dict[tuple[str, str], Fen]:
        rows = self.session.execute(
            select(
                ExpensePlanRow.studio_code, ExpensePlanRow.category, ExpensePlanRow.amount
            ).where(ExpensePlanRow.year == year)
        )
        return {(studio, category): amount for studio, category, amount in rows}

    def save_expense_plans(self, plans: Sequence[ExpensePlan]) -> int:
        return sum(
            self._upsert(
                ExpensePlanRow,
                {"year": p.year, "studio_code": p.studio, "category": p.category},
                {"amount": p.amount},
            )
            for p in plans
        )

    def _upsert(self, table: type[Any], key: dict[str, Any], values: dict[str, Any]) -> int:
        """Insert or update one row by primary key; 1 if anything changed, else 0."""
        row = self.session.get(table, key)
        if row is None:
            self.session.execute(insert(table).values(**key, **values))
            return 1
        if not _changed(row, values):
            return 0
        self.session.execute(update(table).filter_by(**key).values(**values))
        self.session.expire(row)
        return 1
