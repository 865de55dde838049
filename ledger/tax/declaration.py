"""扣缴申报: the month's 扣缴个人所得税报告表, one row per person across all studios and
batches, tied to the tax account to the fen.

A person's 收入额 is every stipend the bank paid them in the month (a line counts in the
month of its payment voucher, :mod:`ledger.tax.withholding`); 已扣缴税额 is the tax those
payments withheld less what the month's re-settlements gave back. The ledger says the
same from the other side: what the month's vouchers credited to 应交税费—代扣个人所得税,
less what re-settlements sent back from it to payees. The two are compared, and the
report says whether they agree (:attr:`Declaration.ties`).

The form goes to the tax office, so it carries whole 身份证号 — for the roles that see
whole numbers (``IN_FULL["tax.declaration"]``: the 出纳 who files it); others read it masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger.batches.batch import BatchLine
from ledger.batches.disbursement import Stores
from ledger.books.accounts import WITHHELD_TAX, account_kind
from ledger.books.periods import Period
from ledger.errors import LedgerError
from ledger.money import Fen
from ledger.permissions import sees_in_full
from ledger.privacy import mask_id_number
from ledger.registry.roster_services import policy
from ledger.tax.withholding import RULES, labour_remuneration_terms
from ledger.users import User, acting

ID_KIND: Final = "居民身份证"
INCOME_ITEM: Final = "劳务报酬所得"


@dataclass(frozen=True, slots=True)
class DeclarationLine:
    """One person's month: what they were paid and the tax on it (fen; ``rate`` in %)."""

    person: str
    name: str
    id_number: str
    income: Fen
    deduction: Fen
    taxable: Fen
    rate: int
    quick_deduction: Fen
    due: Fen
    withheld: Fen

    @property
    def difference(self) -> Fen:
        """应补（退）税额: due less withheld (negative: withheld too much)."""
        return self.due - self.withheld


@dataclass(frozen=True)
class Declaration:
    """The month's report, and the tax account's movements it must agree with.

    Attributes:
      credited: the month's credits to the tax account (tax withheld by payments).
      given_back: the month's debits from it to payees' payables (re-settlements).
      whole: whether ``id_number`` is whole (else masked for the reader's role).
    """

    month: Period
    exporter: User
    lines: list[DeclarationLine]
    credited: Fen
    given_back: Fen
    whole: bool

    @property
    def income(self) -> Fen:
        return sum(x.income for x in self.lines)

    @property
    def due(self) -> Fen:
        return sum(x.due for x in self.lines)

    @property
    def withheld(self) -> Fen:
        return sum(x.withheld for x in self.lines)

    @property
    def in_ledger(self) -> Fen:
        """The month's tax withheld as the ledger has it."""
        return self.credited - self.given_back

    @property
    def ties(self) -> bool:
        return self.withheld == self.in_ledger


def declaration(stores: Stores, month: Period, by: str) -> Declaration:
    """The 扣缴个人所得税报告表 of ``month`` for ``by`` (``statement.withholding``)."""
    exporter = acting(stores, by, "statement.withholding")
    whole = sees_in_full(exporter.role, "tax.declaration")
    rule = _rule(stores, month)
    paid = stores.batches.paid_lines(None, month)
    given_back = stores.batches.refunds(None, month)
    people: dict[str, list[BatchLine]] = {}
    for _, line in sorted(paid, key=lambda p: (p[0], p[1].id)):
        people.setdefault(line.person, []).append(line)
    lines = []
    for person, paid_lines in people.items():
        income = sum(x.gross for x in paid_lines)
        withheld = sum(x.current_tax for x in paid_lines) - given_back.get(person, 0)
        terms = labour_remuneration_terms(income)
        payee = paid_lines[-1].payee  # as the latest payment knew them
        name, id_number = (payee.name, payee.id_number) if payee else (person, "")
        lines.append(
            DeclarationLine(
                person,
                name,
                id_number if whole else mask_id_number(id_number),
                income,
                terms.deduction,
                terms.taxable,
                terms.rate,
                terms.quick_deduction,
                RULES[rule](income),
                withheld,
            )
        )
    lines.sort(key=lambda x: (x.id_number, x.person))
    credited = given = 0
    for source, destination, amount in stores.ledger.pair_movements(
        month.first_day, month.last_day
    ):
        if destination == WITHHELD_TAX:
            credited += amount
        elif source == WITHHELD_TAX and account_kind(destination) == "payable":
            given += amount
    return Declaration(month, exporter, lines, credited, given, whole)


def _rule(stores: Stores, month: Period) -> str:
    """The withholding rule of the policy governing the month's year (the latest policy
    for a month after the last one's year)."""
    try:
        return policy(stores, month.year).withholding
    except LedgerError:
        policies = stores.registry.policies()
        return max(policies, key=lambda p: p.year).withholding if policies else "none"
