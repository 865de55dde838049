"""Postings and transactions: the ledger's vocabulary (SPEC §3).

A transaction is an atomic list of postings. A posting moves a positive
amount from a source account to a destination account, so every transaction
balances by construction: the sum of all balances in the ledger is always
zero.

Records here are immutable. A correction is a new transaction that reverses
an earlier one; nothing recorded is ever changed.

Invariants enforced by :func:`validate`:
- at least one posting; every amount is a positive ``int`` no larger than
  :data:`ledger.money.MAX_AMOUNT`;
- source and destination differ and are known account shapes;
- memo and idempotency key are present; metadata is plain JSON without floats.

Tamper evidence: :func:`chain_hash` hashes a transaction's canonical content
together with the previous transaction's hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

from ledger.accounts import Account, account_kind
from ledger.errors import ValidationError
from ledger.money import MAX_AMOUNT, Fen, format_plain

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
Metadata = Mapping[str, JsonValue]

GENESIS_HASH: Final = "0" * 64
"""The hash the first transaction chains to."""

MAX_MEMO_LENGTH: Final = 200
MAX_KEY_LENGTH: Final = 200


def utc_now() -> datetime:
    """Now in UTC, naive: stored that way so both databases return exactly what was hashed."""
    return as_naive_utc(datetime.now(UTC))


def as_naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo; a naive ``moment`` is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Posting:
    """One movement of money.

    Attributes:
      source: the account the amount leaves.
      destination: the account the amount enters.
      amount: fen, strictly positive.
    """

    source: Account
    destination: Account
    amount: Fen


@dataclass(frozen=True, slots=True)
class NewTransaction:
    """A transaction as a caller asks for it, before the ledger records it.

    Attributes:
      idempotency_key: repeating a key with the same content returns the first
        result and writes nothing; with other content it is refused.
      effective_date: the date the movement counts for (balances as of a date).
      memo: 摘要, what an auditor reads in the statement.
      postings: the movements, in order.
      metadata: plain JSON facts for machines (batch id, studio, year...).
      reverses: the sequence number of the transaction this one reverses.
    """

    idempotency_key: str
    effective_date: date
    memo: str
    postings: tuple[Posting, ...]
    metadata: Metadata = field(default_factory=dict)
    reverses: int | None = None


@dataclass(frozen=True, slots=True)
class Voucher:
    """凭证号: numbered from 1 without gaps within each year of effective date."""

    year: int
    number: int

    def __str__(self) -> str:
        return f"记-{self.year}-{self.number:06d}"


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the ledger recorded it.

    Attributes:
      seq: position in the ledger's single chain, from 1 without gaps.
      voucher: 凭证号.
      recorded_at: when it was written (UTC, naive, microseconds).
      request: what was asked for; replaying it must match exactly.
      prev_hash: the previous transaction's hash (or :data:`GENESIS_HASH`).
      hash: :func:`chain_hash` of this transaction.
    """

    seq: int
    voucher: Voucher
    recorded_at: datetime
    request: NewTransaction
    prev_hash: str
    hash: str

    @property
    def postings(self) -> tuple[Posting, ...]:
        return self.request.postings

    @property
    def memo(self) -> str:
        return self.request.memo

    @property
    def effective_date(self) -> date:
        return self.request.effective_date


def reversal_of(
    original: Transaction, *, idempotency_key: str, effective_date: date, memo: str | None = None
) -> NewTransaction:
    """The transaction that undoes ``original``: every posting sent back."""
    return NewTransaction(
        idempotency_key=idempotency_key,
        effective_date=effective_date,
        memo=memo or f"冲销 {original.voucher}：{original.memo}"[:MAX_MEMO_LENGTH],
        postings=tuple(Posting(p.destination, p.source, p.amount) for p in original.postings),
        metadata={"reverses_voucher": str(original.voucher)},
        reverses=original.seq,
    )


def validate(transaction: NewTransaction) -> list[ValidationError]:
    """Every reason ``transaction`` cannot be posted; empty when it can."""
    errors: list[ValidationError] = []
    key = transaction.idempotency_key
    if not key or len(key) > MAX_KEY_LENGTH or key != key.strip():
        errors.append(
            ValidationError(
                "idempotency_key", f"must be 1-{MAX_KEY_LENGTH} characters without outer spaces"
            )
        )
    if not transaction.memo.strip() or len(transaction.memo) > MAX_MEMO_LENGTH:
        errors.append(ValidationError("memo", f"摘要 must be 1-{MAX_MEMO_LENGTH} characters"))
    if not transaction.postings:
        errors.append(ValidationError("postings", "a transaction needs at least one posting"))
    for i, posting in enumerate(transaction.postings):
        errors.extend(_posting_errors(f"postings[{i}]", posting))
    errors.extend(_metadata_errors("metadata", transaction.metadata))
    return errors


def _posting_errors(where: str, posting: Posting) -> list[ValidationError]:
    errors: list[ValidationError] = []
    if type(posting.amount) is not int or posting.amount <= 0:
        errors.append(
            ValidationError(
                f"{where}.amount", f"must be a positive whole number of fen, got {posting.amount!r}"
            )
        )
    elif posting.amount > MAX_AMOUNT:
        errors.append(
            ValidationError(
                f"{where}.amount",
                f"金额超过上限 (above the largest accepted amount, {format_plain(MAX_AMOUNT)} 元)",
            )
        )
    for side in ("source", "destination"):
        address = getattr(posting, side)
        try:
            account_kind(address)
        except ValidationError as error:
            errors.append(ValidationError(f"{where}.{side}", error.message))
    if posting.source == posting.destination:
        errors.append(
            ValidationError(
                f"{where}.destination", "source and destination must be different accounts"
            )
        )
    return errors


def _metadata_errors(where: str, value: object) -> list[ValidationError]:
    if isinstance(value, Mapping):
        errors = [
            ValidationError(where, f"keys must be text, got {k!r}")
            for k in value
            if not isinstance(k, str)
        ]
        for k, v in value.items():
            errors.extend(_metadata_errors(f"{where}.{k}", v))
        return errors
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _metadata_errors(f"{where}[{i}]", v)]
    if value is None or isinstance(value, str | int | bool):
        return []
    return [
        ValidationError(
            where, f"must be text, a whole number, true/false or null, got {type(value).__name__}"
        )
    ]


def balance_changes(postings: Iterable[Posting]) -> dict[Account, Fen]:
    """The net change each account sees from ``postings``."""
    changes: dict[Account, Fen] = {}
    for p in postings:
        changes[p.source] = changes.get(p.source, 0) - p.amount
        changes[p.destination] = changes.get(p.destination, 0) + p.amount
    return changes


def canonical_content(transaction: Transaction) -> str:
    """The exact text that is hashed: stable across databases and Python versions."""
    request = transaction.request
    content = {
        "seq": transaction.seq,
        "voucher": [transaction.voucher.year, transaction.voucher.number],
        "recorded_at": transaction.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "effective_date": request.effective_date.isoformat(),
        "idempotency_key": request.idempotency_key,
        "memo": request.memo,
        "metadata": request.metadata,
        "reverses": request.reverses,
        "postings": [[p.source, p.destination, p.amount] for p in request.postings],
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_hash(prev_hash: str, transaction: Transaction) -> str:
    """SHA-256 over the previous hash and this transaction's canonical content."""
    payload = f"{prev_hash}\n{canonical_content(transaction)}".encode()
    return hashlib.sha256(payload).hexdigest()


def sealed(
    seq: int, voucher: Voucher, recorded_at: datetime, request: NewTransaction, prev_hash: str
) -> Transaction:
    """A recorded transaction with its chain hash computed."""
    unsealed = Transaction(seq, voucher, recorded_at, request, prev_hash, hash="")
    return Transaction(
        seq, voucher, recorded_at, request, prev_hash, chain_hash(prev_hash, unsealed)
    )


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first transaction whose stored content no longer matches the chain."""

    seq: int
    voucher: Voucher
    reason: str


def first_broken_link(transactions: Iterable[Transaction]) -> BrokenLink | None:
    """Walk the chain in ``seq`` order; the first link that does not hold, if any."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for t in transactions:
        if t.seq != expected_seq:
            return BrokenLink(t.seq, t.voucher, f"sequence gap: expected {expected_seq}")
        if t.prev_hash != expected_prev:
            return BrokenLink(t.seq, t.voucher, "previous-hash link does not match")
        if chain_hash(t.prev_hash, t) != t.hash:
            return BrokenLink(t.seq, t.voucher, "stored content does not match its hash")
        expected_prev = t.hash
        expected_seq += 1
    return None


def touched_accounts(transactions: Iterable[NewTransaction]) -> list[Account]:
    """Every account the transactions touch, in the fixed order rows are locked in."""
    return sorted({a for t in transactions for p in t.postings for a in (p.source, p.destination)})
