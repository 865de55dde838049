"""The ledger's storage on SQLAlchemy: implements :class:`ledger.book.LedgerStore`.

Writes are set-based: :meth:`SqlLedgerStore.append` sends one statement per
table for a whole call of :func:`ledger.book.post`, however many transactions
it holds. Postings and transactions are only ever inserted.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Final, TypeVar

from sqlalchemy import (
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from ledger.books.accounts import Account, account_kind, may_go_negative
from ledger.books.book import AccountEntry, AccountState, ChainHead
from ledger.books.chain_keys import KeyRing
from ledger.books.daily_balances import Day, DayRow, DayWrite
from ledger.books.periods import Closing, Period
from ledger.books.postings import NewTransaction, Posting, Transaction, Voucher, utc_now
from ledger.money import Fen
from schema.bulk import insert_rows, update_rows
from schema.keys import KeySource
from schema.tables import (
    LEDGER_TABLES,
    LEDGER_TRIGGERS,
    AccountRow,
    Base,
    ChainHeadRow,
    DailyBalanceRow,
    PeriodClosingRow,
    PostingRow,
    TransactionRow,
    VoucherCounterRow,
    ledger_constraints,
)

# The ledger writes with Core statements on the tables: no ORM unit-of-work
# bookkeeping per row, one executemany per table.
_TABLES: Final = Base.metadata.tables
_TRANSACTIONS: Final = _TABLES[TransactionRow.__tablename__]
_POSTINGS: Final = _TABLES[PostingRow.__tablename__]
_ACCOUNTS: Final = _TABLES[AccountRow.__tablename__]
_CHAIN_HEAD: Final = _TABLES[ChainHeadRow.__tablename__]
_VOUCHER_COUNTERS: Final = _TABLES[VoucherCounterRow.__tablename__]
_DAYS: Final = _TABLES[DailyBalanceRow.__tablename__]

# A balance is read once per request: its statements are built once (building one costs
# more than running it on an index).
_ACCOUNT_BALANCE: Final = select(AccountRow.id, AccountRow.balance).where(
    AccountRow.address == bindparam("address")
)
_CLOSING_ON: Final = (
    select(_DAYS.c.closing)
    .where(_DAYS.c.account_id == bindparam("account"), _DAYS.c.day <= bindparam("day"))
    .order_by(_DAYS.c.day.desc())
    .limit(1)
)
_SET_VOUCHER_COUNTER: Final = (
    update(_VOUCHER_COUNTERS)
    .where(
        _VOUCHER_COUNTERS.c.year == bindparam("counter_year"),
        _VOUCHER_COUNTERS.c.month == bindparam("counter_month"),
    )
    .values(last_number=bindparam("new_number"))
)

READ_CHUNK: Final = 5_000
"""Transactions read per round trip when walking the whole chain."""

IN_CHUNK: Final = 5_000
"""Bound parameters per ``IN (...)``: SQLite allows 32,766 and large lists plan badly."""


T = TypeVar("T")


_CONSTRAINT_NAME: Final = re.compile(r"CONSTRAINT (\w+)")


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def take_turns(session: Session, key: str) -> None:
    """Serialise, until the transaction ends, the transactions that name the same ``key``
    (a PostgreSQL advisory lock; SQLite's writers take turns already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})


class SqlLedgerStore:
    """Ledger storage in the unit of work's session (which it never commits)."""

    def __init__(self, session: Session, keys: KeySource) -> None:
        self.session = session
        self.keys = keys
        self._account_ids: dict[Account, int] = {}
        self._locked: dict[Account, int] = {}  # the ids the last lock read: current for sure
        self._opened: set[Account] = set()

    # -- the chain key ring, outside the database (schema/keys.py) --------------

    def chain_keys(self) -> KeyRing:
        return self.keys.load()

    def has_chain_keys(self) -> bool:
        return self.keys.exists()

    def chain_key_source(self) -> str:
        return str(self.keys)

    def save_chain_keys(self, ring: KeyRing, *, new: bool) -> None:
        self.keys.save(ring, new=new)

    # -- writing --------------------------------------------------------------

    def lock_head(self) -> ChainHead:
        row = self.session.execute(
            select(ChainHeadRow.last_seq, ChainHeadRow.last_hash, ChainHeadRow.key_id)
            .where(ChainHeadRow.id == 1)
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise RuntimeError("the chain head row is missing: run `studio-ledger db upgrade`")
        return ChainHead(row.last_seq, row.last_hash, row.key_id)

    def lock_accounts(self, addresses: Sequence[Account]) -> dict[Account, AccountState]:
        self._locked = {}
        states = self._lock_existing(addresses)
        missing = [a for a in addresses if a not in states]
        self._opened = set(missing)  # no days yet: days_from need not read theirs
        if missing:
            self._open_new(missing)
            states.update(self._lock_existing(missing))
        return states

    def _lock_existing(self, addresses: Sequence[Account]) -> dict[Account, AccountState]:
        states: dict[Account, AccountState] = {}
        for chunk in chunks(addresses):
            query = (
                select(
                    AccountRow.id,
                    AccountRow.address,
                    AccountRow.balance,
                    AccountRow.may_go_negative,
                )
                .where(AccountRow.address.in_(chunk))
                .order_by(AccountRow.address)
            )
            query = query.with_for_update()
            for row in self.session.execute(query):
                self._account_ids[row.address] = self._locked[row.address] = row.id
                states[row.address] = AccountState(row.address, row.balance, row.may_go_negative)
        return states

    def last_voucher_numbers(self, months: Iterable[Period]) -> dict[Period, int]:
        wanted = sorted(set(months))
        found: dict[Period, int] = {}
        for year in sorted({p.year for p in wanted}):
            rows = self.session.execute(
                select(
                    VoucherCounterRow.year, VoucherCounterRow.month, VoucherCounterRow.last_number
                )
                .where(
                    VoucherCounterRow.year == year,
                    VoucherCounterRow.month.in_([p.month for p in wanted if p.year == year]),
                )
                .with_for_update()
            )
            found.update({Period(y, m): n for y, m, n in rows})
        return {month: found.get(month, 0) for month in wanted}

    def closed_through(self) -> Period | None:
        last = self.session.scalar(select(func.max(PeriodClosingRow.closed_through)))
        return None if last is None else Period.of(last)

    def closings(self) -> list[Closing]:
        rows = self.session.execute(
            select(
                PeriodClosingRow.closed_through,
                PeriodClosingRow.closed_by,
                PeriodClosingRow.closed_at,
            ).order_by(PeriodClosingRow.closed_through)
        )
        return [Closing(Period.of(through), by, at) for through, by, at in rows]

    def add_closing(self, closing: Closing) -> None:
        self.session.add(
            PeriodClosingRow(
                closed_through=closing.through.last_day,
                closed_by=closing.by,
                closed_at=closing.at,
            )
        )
        self.session.flush()

    def last_vouchers(self) -> dict[Period, int]:
        """The last voucher number of every month that has one."""
        rows = self.session.execute(
            select(VoucherCounterRow.year, VoucherCounterRow.month, VoucherCounterRow.last_number)
        )
        return {Period(y, m): n for y, m, n in rows}

    def days_from(self, starts: Mapping[Account, date]) -> dict[Account, dict[date, Day]]:
        """One indexed range read per chunk of accounts sharing a start (a write's accounts
        mostly share its one date), by the ids the account lock just read (else by address:
        an id cached before a savepoint rolled back may name another account by now); an
        account that lock opened has no days to read."""
        by_start: dict[date, list[Account]] = {}
        for address, start in starts.items():
            if address not in self._opened:
                by_start.setdefault(start, []).append(address)
        ids, self._opened, self._locked = self._locked, set(), {}
        found: dict[Account, dict[date, Day]] = {}
        for start, wanted in by_start.items():
            for chunk in chunks(wanted):
                rows: Iterable[tuple[Any, ...]]
                if all(a in ids for a in chunk):
                    addresses = {ids[a]: a for a in chunk}
                    query = select(
                        _DAYS.c.account_id, _DAYS.c.day, _DAYS.c.moved, _DAYS.c.closing
                    ).where(_DAYS.c.account_id.in_(list(addresses)), _DAYS.c.day >= start)
                    rows = (
                        (addresses[i], day, moved, closing)
                        for i, day, moved, closing in self.session.execute(query)
                    )
                else:
                    rows = self.session.execute(
                        select(AccountRow.address, _DAYS.c.day, _DAYS.c.moved, _DAYS.c.closing)
                        .join(_DAYS, _DAYS.c.account_id == AccountRow.id)
                        .where(AccountRow.address.in_(chunk), _DAYS.c.day >= start)
                    )
                for address, day, day_moved, closing in rows:
                    found.setdefault(address, {})[day] = Day(int(day_moved), int(closing))
        return found

    def append(
        self,
        transactions: Sequence[Transaction],
        balances: Mapping[Account, Fen],
        days: Sequence[DayWrite],
        key_id: str | None,
    ) -> None:
        connection = self.session.connection()
        insert_rows(connection, _TRANSACTIONS, [transaction_row(t) for t in transactions])
        insert_rows(connection, _POSTINGS, posting_rows(transactions, self._account_ids))
        self.write_accounts(balances, days)
        self._seal(transactions, key_id)

    # -- one voucher too large to hold, a chunk at a time (book.post_in_chunks) -------

    def write_postings(
        self, transaction: Transaction, postings: Iterable[Sequence[Posting]]
    ) -> None:
        connection = self.session.connection()
        insert_rows(connection, _TRANSACTIONS, [transaction_row(transaction)])
        start = 0
        for chunk in postings:
            ids = self._open({a for p in chunk for a in (p.source, p.destination)})
            insert_rows(connection, _POSTINGS, chunk_rows(transaction.seq, chunk, ids, start=start))
            start += len(chunk)

    def _open(self, addresses: Collection[Account]) -> dict[Account, int]:
        """The ids of ``addresses``, opening the accounts not opened yet (unlocked: the
        movements are locked a chunk at a time afterwards)."""
        ids: dict[Account, int] = {}
        for chunk in chunks(sorted(addresses)):
            query = select(AccountRow.address, AccountRow.id).where(AccountRow.address.in_(chunk))
            ids.update((address, id_) for address, id_ in self.session.execute(query))
        if missing := [a for a in addresses if a not in ids]:
            self._open_new(missing)
            ids.update(self._open(missing))
        return ids

    def _open_new(self, addresses: Iterable[Account]) -> None:
        """Open accounts not opened yet, at a zero balance, of the kind each address names."""
        opened_at = utc_now()
        insert_rows(
            self.session.connection(),
            _ACCOUNTS,
            (
                {
                    "address": a,
                    "kind": account_kind(a),
                    "may_go_negative": may_go_negative(a),
                    "balance": 0,
                    "opened_at": opened_at,
                }
                for a in addresses
            ),
        )

    def movements(self, seq: int, size: int) -> Iterator[dict[Account, Fen]]:
        """One grouped read of the transaction's postings (the only table it reads, so
        the balances and days written between chunks do not disturb it), streamed
        ``size`` accounts at a time; each chunk's addresses read by id."""
        legs = union_all(
            select(
                PostingRow.destination_account_id.label("account_id"),
                PostingRow.amount.label("amount"),
            ).where(PostingRow.transaction_seq == seq),
            select(
                PostingRow.source_account_id.label("account_id"),
                (-PostingRow.amount).label("amount"),
            ).where(PostingRow.transaction_seq == seq),
        ).subquery()
        query = (
            select(legs.c.account_id, func.sum(legs.c.amount))
            .group_by(legs.c.account_id)
            .order_by(legs.c.account_id)
            .execution_options(yield_per=size)
        )
        for part in self.session.execute(query).partitions():
            moved = {int(account): int(total) for account, total in part}
            addresses = dict(
                self.session.execute(
                    select(AccountRow.id, AccountRow.address).where(AccountRow.id.in_(moved))
                ).all()
            )
            yield {addresses[i]: total for i, total in moved.items()}

    def write_accounts(self, balances: Mapping[Account, Fen], days: Sequence[DayWrite]) -> None:
        """The kept balances and days of accounts the last lock read; the ids it cached
        serve this write only."""
        connection = self.session.connection()
        ids = self._account_ids
        update_rows(
            connection,
            _ACCOUNTS,
            ("id",),
            ({"id": ids[a], "balance": b} for a, b in balances.items()),
        )

        def day_rows(*, new: bool) -> Iterator[dict[str, Any]]:
            for address, day, kept, is_new in days:
                if is_new is new:
                    yield {
                        "account_id": ids[address],
                        "day": day,
                        "moved": kept.moved,
                        "closing": kept.closing,
                    }

        insert_rows(connection, _DAYS, day_rows(new=True))
        update_rows(connection, _DAYS, ("account_id", "day"), day_rows(new=False))
        self._account_ids = {}

    def seal_head(self, transaction: Transaction, key_id: str | None) -> None:
        self._seal([transaction], key_id)

    def _seal(self, transactions: Sequence[Transaction], key_id: str | None) -> None:
        """The vouchers' counters and the chain head at the last of ``transactions``."""
        self._advance_voucher_counters(transactions)
        last = transactions[-1]
        self.session.connection().execute(
            update(_CHAIN_HEAD)
            .where(_CHAIN_HEAD.c.id == 1)
            .values(last_seq=last.seq, last_hash=last.hash, key_id=key_id)
        )

    def _advance_voucher_counters(self, transactions: Sequence[Transaction]) -> None:
        last_by_month: dict[tuple[int, int], int] = {}
        for t in transactions:
            last_by_month[(t.voucher.year, t.voucher.month)] = t.voucher.number
        existing = {
            (y, m)
            for y, m in self.session.execute(
                select(VoucherCounterRow.year, VoucherCounterRow.month).where(
                    tuple_(VoucherCounterRow.year, VoucherCounterRow.month).in_(list(last_by_month))
                )
            )
        }
        rows = [
            {"counter_year": y, "counter_month": m, "new_number": n}
            for (y, m), n in last_by_month.items()
        ]
        execute = self.session.connection().execute
        if new := [r for r in rows if (r["counter_year"], r["counter_month"]) not in existing]:
            execute(
                insert(_VOUCHER_COUNTERS).values(
                    year=bindparam("counter_year"),
                    month=bindparam("counter_month"),
                    last_number=bindparam("new_number"),
                ),
                new,
            )
        if old := [r for r in rows if (r["counter_year"], r["counter_month"]) in existing]:
            execute(_SET_VOUCHER_COUNTER, old)

    # -- reading --------------------------------------------------------------

    def find_by_keys(self, keys: Iterable[str]) -> dict[str, Transaction]:
        found: dict[str, Transaction] = {}
        for chunk in chunks(sorted(keys)):
            for t in self._load(TransactionRow.idempotency_key.in_(chunk)):
                found[t.request.idempotency_key] = t
        return found

    def get(self, seq: int) -> Transaction | None:
        return next(iter(self._load(TransactionRow.seq == seq)), None)

    def voucher_seq(self, voucher: Voucher) -> int | None:
        return self.session.scalar(
            select(TransactionRow.seq).where(
                TransactionRow.voucher_year == voucher.year,
                TransactionRow.voucher_month == voucher.month,
                TransactionRow.voucher_number == voucher.number,
            )
        )

    def reversed_positions(self, seq: int) -> set[int]:
        return set(
            self.session.scalars(
                select(PostingRow.reverses_position).where(PostingRow.reverses_seq == seq)
            )
        )

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
        """Transactions after sequence number ``after``, oldest first, filtered."""
        conditions = [TransactionRow.seq > after]
        if from_date is not None:
            conditions.append(TransactionRow.effective_date >= from_date)
        if to_date is not None:
            conditions.append(TransactionRow.effective_date <= to_date)
        if account is not None or studio is not None:
            touched = select(AccountRow.id)
            if account is not None:
                touched = touched.where(AccountRow.address == account)
            if studio is not None:
                touched = touched.where(  # autoescape: a code's _ or % is no wildcard
                    AccountRow.address.startswith(f"studio:{studio}:", autoescape=True)
                    | (
                        AccountRow.address.startswith("expense:")
                        & AccountRow.address.endswith(f":studio:{studio}", autoescape=True)
                    )
                )
            conditions.append(
                TransactionRow.seq.in_(
                    select(PostingRow.transaction_seq).where(
                        PostingRow.source_account_id.in_(touched)
                        | PostingRow.destination_account_id.in_(touched)
                    )
                )
            )
        return self._load(and_(*conditions), limit=limit)

    def iter_account_entries(
        self, address: Account, start: date, end: date
    ) -> Iterator[AccountEntry]:
        """The account's postings effective from ``start`` to ``end``, month by month and
        in voucher order within a month, read ``READ_CHUNK`` at a time by keyset so
        memory stays flat."""
        account_id = self.session.scalar(select(AccountRow.id).where(AccountRow.address == address))
        if account_id is None:
            return
        order = (
            TransactionRow.voucher_year,
            TransactionRow.voucher_month,
            TransactionRow.seq,
            PostingRow.position,
        )
        key: tuple[int, int, int, int] = (0, 0, 0, -1)
        touches = (PostingRow.source_account_id == account_id) | (
            PostingRow.destination_account_id == account_id
        )
        while True:
            rows = self.session.execute(
                select(
                    *order,
                    TransactionRow.effective_date,
                    TransactionRow.voucher_number,
                    TransactionRow.memo,
                    PostingRow.memo,
                    TransactionRow.reverses_seq,
                    PostingRow.destination_account_id,
                    PostingRow.amount,
                )
                .join(TransactionRow, TransactionRow.seq == PostingRow.transaction_seq)
                .where(
                    touches,
                    TransactionRow.effective_date >= start,
                    TransactionRow.effective_date <= end,
                    tuple_(*order) > tuple_(*key),
                )
                .order_by(*order)
                .limit(READ_CHUNK)
            ).all()
            for vy, vm, seq, _, on, vn, memo, line_memo, reverses, destination, amount in rows:
                inflow = destination == account_id
                yield AccountEntry(
                    on,
                    seq,
                    Voucher(vy, vm, vn),
                    line_memo or memo,
                    reverses,
                    amount if inflow else 0,
                    0 if inflow else amount,
                )
            if len(rows) < READ_CHUNK:
                return
            last = rows[-1]
            key = (last[0], last[1], last[2], last[3])

    def balances_as_of(self, as_of: date) -> dict[Account, Fen]:
        """Every account's balance at the end of ``as_of``: the closing of its latest
        day on or before it (zero for an account that had not moved yet)."""
        latest = (
            select(_DAYS.c.account_id, func.max(_DAYS.c.day).label("day"))
            .where(_DAYS.c.day <= as_of)
            .group_by(_DAYS.c.account_id)
            .subquery()
        )
        closings = dict(
            self.session.execute(
                select(_DAYS.c.account_id, _DAYS.c.closing).join(
                    latest,
                    and_(_DAYS.c.account_id == latest.c.account_id, _DAYS.c.day == latest.c.day),
                )
            ).all()
        )
        names = self.session.execute(select(AccountRow.id, AccountRow.address))
        return {address: int(closings.get(i, 0)) for i, address in names}

    def pair_movements(self, start: date, end: date) -> list[tuple[Account, Account, Fen]]:
        """Money moved between each (source, destination) pair of accounts in the period."""
        source = aliased(AccountRow)
        destination = aliased(AccountRow)
        rows = self.session.execute(
            select(source.address, destination.address, func.sum(PostingRow.amount))
            .join(TransactionRow, TransactionRow.seq == PostingRow.transaction_seq)
            .join(source, source.id == PostingRow.source_account_id)
            .join(destination, destination.id == PostingRow.destination_account_id)
            .where(TransactionRow.effective_date >= start, TransactionRow.effective_date <= end)
            .group_by(source.address, destination.address)
        )
        return [(a, b, int(total)) for a, b, total in rows]

    def dates_of(self, seqs: Collection[int]) -> dict[int, date]:
        found: dict[int, date] = {}
        for chunk in chunks(sorted(set(seqs))):
            rows = self.session.execute(
                select(TransactionRow.seq, TransactionRow.effective_date).where(
                    TransactionRow.seq.in_(chunk)
                )
            ).all()
            found.update(dict(rows))
        return found

    def vouchers_of(self, seqs: Collection[int]) -> dict[int, Voucher]:
        """The 凭证号 of each of these transactions, read in chunks."""
        found: dict[int, Voucher] = {}
        for chunk in chunks(sorted(set(seqs))):
            rows = self.session.execute(
                select(
                    TransactionRow.seq,
                    TransactionRow.voucher_year,
                    TransactionRow.voucher_month,
                    TransactionRow.voucher_number,
                ).where(TransactionRow.seq.in_(chunk))
            )
            found.update({seq: Voucher(y, m, n) for seq, y, m, n in rows})
        return found

    def movements_of(self, addresses: Sequence[Account]) -> list[tuple[Account, Account, Fen]]:
        """Money moved, ever, between each (source, destination) pair where one side is
        among ``addresses`` (read through the posting indexes by account)."""
        ids = dict(
            self.session.execute(
                select(AccountRow.id, AccountRow.address).where(AccountRow.address.in_(addresses))
            ).all()
        )
        if not ids:
            return []
        source = aliased(AccountRow)
        destination = aliased(AccountRow)
        totals: dict[tuple[Account, Account], Fen] = {}
        for side in (PostingRow.source_account_id, PostingRow.destination_account_id):
            rows = self.session.execute(
                select(source.address, destination.address, func.sum(PostingRow.amount))
                .join(source, source.id == PostingRow.source_account_id)
                .join(destination, destination.id == PostingRow.destination_account_id)
                .where(side.in_(list(ids)))
                .group_by(source.address, destination.address)
            )
            for a, b, total in rows:
                totals[(a, b)] = int(total)  # a pair with both sides among them comes twice
        return [(a, b, total) for (a, b), total in totals.items()]

    def head_hash(self) -> tuple[int, str]:
        """The last transaction's sequence number and hash (no lock taken)."""
        row = self.session.execute(select(ChainHeadRow.last_seq, ChainHeadRow.last_hash)).one()
        return int(row[0]), str(row[1])

    def iter_transactions(self) -> Iterator[Transaction]:
        after = 0
        while True:
            chunk = self._load(TransactionRow.seq > after, limit=READ_CHUNK)
            if not chunk:
                return
            yield from chunk
            after = chunk[-1].seq

    def _load(self, condition: Any, limit: int | None = None) -> list[Transaction]:
        query = select(TransactionRow).where(condition).order_by(TransactionRow.seq)
        if limit is not None:
            query = query.limit(limit)
        rows = self.session.scalars(query).all()
        if not rows:
            return []
        postings = self._postings_of([r.seq for r in rows])
        return [_transaction(r, postings.get(r.seq, ())) for r in rows]

    def _postings_of(self, seqs: Sequence[int]) -> dict[int, tuple[Posting, ...]]:
        source = aliased(AccountRow)
        destination = aliased(AccountRow)
        by_seq: dict[int, list[Posting]] = {}
        for chunk in chunks(seqs):
            rows = self.session.execute(
                select(
                    PostingRow.transaction_seq,
                    source.address,
                    destination.address,
                    PostingRow.amount,
                    PostingRow.memo,
                    PostingRow.reverses_position,
                )
                .join(source, source.id == PostingRow.source_account_id)
                .join(destination, destination.id == PostingRow.destination_account_id)
                .where(PostingRow.transaction_seq.in_(chunk))
                .order_by(PostingRow.transaction_seq, PostingRow.position)
            ).all()
            for seq, src, dst, amount, memo, reverses in rows:
                by_seq.setdefault(seq, []).append(Posting(src, dst, amount, memo, reverses))
        return {seq: tuple(postings) for seq, postings in by_seq.items()}

    def balance(self, address: Account, as_of: date | None) -> Fen | None:
        account = self.session.execute(_ACCOUNT_BALANCE, {"address": address}).one_or_none()
        if account is None:
            return None
        if as_of is None:
            return int(account.balance)
        closing = self.session.scalar(_CLOSING_ON, {"account": account.id, "day": as_of})
        return 0 if closing is None else int(closing)

    def current_balances(self, addresses: Sequence[Account]) -> dict[Account, Fen]:
        found: dict[Account, Fen] = {}
        for chunk in chunks(addresses):
            rows = self.session.execute(
                select(AccountRow.address, AccountRow.balance).where(AccountRow.address.in_(chunk))
            )
            found.update({address: int(kept) for address, kept in rows})
        return found

    def missing_guards(self) -> list[str]:
        if self.session.get_bind().dialect.name == "sqlite":
            rows = self.session.execute(
                text("SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'table')")
            ).all()
            triggers = {name for kind, name, _ in rows if kind == "trigger"}
            constraints = {
                found
                for kind, name, sql in rows
                if kind == "table" and name in LEDGER_TABLES
                for found in _CONSTRAINT_NAME.findall(sql or "")
            }
        else:
            triggers = set(
                self.session.scalars(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
                    )
                )
            )
            constraints = set(
                self.session.scalars(
                    text(
                        "SELECT conname FROM pg_constraint WHERE contype IN ('c', 'u') "
                        "AND connamespace = current_schema()::regnamespace"
                    )
                )
            )
        dialect = "sqlite" if self.session.get_bind().dialect.name == "sqlite" else "postgresql"
        return [
            *(f"trigger {t}" for t in LEDGER_TRIGGERS[dialect] if t not in triggers),
            *(f"constraint {c}" for c in ledger_constraints() if c not in constraints),
        ]

    def kept_balances(self) -> dict[Account, Fen]:
        return dict(self.session.execute(select(AccountRow.address, AccountRow.balance)).all())

    def derived_balances(self) -> dict[Account, Fen]:
        by_id = self._sum_postings()
        names = dict(self.session.execute(select(AccountRow.id, AccountRow.address)).all())
        return {names[i]: total for i, total in by_id.items()}

    def iter_kept_days(self) -> Iterator[DayRow]:
        rows = self.session.execute(
            select(_DAYS.c.account_id, AccountRow.address, _DAYS.c.day, _DAYS.c.closing)
            .join(AccountRow, AccountRow.id == _DAYS.c.account_id)
            .order_by(_DAYS.c.account_id, _DAYS.c.day),
            execution_options={"yield_per": READ_CHUNK},
        )
        for account_id, address, day, closing in rows:
            yield int(account_id), address, day, int(closing)

    def iter_day_movements(self) -> Iterator[DayRow]:
        legs = _legs(by_day=True)
        rows = self.session.execute(
            select(legs.c.account_id, AccountRow.address, legs.c.day, func.sum(legs.c.amount))
            .join(AccountRow, AccountRow.id == legs.c.account_id)
            .group_by(legs.c.account_id, AccountRow.address, legs.c.day)
            .order_by(legs.c.account_id, legs.c.day),
            execution_options={"yield_per": READ_CHUNK},
        )
        for account_id, address, day, net in rows:
            yield int(account_id), address, day, int(net)

    def _sum_postings(self) -> dict[int, Fen]:
        """Net of postings per account id: credits in minus debits out."""
        legs = _legs(by_day=False)
        rows = self.session.execute(
            select(legs.c.account_id, func.sum(legs.c.amount)).group_by(legs.c.account_id)
        )
        return {int(account): int(total) for account, total in rows}


def transaction_row(t: Transaction) -> dict[str, Any]:
    """The ``transactions`` row of a recorded transaction."""
    r = t.request
    return {
        "seq": t.seq,
        "voucher_year": t.voucher.year,
        "voucher_month": t.voucher.month,
        "voucher_number": t.voucher.number,
        "effective_date": r.effective_date,
        "recorded_at": t.recorded_at,
        "memo": r.memo,
        "metadata": dict(r.metadata),
        "idempotency_key": r.idempotency_key,
        "reverses_seq": r.reverses,
        "prev_hash": t.prev_hash,
        "hash": t.hash,
        "layout": t.layout,
        "recorded_by": t.recorded_by,
    }


def posting_rows(
    transactions: Iterable[Transaction], account_ids: Mapping[Account, int]
) -> list[dict[str, Any]]:
    """The ``postings`` rows of recorded transactions, given each account's id."""
    return [
        row
        for t in transactions
        for row in chunk_rows(t.seq, t.postings, account_ids, reverses=t.request.reverses)
    ]


def chunk_rows(
    seq: int,
    postings: Sequence[Posting],
    account_ids: Mapping[Account, int],
    *,
    start: int = 0,
    reverses: int | None = None,
) -> list[dict[str, Any]]:
    """The ``postings`` rows of transaction ``seq``'s ``postings`` from position ``start``
    (``reverses``: the transaction a reversal sends back)."""
    return [
        {
            "transaction_seq": seq,
            "position": i,
            "amount": p.amount,
            "source_account_id": account_ids[p.source],
            "destination_account_id": account_ids[p.destination],
            "memo": p.memo,
            "reverses_seq": None if p.reverses is None else reverses,
            "reverses_position": p.reverses,
        }
        for i, p in enumerate(postings, start)
    ]


def _transaction(row: TransactionRow, postings: tuple[Posting, ...]) -> Transaction:
    request = NewTransaction(
        idempotency_key=row.idempotency_key,
        effective_date=row.effective_date,
        memo=row.memo,
        postings=postings,
        metadata=row.metadata_,
        reverses=row.reverses_seq,
    )
    return Transaction(
        row.seq,
        Voucher(row.voucher_year, row.voucher_month, row.voucher_number),
        row.recorded_at,
        request,
        row.prev_hash,
        row.hash,
        row.layout,
        row.recorded_by,
    )


def _legs(*, by_day: bool) -> Any:
    """Each posting twice: into its destination (+) and out of its source (−),
    with its effective date as ``day`` when ``by_day``."""
    legs = []
    for column, sign in (
        (PostingRow.destination_account_id, 1),
        (PostingRow.source_account_id, -1),
    ):
        leg = select(
            column.label("account_id"), (PostingRow.amount * literal(sign)).label("amount")
        )
        if by_day:
            leg = leg.add_columns(TransactionRow.effective_date.label("day")).join(
                TransactionRow, TransactionRow.seq == PostingRow.transaction_seq
            )
        legs.append(leg)
    return union_all(*legs).subquery()
