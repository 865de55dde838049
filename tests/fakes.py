"""In-memory stores behind the same Protocols as ``schema/``: the services' rules run as
fast unit tests, with no database. They keep what the rules read and write, no more:
no locks (one thread), no chunking, no SQL constraints (the integration tests keep
those honest on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from ledger.batches.batch import (
    LINE_STEP_FIELDS,
    Batch,
    BatchEvent,
    BatchLine,
    BatchState,
    LineStatus,
    LineTally,
    PlannedLine,
    paid_key,
)
from ledger.batches.disbursement import CreatedBatch, Outcome, create, with_lines
from ledger.books.accounts import Account, may_go_negative
from ledger.books.attachments import Attachment
from ledger.books.book import AccountEntry, AccountState, ChainHead
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.books.daily_balances import Day, DayRow, DayWrite, day_movements
from ledger.books.periods import Closing, Period, closed_through
from ledger.books.postings import GENESIS_HASH, Posting, Transaction, Voucher, balance_changes
from ledger.errors import ChainKeyError
from ledger.funds.appropriation import FundingDecision
from ledger.funds.expenses import ExpensePlan
from ledger.money import Fen
from ledger.registry.cycles import Cycle
from ledger.registry.policy import NOTICE_2024, Policy
from ledger.registry.roster import Grade, Membership, Person, PersonInput, Studio, id_check_digit
from ledger.registry.search import Search
from ledger.registry.units import Unit, code_number, new_codes
from ledger.users import User, UserRecord


def approver_id_number(n: int) -> str:
    """A valid 身份证号 for test user ``n``, of nobody in any test roster."""
    first17 = f"15062719700101{n:03d}"
    return first17 + id_check_digit(first17)


TEST_KEYS = KeyRing((ChainKey(1, bytes(range(32))),))
"""The fixed ring fake ledgers seal with."""


@dataclass
class FakeLedger:
    transactions: list[Transaction] = field(default_factory=list)
    balances: dict[Account, Fen] = field(default_factory=dict)
    closed: list[Closing] = field(default_factory=list)
    keys: KeyRing | None = field(default_factory=lambda: TEST_KEYS)
    days: dict[Account, dict[date, Day]] = field(default_factory=dict)
    writing: Transaction | None = None
    """The transaction :meth:`write_postings` wrote, until :meth:`seal_head` records it."""
    head_key: str | None = None

    def lock_head(self) -> ChainHead:
        return self._head()

    def chain_keys(self) -> KeyRing:
        if self.keys is None:
            raise ChainKeyError("no chain key (test)")
        return self.keys

    def has_chain_keys(self) -> bool:
        return self.keys is not None

    def chain_key_source(self) -> str:
        return "the fake's ring"

    def save_chain_keys(self, ring: KeyRing, *, new: bool) -> None:
        assert new == (self.keys is None)
        self.keys = ring

    def _head(self) -> ChainHead:
        last = self.transactions[-1] if self.transactions else None
        return ChainHead(last.seq, last.hash, self.head_key) if last else ChainHead(0, GENESIS_HASH)

    def head_hash(self) -> tuple[int, str]:
        head = self._head()
        return head.seq, head.hash

    def find_by_keys(self, keys: Iterable[str]) -> dict[str, Transaction]:
        wanted = set(keys)
        return {
            t.request.idempotency_key: t
            for t in self.transactions
            if t.request.idempotency_key in wanted
        }

    def get(self, seq: int) -> Transaction | None:
        return self.transactions[seq - 1] if 0 < seq <= len(self.transactions) else None

    def voucher_seq(self, voucher: Voucher) -> int | None:
        return next((t.seq for t in self.transactions if t.voucher == voucher), None)

    def reversed_positions(self, seq: int) -> set[int]:
        return {
            p.reverses
            for t in self.transactions
            if t.request.reverses == seq
            for p in t.postings
            if p.reverses is not None
        }

    def lock_accounts(self, addresses: Sequence[Account]) -> dict[Account, AccountState]:
        for a in addresses:
            self.balances.setdefault(a, 0)
        return {a: AccountState(a, self.balances[a], may_go_negative(a)) for a in addresses}

    def last_voucher_numbers(self, months: Iterable[Period]) -> dict[Period, int]:
        last = self.last_vouchers()
        return {m: last.get(m, 0) for m in months}

    def last_vouchers(self) -> dict[Period, int]:
        found: dict[Period, int] = {}
        for t in self.transactions:
            month = Period(t.voucher.year, t.voucher.month)
            found[month] = max(found.get(month, 0), t.voucher.number)
        return found

    def closed_through(self) -> Period | None:
        return closed_through(self.closed)

    def closings(self) -> list[Closing]:
        return list(self.closed)

    def add_closing(self, closing: Closing) -> None:
        self.closed.append(closing)

    def days_from(self, starts: Mapping[Account, date]) -> dict[Account, dict[date, Day]]:
        return {
            address: {day: kept for day, kept in self.days[address].items() if day >= start}
            for address, start in starts.items()
            if address in self.days
        }

    def append(
        self,
        transactions: Sequence[Transaction],
        balances: Mapping[Account, Fen],
        days: Sequence[DayWrite],
        key_id: str | None,
    ) -> None:
        self.head_key = key_id
        self.transactions.extend(transactions)
        self.balances.update(balances)
        for write in days:
            kept = self.days.setdefault(write.address, {})
            assert (write.day not in kept) == write.new, f"{write} new or not as told"
            kept[write.day] = write.kept

    def write_postings(
        self, transaction: Transaction, postings: Iterable[Sequence[Posting]]
    ) -> None:
        whole = tuple(p for chunk in postings for p in chunk)
        self.writing = replace(transaction, request=replace(transaction.request, postings=whole))

    def movements(self, seq: int, size: int) -> Iterator[dict[Account, Fen]]:
        assert self.writing is not None
        assert self.writing.seq == seq
        moved = sorted(balance_changes(self.writing.postings).items())
        for start in range(0, len(moved), size):
            yield dict(moved[start : start + size])

    def write_accounts(self, balances: Mapping[Account, Fen], days: Sequence[DayWrite]) -> None:
        self.append([], balances, days, self.head_key)

    def seal_head(self, transaction: Transaction, key_id: str | None) -> None:
        assert self.writing is not None
        assert self.writing.hash == transaction.hash
        self.transactions.append(self.writing)
        self.writing = None
        self.head_key = key_id

    def balance(self, address: Account, as_of: date | None) -> Fen | None:
        if address not in self.balances:
            return None
        if as_of is None:
            return self.balances[address]
        return sum(
            (p.amount if p.destination == address else -p.amount)
            for t in self.transactions
            if t.request.effective_date <= as_of
            for p in t.postings
            if address in (p.source, p.destination)
        )

    def missing_guards(self) -> list[str]:
        return []  # no database: nothing to keep

    def kept_balances(self) -> dict[Account, Fen]:
        return dict(self.balances)

    def derived_balances(self) -> dict[Account, Fen]:
        derived: dict[Account, Fen] = {}
        for t in self.transactions:
            for p in t.postings:
                derived[p.source] = derived.get(p.source, 0) - p.amount
                derived[p.destination] = derived.get(p.destination, 0) + p.amount
        return derived

    def iter_transactions(self) -> Iterator[Transaction]:
        return iter(self.transactions)

    def _numbered(self, addresses: Iterable[Account]) -> list[tuple[int, Account]]:
        """``addresses`` with the numbers a database's ids would give them, in that order:
        the order accounts were first written, not their addresses' (what reads rows by
        number must not rely on address order)."""
        order = dict.fromkeys((*self.balances, *self.days, *addresses))
        number = {a: n for n, a in enumerate(order)}
        return sorted((number[a], a) for a in addresses)

    def iter_day_movements(self) -> Iterator[DayRow]:
        moved = day_movements(self.transactions)
        for number, address in self._numbered(moved):
            for day, net in sorted(moved[address].items()):
                yield number, address, day, net

    def iter_kept_days(self) -> Iterator[DayRow]:
        """The days :meth:`append` kept, as the domain worked them out (``verify`` checks
        them against the postings)."""
        for number, address in self._numbered(self.days):
            for day, kept in sorted(self.days[address].items()):
                yield number, address, day, kept.closing

    def iter_account_entries(
        self, address: Account, start: date, end: date
    ) -> Iterator[AccountEntry]:
        raise NotImplementedError  # statements are tested on the databases

    def transactions_page(
        self,
        *,
        after: int,
        limit: int,
        account: Account | None = None,
        studio: str | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
    ) -> list[Transaction]:
        raise NotImplementedError  # paging is tested through HTTP on the databases

    def current_balances(self, addresses: Sequence[Account]) -> dict[Account, Fen]:
        return {a: self.balances[a] for a in addresses if a in self.balances}

    def balances_as_of(self, as_of: date) -> dict[Account, Fen]:
        return {a: self.balance(a, as_of) or 0 for a in self.balances}

    def pair_movements(self, start: date, end: date) -> list[tuple[Account, Account, Fen]]:
        moved: dict[tuple[Account, Account], Fen] = {}
        for t in self.transactions:
            if start <= t.request.effective_date <= end:
                for p in t.postings:
                    moved[(p.source, p.destination)] = (
                        moved.get((p.source, p.destination), 0) + p.amount
                    )
        return [(s, d, amount) for (s, d), amount in moved.items()]

    def vouchers_of(self, seqs: Collection[int]) -> dict[int, Voucher]:
        return {t.seq: t.voucher for t in self.transactions if t.seq in seqs}

    def dates_of(self, seqs: Collection[int]) -> dict[int, date]:
        return {t.seq: t.effective_date for t in self.transactions if t.seq in seqs}

    def movements_of(self, addresses: Sequence[Account]) -> list[tuple[Account, Account, Fen]]:
        wanted = set(addresses)
        return [
            (s, d, amount)
            for s, d, amount in self.pair_movements(date.min, date.max)
            if s in wanted or d in wanted
        ]


@dataclass
class FakeRegistry:
    policy_records: list[Policy] = field(default_factory=lambda: [NOTICE_2024])
    studio_records: dict[str, Studio] = field(default_factory=dict)
    person_records: dict[str, Person] = field(default_factory=dict)
    membership_records: dict[tuple[str, str, date], Membership] = field(default_factory=dict)
    grade_records: dict[tuple[int, str, str], str] = field(default_factory=dict)
    plans: dict[tuple[int, str, str], Fen] = field(default_factory=dict)
    cycle_records: dict[tuple[str, int], Cycle] = field(default_factory=dict)
    decisions: dict[tuple[str, int], FundingDecision] = field(default_factory=dict)
    unit_records: dict[str, str] = field(default_factory=dict)
    """Unit name → code."""

    def units(self) -> list[Unit]:
        return [Unit(code, name) for name, code in self.unit_records.items()]

    def unit_codes(self, names: Collection[str]) -> dict[str, str]:
        return {n: self.unit_records[n] for n in names if n in self.unit_records}

    def register_units(self, names: Collection[str]) -> dict[str, str]:
        taken = set(self.unit_records.values())
        unseen = [n for n in names if n not in self.unit_records]
        last = max(map(code_number, taken), default=0)
        self.unit_records |= new_codes(unseen, taken, last)
        return {n: self.unit_records[n] for n in names}

    def unit_names(self, codes: Collection[str]) -> dict[str, str]:
        return {c: n for n, c in self.unit_records.items() if c in codes}

    def _with_cycles(self, studio: Studio) -> Studio:
        ends = [c.last_year for (code, _), c in self.cycle_records.items() if code == studio.code]
        return replace(studio, cycle_end_year=max(ends)) if ends else studio

    def cycles(self, studios: Collection[str] | None = None) -> list[Cycle]:
        return [
            c
            for _, c in sorted(self.cycle_records.items())
            if studios is None or c.studio in studios
        ]

    def save_cycles(self, cycles: Sequence[Cycle]) -> None:
        for c in cycles:
            stored = self.cycle_records.get((c.studio, c.number))
            if stored is None or stored.closed_on is None:
                self.cycle_records[(c.studio, c.number)] = c

    def close_cycle(self, cycle: Cycle, at: datetime) -> None:
        assert self.cycle_records[(cycle.studio, cycle.number)].closed_on is None
        self.cycle_records[(cycle.studio, cycle.number)] = cycle

    def funding_decisions(self, year: int) -> dict[str, FundingDecision]:
        return {studio: d for (studio, y), d in self.decisions.items() if y == year}

    def add_funding_decision(self, decision: FundingDecision) -> None:
        assert (decision.studio, decision.year) not in self.decisions
        self.decisions[(decision.studio, decision.year)] = decision

    def policies(self) -> list[Policy]:
        return sorted(self.policy_records, key=lambda p: p.year)

    def add_policy(self, policy: Policy, created_by: str) -> None:
        self.policy_records.append(policy)

    def studios(self) -> list[Studio]:
        return [self._with_cycles(self.studio_records[c]) for c in sorted(self.studio_records)]

    def studios_of(self, codes: Collection[str]) -> list[Studio]:
        return [
            self._with_cycles(self.studio_records[c])
            for c in sorted(set(codes))
            if c in self.studio_records
        ]

    def people(self) -> list[Person]:
        return [self.person_records[c] for c in sorted(self.person_records)]

    def people_of(self, codes: Collection[str]) -> list[Person]:
        return [self.person_records[c] for c in sorted(set(codes)) if c in self.person_records]

    def find_people(self, search: Search, after: str, limit: int) -> list[Person]:
        def found(p: Person) -> bool:
            places = {
                m.studio.upper() for m in self.membership_records.values() if m.person == p.code
            }
            return (
                not search
                or search.text in p.name
                or search.code in places
                or (search.last_four is not None and p.id_number.endswith(search.last_four))
            )

        return [p for p in self.people() if p.code > after and found(p)][:limit]

    def find_studios(self, search: Search, after: str, limit: int) -> list[Studio]:
        return [
            s
            for s in self.studios()
            if s.code > after
            and (
                not search
                or search.code in s.code.upper()
                or search.text in s.name
                or search.text in s.host_unit
            )
        ][:limit]

    def places_of(self, person: str) -> list[Membership]:
        return sorted(
            (m for m in self.membership_records.values() if m.person == person),
            key=lambda m: (m.joined_on, m.studio),
        )

    def payee_code(self, id_number: str) -> str | None:
        return next(
            (p.code for p in self.person_records.values() if p.id_number == id_number), None
        )

    def payee_codes(self, id_numbers: Collection[str]) -> dict[str, str]:
        wanted = set(id_numbers)
        return {p.id_number: p.code for p in self.person_records.values() if p.id_number in wanted}

    def memberships(self) -> list[Membership]:
        return list(self.membership_records.values())

    def memberships_of(self, studios: Collection[str]) -> list[Membership]:
        return [m for m in self.membership_records.values() if m.studio in studios]

    def save_studios(self, studios: Sequence[Studio]) -> int:
        kept = [replace(s, cycle_end_year=None) for s in studios]  # its cycles say that
        changed = sum(1 for s in kept if self.studio_records.get(s.code) != s)
        self.studio_records.update({s.code: s for s in kept})
        return changed

    def save_people(self, people: Sequence[PersonInput]) -> tuple[dict[str, str], int]:
        by_id = {p.id_number: p for p in self.person_records.values()}
        codes: dict[str, str] = {}
        changed = 0
        for p in people:
            known = by_id.get(p.id_number)
            code = known.code if known else f"P{len(self.person_records) + 1:06d}"
            person = Person(code, p.id_number, p.name, p.unit, p.bank_name, p.bank_account)
            if known != person:
                self.person_records[code] = by_id[p.id_number] = person
                changed += 1
            codes[p.id_number] = code
        return codes, changed

    def save_memberships(self, memberships: Sequence[Membership]) -> int:
        changed = 0
        for m in memberships:
            key = (m.studio, m.person, m.joined_on)
            if self.membership_records.get(key) != m:
                self.membership_records[key] = m
                changed += 1
        return changed

    def studio_grades(self, year: int, studios: Collection[str] | None = None) -> dict[str, str]:
        return {
            s: g
            for (y, s, p), g in self.grade_records.items()
            if y == year and not p and (studios is None or s in studios)
        }

    def person_grades(
        self, year: int, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], str]:
        codes = {p.id_number: p.code for p in self.person_records.values()}
        return {
            (s, codes[p]): g
            for (y, s, p), g in self.grade_records.items()
            if y == year and p and (studios is None or s in studios)
        }

    def save_grades(self, grades: Sequence[Grade]) -> int:
        changed = 0
        for g in grades:
            key = (g.year, g.studio, g.id_number)
            if self.grade_records.get(key) != g.grade:
                self.grade_records[key] = g.grade
                changed += 1
        return changed

    def expense_plans(self, year: int) -> dict[tuple[str, str], Fen]:
        return {(s, c): amount for (y, s, c), amount in self.plans.items() if y == year}

    def save_expense_plans(self, plans: Sequence[ExpensePlan]) -> int:
        for plan in plans:
            self.plans[(plan.year, plan.studio, plan.category)] = plan.amount
        return len(plans)


@dataclass
class FakeUsers:
    by_name: dict[str, tuple[UserRecord, str]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    ended: list[tuple[str, str | None]] = field(default_factory=list)  # sessions ended

    def user(self, name: str) -> User | None:
        found = self.by_name.get(name)
        return None if found is None or found[0].disabled else User(name, found[0].role)

    def token_holder(self, token_hash: str) -> UserRecord | None:
        found = [r for r, stored in self.by_name.values() if stored == token_hash]
        return found[0] if found else None

    def note_token_use(self, name: str, at: datetime) -> None:
        record, stored = self.by_name[name]
        self.by_name[name] = (replace(record, token_last_used_at=at), stored)

    def record(self, name: str) -> UserRecord | None:
        found = self.by_name.get(name)
        return found[0] if found else None

    def records(self) -> list[UserRecord]:
        return [self.by_name[n][0] for n in sorted(self.by_name)]

    def add_user(
        self,
        user: User,
        token_hash: str,
        *,
        created_by: str | None = None,
        awaiting: bool = False,
        id_number: str | None = None,
    ) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        record = UserRecord(
            user.name, user.role, awaiting, now, now, None, created_by, awaiting, None, id_number
        )
        self.by_name[user.name] = (record, token_hash)

    def disable(self, name: str) -> None:
        record, stored = self.by_name[name]
        self.by_name[name] = (replace(record, disabled=True, awaiting_confirmation=False), stored)

    def confirm(self, name: str, by: str) -> None:
        record, stored = self.by_name[name]
        confirmed = replace(record, disabled=False, awaiting_confirmation=False, confirmed_by=by)
        self.by_name[name] = (confirmed, stored)

    def set_token(self, name: str, token_hash: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        record = replace(self.by_name[name][0], token_issued_at=now, token_last_used_at=None)
        self.by_name[name] = (record, token_hash)

    def password_hash(self, name: str) -> str | None:
        return self.passwords.get(name)

    def set_password_hash(self, name: str, password_hash: str) -> None:
        self.passwords[name] = password_hash

    def end_sessions(self, name: str, keep: str | None = None) -> int:
        self.ended.append((name, keep))
        return 0


@dataclass
class FakeBatches:
    """Batches in memory: it keeps what the services store and hands back what they
    ask for, with the aggregate's own sets (:class:`BatchState`, :class:`LineStatus`)
    deciding which lines commit funds or are unsettled, as the SQL store is told to."""

    ledger: FakeLedger
    stored: dict[int, Batch] = field(default_factory=dict)
    keys: dict[int, str | None] = field(default_factory=dict)  # line id → its paid key
    events_of: dict[int, list[BatchEvent]] = field(default_factory=dict)
    line_ids: int = 0

    def _lines(self) -> Iterator[tuple[Batch, BatchLine]]:
        return ((b, x) for b in self.stored.values() for x in b.lines)

    def state_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for b in self.stored.values():
            counts[b.state.value] = counts.get(b.state.value, 0) + 1
        return counts

    def paid_keys(self, year: int, studios: Collection[str] | None = None) -> dict[str, int]:
        return {
            key: b.id
            for b, x in self._lines()
            if x.year == year
            and (studios is None or x.studio in studios)
            and (key := self.keys[x.id]) is not None
        }

    def paid_keys_of(self, studio: str) -> set[str]:
        return {key for _, x in self._lines() if x.studio == studio and (key := self.keys[x.id])}

    def draft_commitments(
        self, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], Fen]:
        committed: dict[tuple[str, str], Fen] = {}
        for b, x in self._lines():
            if studios is not None and x.studio not in studios:
                continue
            if b.state.commits_funds and x.moves_on_approval:
                for source, amount in x.split.items():
                    committed[(x.studio, source)] = committed.get((x.studio, source), 0) + amount
        return committed

    def paid_lines(
        self, people: Sequence[str] | None, month: Period
    ) -> list[tuple[date, BatchLine]]:
        found = []
        for _, x in self._lines():
            paid = self.ledger.get(x.payment_seq) if x.payment_seq else None
            if (
                (people is None or x.person in people)
                and paid
                and Period.of(paid.effective_date) == month
            ):
                found.append((paid.effective_date, x))
        return found

    def lines_of(
        self, *, studio: str | None = None, person: str | None = None, limit: int
    ) -> list[tuple[int, date | None, BatchLine]]:
        found = []
        for b, x in sorted(self._lines(), key=lambda bx: (-bx[0].id, bx[1].number)):
            if (studio is None or x.studio == studio) and (person is None or x.person == person):
                paid = self.ledger.get(x.payment_seq) if x.payment_seq else None
                found.append((b.id, paid.effective_date if paid else None, x))
        return found[:limit]

    def unanswered(
        self, people: Sequence[str], *, excluding: int | None = None
    ) -> list[tuple[BatchState, BatchLine]]:
        return [
            (b.state, x)
            for b, x in self._lines()
            if x.person in people
            and b.id != excluding
            and x.status == LineStatus.PENDING
            and b.state in (BatchState.DRAFT, BatchState.APPROVED)
        ]

    def waiting_batches(self) -> list[tuple[int, str]]:
        return [
            (b.id, b.pay_month)
            for b in self.stored.values()
            if b.state == BatchState.APPROVED
            and any(x.status == LineStatus.PENDING for x in b.lines)
        ]

    def refunds(self, people: Sequence[str] | None, month: Period) -> dict[str, Fen]:
        given: dict[str, Fen] = {}
        for _, x in self._lines():
            if (people is None or x.person in people) and x.refund_month == str(month):
                given[x.person] = given.get(x.person, 0) + x.refund
        return given

    def insert_batch(
        self, batch: Batch, lines: Sequence[PlannedLine], reissues: Sequence[BatchLine]
    ) -> int:
        batch_id = len(self.stored) + 1
        self.stored[batch_id] = replace(batch, id=batch_id, lines=())
        self.add_lines(batch_id, 1, lines)
        made = list(self.stored[batch_id].lines)
        for number, failed in enumerate(reissues, start=len(made) + 1):
            self.line_ids += 1
            made.append(
                replace(
                    failed,
                    id=self.line_ids,
                    number=number,
                    status=LineStatus.PENDING,
                    failure_reason=None,
                    reissue_of=failed.id,
                    approval_seq=None,
                    approval_positions=(),
                    payment_seq=None,
                    final_tax=None,
                    final_net=None,
                    refund_month=None,
                )
            )
            self.keys[self.line_ids] = None
        self.stored[batch_id] = replace(self.stored[batch_id], lines=tuple(made))
        return batch_id

    def add_lines(self, batch_id: int, first: int, lines: Iterable[PlannedLine]) -> None:
        batch = self.stored[batch_id]
        made = list(batch.lines)
        assert first == len(made) + 1, "lines are numbered on from the last, no gap, no clash"
        for number, planned in enumerate(lines, start=first):
            e, self.line_ids = planned.entitlement, self.line_ids + 1
            made.append(
                BatchLine(
                    self.line_ids, number, e.year, e.studio, e.person, e.role, e.months,
                    e.grade or "", e.ratio, planned.gross, dict(planned.split), planned.tax,
                    planned.net, e.explanation, LineStatus.PENDING,
                )
            )  # fmt: skip
            key = paid_key(e.year, e.studio, e.person, e.role)
            assert key not in self.keys.values(), f"{key} paid twice (unique in the database)"
            self.keys[self.line_ids] = key
        self.stored[batch_id] = replace(batch, lines=tuple(made))

    def save_planned_taxes(self, lines: Iterable[BatchLine]) -> None:
        planned = {x.id: x for x in lines}
        for batch_id, batch in self.stored.items():
            if any(x.id in planned for x in batch.lines):
                self.stored[batch_id] = replace(
                    batch,
                    lines=tuple(
                        replace(x, tax=planned[x.id].tax, net=planned[x.id].net)
                        if x.id in planned
                        else x
                        for x in batch.lines
                    ),
                )

    def set_totals(self, batch_id: int, gross: Fen, tax: Fen, approvals_needed: int) -> None:
        self.stored[batch_id] = replace(
            self.stored[batch_id], gross=gross, tax=tax, approvals_needed=approvals_needed
        )

    def batch(self, batch_id: int, *, lock: bool = False, lines: bool = True) -> Batch | None:
        found = self.stored.get(batch_id)
        if found is None or lines:
            return found
        return replace(found, lines=(), tally=LineTally())

    def line_chunks(
        self, batch_id: int, size: int, *, by_payee: bool = False
    ) -> Iterator[list[BatchLine]]:
        lines = self.stored[batch_id].lines
        if by_payee:
            lines = tuple(sorted(lines, key=lambda x: (x.person, x.number)))
        for start in range(0, len(lines), size):
            yield list(lines[start : start + size])

    def batches(self, year: int | None = None, *, lines: bool = True) -> list[Batch]:
        found = [b for b in self.stored.values() if year is None or b.year == year]
        return found if lines else [replace(b, lines=(), tally=LineTally()) for b in found]

    def unresolved_failures(self, year: int) -> list[BatchLine]:
        return [x for _, x in self._lines() if x.year == year and x.status == LineStatus.FAILED]

    def unsettled_lines(self, studio: str) -> list[tuple[int, int, str]]:
        return [
            (b.id, x.number, x.status.value)
            for b, x in self._lines()
            if x.studio == studio and x.status.unsettled and b.state.active
        ]

    def add_approval(self, batch_id: int, approver: str, at: datetime) -> None:
        b = self.stored[batch_id]
        self.stored[batch_id] = replace(b, approved_by=(*b.approved_by, approver))

    def set_state(self, batch_id: int, state: BatchState) -> None:
        self.stored[batch_id] = replace(self.stored[batch_id], state=state)

    def add_event(self, event: BatchEvent) -> None:
        self.events_of.setdefault(event.batch_id, []).append(event)

    def events(self, batch_id: int) -> list[BatchEvent]:
        return list(self.events_of.get(batch_id, []))

    def save_lines(self, lines: Iterable[BatchLine]) -> None:
        new = {x.id: x for x in lines}
        for batch_id, b in self.stored.items():
            kept = tuple(
                replace(
                    x,
                    **{f: getattr(new[x.id], f) for f in LINE_STEP_FIELDS},  # figures never change
                )
                if x.id in new
                else x
                for x in b.lines
            )
            self.stored[batch_id] = replace(b, lines=kept)

    def lines_by_id(self, ids: Collection[int]) -> list[BatchLine]:
        wanted = set(ids)
        return [x for b in self.stored.values() for x in b.lines if x.id in wanted]

    def release_paid_keys(self, batch_id: int) -> None:
        for x in self.stored[batch_id].lines:
            self.keys[x.id] = None


class FakeAttachments:
    """Originals in memory (:class:`ledger.books.attachments.AttachmentStore`)."""

    def __init__(self) -> None:
        self.records: list[Attachment] = []
        self.contents: dict[str, bytes] = {}

    def last(self) -> tuple[int, str]:
        return (self.records[-1].id, self.records[-1].hash) if self.records else (0, GENESIS_HASH)

    def add(self, attachment: Attachment, content: bytes | None) -> None:
        if content is not None:
            self.contents[attachment.sha256] = content
        self.records.append(attachment)

    def has_content(self, sha256: str) -> bool:
        return sha256 in self.contents

    def content(self, sha256: str) -> bytes | None:
        return self.contents.get(sha256)

    def get(self, attachment_id: int) -> Attachment | None:
        return next((a for a in self.records if a.id == attachment_id), None)

    def of_voucher(self, voucher_seq: int) -> list[Attachment]:
        return [a for a in self.records if a.voucher_seq == voucher_seq]

    def by_origin(self, origin: str) -> list[Attachment]:
        return [a for a in self.records if a.origin == origin]

    def counts(self, voucher_seqs: Iterable[int]) -> dict[int, int]:
        wanted = set(voucher_seqs)
        counted: dict[int, int] = {}
        for a in self.records:
            if a.voucher_seq in wanted:
                counted[a.voucher_seq] = counted.get(a.voucher_seq, 0) + 1
        return counted

    def iter_all(self) -> Iterator[Attachment]:
        return iter(list(self.records))

    def iter_digests(self) -> Iterator[tuple[str, int, str]]:
        for sha256, content in sorted(self.contents.items()):
            yield sha256, len(content), hashlib.sha256(content).hexdigest()


@dataclass
class FakeStores:
    """A unit of work's stores, in memory: what ``program`` and batch services are given."""

    ledger: FakeLedger = field(default_factory=FakeLedger)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    users: FakeUsers = field(default_factory=FakeUsers)
    batches: FakeBatches = field(init=False)
    attachments: FakeAttachments = field(default_factory=FakeAttachments)

    def __post_init__(self) -> None:
        self.batches = FakeBatches(self.ledger)


def whole(stores: Any, outcome: Outcome) -> Outcome:
    """``outcome`` with its batch whole, read afresh from ``stores``: approval and the
    bank's answer return a batch without its lines (they work a chunk at a time)."""
    return replace(outcome, batch=with_lines(stores, outcome.batch))


def created(stores: Any, year: int, by: str, on: date) -> CreatedBatch:
    """:func:`ledger.batches.disbursement.create` with the new batch's lines read back
    (the service returns its totals: it writes a batch a chunk at a time)."""
    made = create(stores, year, by, on)
    return replace(made, batch=with_lines(stores, made.batch))
