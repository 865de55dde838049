"""What the registry services need from storage; ``schema.registry_store`` implements it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from ledger.funds.appropriation import (
    FundingDecision,
)
from ledger.funds.expenses import (
    ExpensePlan,
)
from ledger.money import Fen
from ledger.registry.cycles import Cycle
from ledger.registry.policy import Policy
from ledger.registry.roster import (
    Grade,
    Membership,
    Person,
    PersonInput,
    Studio,
)
from ledger.registry.search import Search
from ledger.registry.units import Unit


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

    def find_people(self, search: Search, after: str, limit: int) -> list[Person]:
        """Up to ``limit`` people after payee code ``after``, in code order, whose name
        holds the search text, whose 身份证号 ends with it (four characters), or who have
        a place in the studio it names; everyone when it is empty."""

    def find_studios(self, search: Search, after: str, limit: int) -> list[Studio]:
        """Up to ``limit`` studios after code ``after``, in code order, whose code, name
        or host unit holds the search text; every studio when it is empty."""

    def places_of(self, person: str) -> list[Membership]:
        """The person's places in studios, past and present."""

    def payee_code(self, id_number: str) -> str | None:
        """The code of the person with this 身份证号, if they are in the registry."""

    def payee_codes(self, id_numbers: Collection[str]) -> dict[str, str]:
        """身份证号 → payee code of those of ``id_numbers`` in the registry, read in chunks."""

    def units(self) -> list[Unit]: ...
    def unit_codes(self, names: Collection[str]) -> dict[str, str]:
        """Name → code of the units named that are registered."""

    def register_units(self, names: Collection[str]) -> dict[str, str]:
        """The code of each unit named, giving a name not yet registered a new code."""

    def unit_names(self, codes: Collection[str]) -> dict[str, str]:
        """Unit code → name, of the units registered under these codes."""

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
