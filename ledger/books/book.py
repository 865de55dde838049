"""The ledger service: the one verb that moves money, :func:`post`.

Everything that changes a balance goes through :func:`post` (and
:func:`reverse`, which builds a reversing transaction and posts it). The
service works through a :class:`LedgerStore`, which the caller's unit of work
provides; it never commits, so a caller can post a whole batch and commit once,
or roll everything back.

Invariants, all checked before anything is written:
- every transaction is valid (:func:`ledger.postings.validate`);
- no transaction is dated after the day it is recorded, in Beijing (the moment comes
  from :mod:`ledger.clock`), nor in a closed period, read under the chain head lock so
  a period close cannot slip in between (:func:`ledger.periods.dating_error`);
- no guarded account closes below zero on any day (the as-of guard): a write dated
  D is refused when a touched guarded account would end any day from D on below
  zero, worked out from its kept days (:mod:`ledger.daily_balances`) read under the
  account locks; no balance goes beyond :data:`MAX_BALANCE` either way;
- a repeated idempotency key returns the first result; with different content
  it is refused;
- a posting is reversed at most once, by its exact mirror image, and a
  reversal is not reversed (a voucher may be reversed a few postings at a time);
- sequence numbers continue without gaps, voucher numbers without gaps within
  each month, and every transaction chains to the previous one's hash, sealed
  with the current chain key (:mod:`ledger.chain_keys`), read after the chain
  head is locked so that a key rotation, made under that lock, is seen.

Concurrency: :meth:`LedgerStore.lock_head` serialises writers on the single
chain head (the hash chain and gapless vouchers need one writer at a time)
and account rows are locked in address order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Protocol

from ledger.books.accounts import Account, account_kind, may_go_negative
from ledger.books.chain_keys import ChainKey, KeyRing, first_ring, new_secret
from ledger.books.chart import chart_account
from ledger.books.daily_balances import (
    Day,
    DayMismatch,
    DayRow,
    DayWrite,
    day_mismatches,
    day_movements,
    day_writes,
    days_after_write,
    first_negative_day,
)
from ledger.books.periods import Closing, Period, dating_error
from ledger.books.postings import (
    GENESIS_HASH,
    BrokenLink,
    ChainHasher,
    NewTransaction,
    Posting,
    Transaction,
    Voucher,
    as_naive_utc,
    chain_hash,
    first_broken_link,
    header_errors,
    postings_errors,
    reversal_of,
    sealed,
    utc_now,
    validate,
)
from ledger.clock import local_date, local_time
from ledger.errors import (
    ChainKeyError,
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    OverdraftError,
    ReversalError,
    ValidationError,
)
from ledger.money import Fen, format_plain

MAX_BALANCE: Final[Fen] = 10**18
"""No kept balance goes beyond this either way: well inside a 64-bit column."""


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account's kept balance and whether it is exempt from the overdraft guard."""

    address: Account
    balance: Fen
    may_go_negative: bool


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One posting as one account sees it: money in (``inflow``) or out (``outflow``).

    Which of them is 借 and which 贷 is the chart's to say (:mod:`ledger.chart`).
    """

    effective_date: date
    seq: int
    voucher: Voucher
    memo: str
    reverses: int | None
    inflow: Fen
    outflow: Fen


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last recorded transaction's sequence number and hash, and the id of the chain
    key that sealed it (``None``: sealed plain, or recorded before keys were noted)."""

    seq: int
    hash: str
    key_id: str | None = None


class LedgerStore(Protocol):
    """What the ledger needs from storage; ``schema.ledger_store`` implements it."""

    def lock_head(self) -> ChainHead:
        """The chain head, locked against other writers until the unit of work ends."""

    def chain_keys(self) -> KeyRing:
        """The key ring as it is now (read anew each call), or :class:`ChainKeyError`
        saying where it was looked for and why it cannot be used."""

    def has_chain_keys(self) -> bool:
        """Whether a ring is there to be read (usable or not)."""

    def chain_key_source(self) -> str:
        """Where the ring is read from (a key file's path, or the environment variable),
        for a person to look."""

    def save_chain_keys(self, ring: KeyRing, *, new: bool) -> None:
        """Keep ``ring``: ``new`` only where there is none yet, else in place of the old."""

    def find_by_keys(self, keys: Iterable[str]) -> dict[str, Transaction]:
        """Recorded transactions by idempotency key, for the keys that exist."""

    def get(self, seq: int) -> Transaction | None:
        """One recorded transaction."""

    def voucher_seq(self, voucher: Voucher) -> int | None:
        """The sequence number of the transaction a 凭证号 was given to."""

    def reversed_positions(self, seq: int) -> set[int]:
        """Positions of ``seq``'s postings that a reversal already sent back."""

    def lock_accounts(self, addresses: Sequence[Account]) -> dict[Account, AccountState]:
        """Lock the accounts in the given order, opening the ones that do not exist."""

    def last_voucher_numbers(self, months: Iterable[Period]) -> dict[Period, int]:
        """The last voucher number used in each month (0 when none)."""

    def closed_through(self) -> Period | None:
        """The last closed period, or ``None`` when nothing is closed."""

    def closings(self) -> list[Closing]:
        """Every close, oldest first."""

    def add_closing(self, closing: Closing) -> None:
        """Record a close (the caller holds the chain head lock)."""

    def last_vouchers(self) -> dict[Period, int]:
        """The last voucher number of every month that has one."""

    def days_from(self, starts: Mapping[Account, date]) -> dict[Account, dict[date, Day]]:
        """Each locked account's kept days on or after its date in ``starts`` (none for
        an account opened by this unit of work)."""

    def append(
        self,
        transactions: Sequence[Transaction],
        balances: Mapping[Account, Fen],
        days: Sequence[DayWrite],
        key_id: str | None,
    ) -> None:
        """Write transactions, their postings, the new kept balance of every account they
        touch (``balances``), the days that are new or changed (``days``), the vouchers
        and the head with the id of the key that sealed it (``key_id``), at once."""

    def write_postings(
        self, transaction: Transaction, postings: Iterable[Sequence[Posting]]
    ) -> None:
        """Write one transaction recorded without its postings, and its postings as
        ``postings`` yields them a chunk at a time (positions running on across chunks),
        opening the accounts they name; balances, days and the head wait for
        :meth:`write_accounts` and :meth:`seal_head`. An error ``postings`` raises part-way
        leaves the caller's unit of work to roll back."""

    def movements(self, seq: int, size: int) -> Iterator[dict[Account, Fen]]:
        """What transaction ``seq`` moves in each account it touches (in − out), ``size``
        accounts at a time."""

    def write_accounts(self, balances: Mapping[Account, Fen], days: Sequence[DayWrite]) -> None:
        """Write the kept balances and days of accounts just locked and guarded."""

    def seal_head(self, transaction: Transaction, key_id: str | None) -> None:
        """Advance the voucher counter and the chain head to ``transaction``, sealed with
        the key ``key_id``: the last step of a write."""

    def balance(self, address: Account, as_of: date | None) -> Fen | None:
        """Kept balance, or the closing of the account's latest day on or before
        ``as_of``; ``None`` when the account was never opened."""

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

    def iter_account_entries(
        self, address: Account, start: date, end: date
    ) -> Iterator[AccountEntry]:
        """An account's postings in a period, in date and voucher order, in chunks."""

    def current_balances(self, addresses: Sequence[Account]) -> dict[Account, Fen]:
        """The kept balances of those of ``addresses`` that have an account, read in
        chunks (no statement carries an unbounded list)."""

    def balances_as_of(self, as_of: date) -> dict[Account, Fen]:
        """Every account's balance at the end of ``as_of``, from its kept days."""

    def pair_movements(self, start: date, end: date) -> list[tuple[Account, Account, Fen]]:
        """Money moved between each (source, destination) pair in a period."""

    def vouchers_of(self, seqs: Collection[int]) -> dict[int, Voucher]:
        """The 凭证号 of each of these transactions."""

    def dates_of(self, seqs: Collection[int]) -> dict[int, date]:
        """The effective date of each of these transactions (without their postings)."""

    def movements_of(self, addresses: Sequence[Account]) -> list[tuple[Account, Account, Fen]]:
        """Money moved, ever, between each (source, destination) pair touching one of
        ``addresses`` (a few accounts: a studio's funds)."""

    def head_hash(self) -> tuple[int, str]:
        """The last transaction's sequence number and hash."""

    def iter_transactions(self) -> Iterator[Transaction]:
        """Every recorded transaction in ``seq`` order, read in chunks."""

    def missing_guards(self) -> list[str]:
        """The database rules the books rely on that are missing or switched off: the
        triggers (append-only, closed periods, dates, days) and the CHECK and UNIQUE
        constraints, each named."""

    def kept_balances(self) -> dict[Account, Fen]:
        """Every account's kept balance."""

    def derived_balances(self) -> dict[Account, Fen]:
        """Every account's balance summed from its postings."""

    def iter_kept_days(self) -> Iterator[DayRow]:
        """Every kept day, its amount the closing, by account number and day."""

    def iter_day_movements(self) -> Iterator[DayRow]:
        """Every account's net moved per effective date summed from its postings, its
        amount the net, by account number and day (the order of :meth:`iter_kept_days`)."""


def post(
    store: LedgerStore,
    requests: Sequence[NewTransaction],
    *,
    now: datetime | None = None,
    date_field: str | None = None,
    by: str | None = None,
) -> list[Transaction]:
    """Record ``requests`` atomically as user ``by`` (sealed with each transaction: the
    voucher's 制单); the recorded transactions, in request order.

    A request whose idempotency key was seen before (earlier, or earlier in
    this call) returns that transaction and writes nothing. If any request is
    refused, the caller's unit of work must roll back: nothing of the call is
    meant to be kept. A refusal of a date (after today, in a closed period, or
    leaving an account short from that day) names ``date_field`` when the caller
    gives the name its users know the date by (``on``), else ``effective_date``.
    """
    _refuse_invalid(requests)
    head = store.lock_head()
    recorded = store.find_by_keys({r.idempotency_key for r in requests})
    fresh: dict[str, NewTransaction] = {}
    for request in requests:
        key = request.idempotency_key
        first = recorded[key].request if key in recorded else fresh.get(key)
        if first is None:
            fresh[key] = request
        elif first != request:
            raise IdempotencyConflictError(key)
    if not fresh:  # a replay returns what was written before, and needs no key
        return [recorded[r.idempotency_key] for r in requests]
    # Read after the head lock: a rotation rewrites the ring under it.
    sealing = _sealing_key(store, store.chain_keys(), head)

    recorded_at = utc_now() if now is None else as_naive_utc(now)
    today = local_date(recorded_at)
    closed = store.closed_through()
    for i, request in enumerate(requests):
        if request.idempotency_key in fresh:  # a replay returns what was written before
            where = date_field or _where(requests, i, "effective_date")
            if refused := dating_error(
                request.effective_date, field=where, today=today, closed=closed
            ):
                raise refused
    _check_reversals(store, fresh.values())
    moved = day_movements(fresh.values())
    balances, writes = _guarded(store, moved, date_field or "effective_date")

    numbers = store.last_voucher_numbers({Period.of(r.effective_date) for r in fresh.values()})
    new: list[Transaction] = []
    seq, prev_hash = head.seq, head.hash
    for request in fresh.values():
        seq += 1
        month = Period.of(request.effective_date)
        numbers[month] += 1
        voucher = Voucher(month.year, month.month, numbers[month])
        transaction = sealed(
            seq, voucher, recorded_at, request, prev_hash, key=sealing.secret, recorded_by=by
        )
        new.append(transaction)
        prev_hash = transaction.hash
        recorded[request.idempotency_key] = transaction
    store.append(new, balances, writes, sealing.id)
    return [recorded[r.idempotency_key] for r in requests]


def post_in_chunks(
    store: LedgerStore,
    request: NewTransaction,
    postings: Callable[[], Iterable[Sequence[Posting]]],
    *,
    now: datetime | None = None,
    date_field: str | None = None,
    by: str | None = None,
) -> Transaction:
    """Record one voucher too large to hold whole — ``request`` without postings, whose
    postings ``postings()`` yields a chunk at a time — under every invariant of
    :func:`post`; the recorded transaction, without its postings.

    ``postings()`` is called twice and must yield the same postings both times: once to
    check them and seal the voucher (:class:`ChainHasher`), once to write them a chunk at
    a time; the second pass is sealed again and a difference refused. Then the accounts
    they touch are locked, guarded and written :data:`ACCOUNTS_AT_A_TIME` at a time, from
    what the store totals for each (:meth:`LedgerStore.movements`). A refusal part-way
    (an account left short) leaves the caller's unit of work to roll back: nothing is
    kept but a voucher whole and within every guard. Memory is bounded by a chunk, never
    by the voucher's postings or accounts. A reversal is never this large.
    A repeated key is compared with the recorded voucher whole (a replay is rare: the
    callers' own states refuse a second approval first).
    """
    if request.postings or request.reverses is not None:
        raise ValueError("post_in_chunks takes a request without postings that reverses none")
    if errors := header_errors(request):
        raise InvalidInputError(errors)
    head = store.lock_head()
    key = request.idempotency_key
    if (first := store.find_by_keys({key}).get(key)) is not None:
        whole = tuple(p for chunk in postings() for p in chunk)
        if first.request != replace(request, postings=whole):
            raise IdempotencyConflictError(key)
        return first
    sealing = _sealing_key(store, store.chain_keys(), head)
    recorded_at = utc_now() if now is None else as_naive_utc(now)
    field = date_field or "effective_date"
    day = request.effective_date
    if refused := dating_error(
        day, field=field, today=local_date(recorded_at), closed=store.closed_through()
    ):
        raise refused
    month = Period.of(day)
    number = store.last_voucher_numbers({month})[month] + 1
    unsealed = Transaction(
        head.seq + 1,
        Voucher(month.year, month.month, number),
        recorded_at,
        request,
        head.hash,
        "",
        recorded_by=by,
    )
    hasher = ChainHasher(unsealed, sealing.secret)
    count = 0
    for chunk in postings():
        if errors := postings_errors(chunk, start=count):
            raise InvalidInputError(errors)
        hasher.add(chunk)
        count += len(chunk)
    if not count:
        raise InvalidInputError([ValidationError("postings", "一笔交易至少要有一条分录")])
    transaction = replace(unsealed, hash=hasher.hexdigest())
    store.write_postings(transaction, _as_sealed(transaction, postings(), sealing.secret))
    for moved in store.movements(transaction.seq, ACCOUNTS_AT_A_TIME):
        balances, writes = _guarded(store, {a: {day: m} for a, m in moved.items()}, field)
        store.write_accounts(balances, writes)
    store.seal_head(transaction, sealing.id)
    return transaction


ACCOUNTS_AT_A_TIME: Final = 5_000
"""Accounts :func:`post_in_chunks` locks, guards and writes at a time."""


def _as_sealed(
    transaction: Transaction, postings: Iterable[Sequence[Posting]], key: bytes | None
) -> Iterator[Sequence[Posting]]:
    """``postings`` passed on a chunk at a time, sealed again as they go: after the last
    chunk, a hash other than ``transaction``'s (the source yielded other postings the
    second time) is refused before the write can be kept."""
    hasher = ChainHasher(transaction, key)
    for chunk in postings:
        hasher.add(chunk)
        yield chunk
    if hasher.hexdigest() != transaction.hash:
        raise RuntimeError(f"voucher {transaction.voucher}: its postings changed between passes")


def _guarded(
    store: LedgerStore, moved: Mapping[Account, Mapping[date, Fen]], field: str
) -> tuple[dict[Account, Fen], list[DayWrite]]:
    """Lock the accounts ``moved`` touches and check the as-of guard on each; their new
    kept balances and the days to write. ``moved``: what each account moves on each
    date."""
    states = store.lock_accounts(sorted(moved))
    balances = {a: s.balance + sum(moved[a].values()) for a, s in states.items()}
    kept = store.days_from({a: min(days) for a, days in moved.items()})
    writes: list[DayWrite] = []
    for address, days in moved.items():
        after = days_after_write(kept.get(address, {}), days, balances[address])
        _guard(states[address], after, field)
        writes += day_writes(address, kept.get(address, {}), after)
    return balances, writes


def _guard(state: AccountState, days: Mapping[date, Day], field: str) -> None:
    """Refuse a write that leaves a guarded account below zero at the end of any of its
    ``days`` (the days from the write's date on), or any balance beyond :data:`MAX_BALANCE`."""
    if not state.may_go_negative and (negative := first_negative_day(days)):
        day, closing = negative
        raise OverdraftError(
            field,
            shortfall_text(state.address, day, closing) + "；没有写入任何内容",
            account=state.address,
            label=account_label(state.address),
            day=day,
            shortfall=-closing,
        )
    if any(abs(d.closing) > MAX_BALANCE for d in days.values()):
        raise ValidationError(
            "amount",
            f"{account_label(state.address)} 的余额将超出账簿能记的上限（{MAX_BALANCE} 分）",
        )


def shortfall_text(address: Account, day: date, closing: Fen) -> str:
    """Why a write is refused by the as-of guard, in words: the account, the first day it
    would close below zero and by how much."""
    return (
        f"余额不足：{account_label(address)} {day.isoformat()} 日终余额将为 "
        f"{format_plain(closing)} 元，短缺 {format_plain(-closing)} 元"
    )


def account_label(address: Account) -> str:
    """An account as a refusal names it: 科目编码, 科目名称 and its 明细 (studio, payee)."""
    account = chart_account(address)
    return f"{account.code} {account.name}"


def key_the_chain(store: LedgerStore) -> KeyRing | None:
    """Give a ledger without a chain key its first one (``db upgrade`` does): every
    transaction after the current head is keyed, those before stay plain SHA-256.
    The new ring, or None when the ledger has one already (which must be usable).

    A ledger whose head was sealed by a key never gets a new first key: its key is
    missing, not new, and a new one would declare every sealed transaction plain, so
    that ``verify`` would report the chain broken and every write after it be refused.
    The head names its key since migration 0019; a head from before is sealed by a key
    when its hash is not the plain SHA-256 of its content."""
    head = store.lock_head()
    if store.has_chain_keys():
        store.chain_keys()
        return None
    if _sealed_by_a_key(store, head):
        raise ChainKeyError(
            f"账簿已由账链密钥{'' if head.key_id is None else f' {head.key_id} '}加封"
            f"（至第 {head.seq} 笔），但找不到密钥：{store.chain_key_source()}。请把原来的"
            "密钥文件放回该处（或设置 STUDIO_LEDGER_KEY_FILE 指向它），不要新建密钥"
        )
    ring = first_ring(head.seq)
    store.save_chain_keys(ring, new=True)
    return ring


def rotate_chain_key(store: LedgerStore, *, save: bool = True) -> KeyRing:
    """A new key sealing from the transaction after the head, the old ones kept to check
    what they sealed; saved (unless ``save`` is off) while the head is locked, so no
    writer seals a transaction after the head with the old key."""
    head = store.lock_head()
    ring = store.chain_keys().rotated(head.seq, new_secret())
    if save:
        store.save_chain_keys(ring, new=False)
    return ring


def sealing_key(store: LedgerStore) -> ChainKey:
    """The key that seals what is written now, the chain head locked: the ring checked
    to be this chain's as :func:`post` checks it, for a record sealed beside the chain
    (an original, :mod:`ledger.books.attachments`)."""
    head = store.lock_head()
    return _sealing_key(store, store.chain_keys(), head)


def _sealing_key(store: LedgerStore, keys: KeyRing, head: ChainHead) -> ChainKey:
    """The current key, once the ring is shown to be this chain's: it was not written for
    a longer chain, and the key it gives the head is the one that sealed it — by the id
    the head keeps, or, for a head that keeps none, by its seal read back. A ring from
    another ledger, or a key file swapped or mistyped, would otherwise seal links that
    make ``verify`` report the whole chain broken from there on."""
    if problem := _ring_problem(keys, head.seq):
        raise ChainKeyError(problem + "；没有写入任何内容")
    if head.seq and not _seals_head(store, keys, head):
        last = store.vouchers_of([head.seq]).get(head.seq)
        raise ChainKeyError(
            f"账链密钥与账簿不符：第{head.seq}笔（{last}）的封印在 "
            f"{store.chain_key_source()} 的密钥下不成立（可能是另一账簿的密钥，"
            "或密钥文件已被改动），没有写入任何内容"
        )
    return keys.current


def _sealed_by_a_key(store: LedgerStore, head: ChainHead) -> bool:
    """Whether the chain's last transaction was sealed under a key (not plain SHA-256)."""
    if head.key_id is not None:
        return True
    last = store.get(head.seq)  # None for an empty ledger (its head is seq 0)
    return last is not None and chain_hash(last.prev_hash, last, None) != last.hash


def _seals_head(store: LedgerStore, keys: KeyRing, head: ChainHead) -> bool:
    key = keys.key_for(head.seq)
    if head.key_id is not None:
        return key is not None and key.id == head.key_id
    last = store.get(head.seq)
    secret = None if key is None else key.secret
    return last is not None and chain_hash(last.prev_hash, last, secret) == last.hash


def _ring_problem(keys: KeyRing, last_seq: int) -> str | None:
    """Why ``keys`` do not fit a chain ending at ``last_seq``: the current key starts
    after the next transaction, so the ring was written for a longer chain."""
    if keys.current.from_seq <= last_seq + 1:
        return None
    return (
        f"账链密钥自第{keys.current.from_seq}笔起启用，而账链止于第{last_seq}笔："
        "账簿比密钥登记时短，已被截断或从旧副本恢复"
    )


def _where(requests: Sequence[NewTransaction], index: int, field: str) -> str:
    return field if len(requests) == 1 else f"transactions[{index}].{field}"


def _refuse_invalid(requests: Sequence[NewTransaction]) -> None:
    if len(requests) == 1:
        errors = validate(requests[0])
    else:
        errors = [
            ValidationError(f"transactions[{i}].{e.field}", e.message)
            for i, r in enumerate(requests)
            for e in validate(r)
        ]
    if errors:
        raise InvalidInputError(errors)


def _check_reversals(store: LedgerStore, fresh: Iterable[NewTransaction]) -> None:
    """Each reversing posting mirrors an original posting not sent back before."""
    sent_back: dict[int, set[int]] = {}
    for request in fresh:
        if request.reverses is None:
            continue
        original = store.get(request.reverses)
        if original is None:
            raise NotFoundError(f"第{request.reverses}笔交易不存在")
        if request.effective_date < original.effective_date:
            raise ReversalError(
                f"冲销凭证的日期 {request.effective_date.isoformat()} 不能早于原凭证 "
                f"{original.voucher} 的日期（{original.effective_date.isoformat()}）"
            )
        if original.request.reverses is not None:
            raise ReversalError(
                f"{original.voucher} 本身是冲销凭证，不能再冲销；如需恢复原业务，请重新登记一笔"
            )
        if original.seq not in sent_back:
            sent_back[original.seq] = store.reversed_positions(original.seq)
        done = sent_back[original.seq]
        for posting in request.postings:
            position = posting.reverses
            if position is None or position >= len(original.postings):
                raise ReversalError(f"{original.voucher} 没有序号为 {position} 的分录")
            if position in done:
                raise ReversalError(
                    f"{original.voucher}（第{original.seq}笔）序号为 {position} 的分录已冲销过，"
                    "不能重复冲销"
                )
            first = original.postings[position]
            if (posting.source, posting.destination, posting.amount) != (
                first.destination,
                first.source,
                first.amount,
            ):
                raise ReversalError(
                    f"冲销 {original.voucher} 须原样退回其序号为 {position} 的分录："
                    f"从 {first.destination} 转回 {first.source}，{first.amount} 分"
                )
            done.add(position)


def reverse(
    store: LedgerStore,
    seq: int,
    *,
    idempotency_key: str,
    effective_date: date,
    memo: str | None = None,
    positions: Sequence[int] | None = None,
    now: datetime | None = None,
    date_field: str | None = None,
    by: str | None = None,
) -> Transaction:
    """Post the reversal of transaction ``seq``: the postings at ``positions`` (default:
    every one) sent back, each once. The reversal is its own voucher, dated
    ``effective_date``: a correction of a closed period is posted in an open one."""
    original = store.get(seq)
    if original is None:
        raise NotFoundError(f"第{seq}笔交易不存在")
    request = reversal_of(
        original,
        idempotency_key=idempotency_key,
        effective_date=effective_date,
        memo=memo,
        positions=positions,
    )
    [transaction] = post(store, [request], now=now, date_field=date_field, by=by)
    return transaction


def balance(store: LedgerStore, address: Account, as_of: date | None = None) -> Fen:
    """An account's balance now (kept) or as of the end of a date (from postings)."""
    account_kind(address)
    found = store.balance(address, as_of)
    if found is None:
        raise NotFoundError(f"科目 {address} 没有任何分录")
    return found


def balance_or_zero(store: LedgerStore, address: Account, as_of: date | None = None) -> Fen:
    """:func:`balance`, 0 for an account nothing was ever posted to (a support pool no
    member's unit paid into)."""
    account_kind(address)
    return store.balance(address, as_of) or 0


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    """An account whose kept balance differs from the sum of its postings."""

    address: Account
    kept: Fen
    derived: Fen


@dataclass(frozen=True, slots=True)
class Anchor:
    """A transaction's sequence number and hash kept outside the database — printed on
    a statement or a period close — to check later that the ledger still holds it:
    after a truncation or a restore of an older copy, it does not."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


ANCHOR_PATTERN: Final = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


def parse_anchor(text: str) -> Anchor:
    """``SEQ:HASH`` as printed (``62:98cc…f36d``), or a refusal naming ``anchor``."""
    found = ANCHOR_PATTERN.fullmatch(text.strip().lower())
    if found is None or int(found[1]) < 1:
        raise ValidationError(
            "anchor", f"应写作 SEQ:HASH（交易序号和 64 位十六进制哈希）：{text!r}"
        )
    return Anchor(int(found[1]), found[2])


@dataclass(frozen=True, slots=True)
class NegativeDay:
    """The first kept day a guarded account closed below zero (what the as-of guard
    refuses; found only in data written around it)."""

    address: Account
    day: date
    closing: Fen

    def __str__(self) -> str:
        return (
            f"{account_label(self.address)} {self.day.isoformat()} 日终余额为 "
            f"{format_plain(self.closing)} 元，低于零"
        )


@dataclass(frozen=True, slots=True)
class EarlyVoucher:
    """A voucher dated after the day it was recorded (in Beijing): the books showed the
    future. Found only in data written before the date rule, or around it."""

    seq: int
    voucher: Voucher
    effective_date: date
    recorded_at: datetime

    def __str__(self) -> str:
        return (
            f"{self.voucher}（第{self.seq}笔）日期 {self.effective_date.isoformat()} 晚于记账时间 "
            f"{local_time(self.recorded_at):%Y-%m-%d %H:%M}（北京时间）"
        )


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What :func:`verify` found.

    Attributes:
      transactions: how many transactions were checked.
      last_hash: the hash of the last transaction (the state an export ties to).
      broken_link: the first transaction whose chain link does not hold.
      mismatches: accounts whose kept balance is not the sum of their postings.
      guard_violations: guarded accounts whose kept balance is below zero.
      head_mismatch: the kept chain head differs from where the chain ends (a tail
        deleted without fixing the head, or a head moved).
      anchor_failures: each anchor given that the ledger no longer holds, in words.
      key_problem: why the chain key could not be used to check the chain (missing,
        unreadable, or written for a longer ledger), in words.
      keyed_from: the first sequence number sealed with a chain key, when known.
      day_mismatches: the first day of each account whose kept closing is not what
        its postings give (as-of balances read these days).
      negative_days: the first kept day each guarded account closed below zero.
      early_vouchers: vouchers dated after the day they were recorded.
      missing_guards: the database's own rules (triggers, constraints) that are gone or
        switched off, so that it no longer refuses what the ledger refuses.
      attachment_problems: what is wrong with the originals attached to vouchers, in
        words (:func:`ledger.books.attachments.verify`).
    """

    transactions: int
    last_hash: str
    broken_link: BrokenLink | None
    mismatches: tuple[BalanceMismatch, ...]
    guard_violations: tuple[Account, ...]
    head_mismatch: str | None = None
    anchor_failures: tuple[str, ...] = ()
    key_problem: str | None = None
    keyed_from: int | None = None
    day_mismatches: tuple[DayMismatch, ...] = ()
    negative_days: tuple[NegativeDay, ...] = ()
    early_vouchers: tuple[EarlyVoucher, ...] = ()
    missing_guards: tuple[str, ...] = ()
    attachment_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.broken_link is None
            and not self.mismatches
            and not self.day_mismatches
            and not self.guard_violations
            and not self.negative_days
            and not self.early_vouchers
            and not self.missing_guards
            and not self.attachment_problems
            and self.head_mismatch is None
            and not self.anchor_failures
            and self.key_problem is None
        )

    def problems(self) -> list[str]:
        """Everything found wrong, one line each (empty when :attr:`ok`)."""
        lines = [f"KEY: {self.key_problem}"] if self.key_problem is not None else []
        if self.head_mismatch is not None:
            lines.append(f"HEAD: {self.head_mismatch}")
        lines.extend(f"ANCHOR: {failure}" for failure in self.anchor_failures)
        if (link := self.broken_link) is not None:
            lines.append(f"BROKEN: 账链自第{link.seq}笔（{link.voucher}）起断开：{link.reason}")
        lines.extend(
            f"MISMATCH: {m.address} 记存余额 {m.kept} 分，分录合计 {m.derived} 分"
            for m in self.mismatches
        )
        lines.extend(f"DAY: {m}" for m in self.day_mismatches)
        lines.extend(f"NEG: {n}" for n in self.negative_days)
        shown = {n.address for n in self.negative_days}
        lines.extend(
            f"NEG: {account_label(a)}（{a}）当前余额低于零"
            for a in self.guard_violations
            if a not in shown
        )
        lines.extend(f"DATE: {v}" for v in self.early_vouchers)
        lines.extend(
            f"GUARD: 数据库缺少或停用了 {g}，数据库本身不再守护这条规则"
            for g in self.missing_guards
        )
        lines.extend(f"ATT: {problem}" for problem in self.attachment_problems)
        return lines

    @property
    def anchor(self) -> Anchor | None:
        """The anchor of the ledger as checked: its last transaction."""
        return Anchor(self.transactions, self.last_hash) if self.transactions else None


def verify(store: LedgerStore, anchors: Sequence[Anchor] = ()) -> VerifyReport:
    """Re-check the hash chain under the chain keys, the kept chain head, every kept
    balance and kept day against the postings, that no guarded account closed a day
    below zero, that no voucher is dated after the day it was recorded, and that the
    ledger still holds each of ``anchors``."""
    keys: KeyRing | None
    try:
        keys, key_problem = store.chain_keys(), None
    except ChainKeyError as error:
        keys, key_problem = None, str(error)
    wanted = {a.seq for a in anchors}
    checked = _Counting(store.iter_transactions(), wanted)
    broken = first_broken_link(checked, keys)
    for _ in checked:  # a broken chain stops the walk; count and hash the rest anyway
        pass
    kept = store.kept_balances()
    derived = store.derived_balances()
    mismatches = tuple(
        BalanceMismatch(a, kept.get(a, 0), derived.get(a, 0))
        for a in sorted(kept.keys() | derived.keys())
        if kept.get(a, 0) != derived.get(a, 0)
    )
    violations = tuple(a for a in sorted(kept) if kept[a] < 0 and not may_go_negative(a))
    head_seq, head_hash = store.head_hash()
    ends = (checked.last_seq, checked.last_hash or GENESIS_HASH)
    head_mismatch = (
        None
        if (head_seq, head_hash) == ends
        else f"链头记为第{head_seq}笔 {head_hash[:12]}…，账链止于第{ends[0]}笔 {ends[1][:12]}…"
    )
    failures = tuple(_anchor_failure(a, checked.hashes.get(a.seq)) for a in anchors)
    if keys is not None:
        key_problem = _ring_problem(keys, checked.last_seq)
    negative: dict[Account, NegativeDay] = {}
    wrong_days = tuple(
        day_mismatches(_watched(store.iter_kept_days(), negative), store.iter_day_movements())
    )
    return VerifyReport(
        checked.count,
        checked.last_hash,
        broken,
        mismatches,
        violations,
        head_mismatch,
        tuple(f for f in failures if f),
        key_problem,
        None if keys is None else keys.keyed_from,
        wrong_days,
        tuple(sorted(negative.values(), key=lambda n: n.address)),
        tuple(checked.early),
        tuple(store.missing_guards()),
    )


def _watched(days: Iterable[DayRow], negative: dict[Account, NegativeDay]) -> Iterator[DayRow]:
    """Pass the kept days through, noting each guarded account's first below zero."""
    for row in days:
        _, address, day, closing = row
        if closing < 0 and address not in negative and not may_go_negative(address):
            negative[address] = NegativeDay(address, day, closing)
        yield row


def _anchor_failure(anchor: Anchor, found: str | None) -> str:
    if found is None:
        return f"锚点 {anchor.seq}：账簿中已没有第{anchor.seq}笔交易，账簿被截断或回滚到更早的副本"
    if found != anchor.hash:
        return f"锚点 {anchor.seq}：第{anchor.seq}笔交易的哈希已不同，账簿被改写或回滚"
    return ""


class _Counting:
    """Passes transactions through once, remembering how many, the last one's sequence
    number and hash, the hashes of the ``wanted`` sequence numbers, and every voucher
    dated after the day it was recorded."""

    def __init__(self, transactions: Iterator[Transaction], wanted: set[int]) -> None:
        self._transactions = transactions
        self._wanted = wanted
        self.count = 0
        self.last_seq = 0
        self.last_hash = ""
        self.hashes: dict[int, str] = {}
        self.early: list[EarlyVoucher] = []

    def __iter__(self) -> Iterator[Transaction]:
        for t in self._transactions:
            self.count += 1
            self.last_seq, self.last_hash = t.seq, t.hash
            if t.seq in self._wanted:
                self.hashes[t.seq] = t.hash
            if t.effective_date > local_date(t.recorded_at):
                self.early.append(EarlyVoucher(t.seq, t.voucher, t.effective_date, t.recorded_at))
            yield t


def chain_end(store: LedgerStore) -> tuple[int, str]:
    """The last transaction's sequence number and hash: where the chain ends now."""
    return store.head_hash()


def transactions(
    store: LedgerStore,
    *,
    after: int,
    limit: int,
    account: Account | None = None,
    studio: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> list[Transaction]:
    """Transactions after sequence number ``after``, oldest first, filtered."""
    return store.transactions_page(
        after=after,
        limit=limit,
        account=account,
        studio=studio,
        from_date=from_date,
        to_date=to_date,
    )


def last_vouchers(store: LedgerStore) -> dict[Period, int]:
    """The last 凭证号 of each period that has vouchers."""
    return store.last_vouchers()


@dataclass(frozen=True)
class KeyRingView:
    """Where the chain key ring is, its keys, and where the chain ends (never a key)."""

    source: str
    ring: KeyRing
    chain_end: int


def key_ring(store: LedgerStore) -> KeyRingView:
    """The chain key ring as an operator lists it (``keys list``)."""
    return KeyRingView(store.chain_key_source(), store.chain_keys(), store.head_hash()[0])
