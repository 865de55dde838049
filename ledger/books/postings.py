"""Postings and transactions: the ledger's vocabulary (SPEC §3).

A transaction is an atomic list of postings. A posting moves a positive
amount from a source account to a destination account, so every transaction
balances by construction: the sum of all balances in the ledger is always
zero.

Records here are immutable. A correction is a new transaction that reverses
postings of an earlier one; nothing recorded is ever changed.

Invariants enforced by :func:`validate`:
- at least one posting; every amount is a positive ``int`` no larger than
  :data:`ledger.money.MAX_AMOUNT`;
- source and destination differ and are known account shapes;
- memo and idempotency key are present; metadata is plain JSON without floats;
- a reversal's postings, and only a reversal's, name the posting they send back.

Tamper evidence: :func:`chain_hash` seals a transaction's canonical content
together with the previous transaction's hash, with HMAC-SHA-256 under a key
kept outside the database (:mod:`ledger.chain_keys`; transactions sealed
before the ledger was keyed use plain SHA-256). The content's layout is
versioned (:data:`LAYOUT`): a transaction keeps the layout it was sealed with,
so a later layout never invalidates an earlier link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Final

from ledger import clock
from ledger.books.accounts import Account, account_kind
from ledger.books.chain_keys import KeyRing
from ledger.errors import ValidationError, hidden_character_error
from ledger.money import MAX_AMOUNT, Fen, format_plain

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
Metadata = Mapping[str, JsonValue]

_VOUCHER: Final = re.compile(r"(\d{4})-(\d{2})-(\d{1,6})", re.ASCII)

GENESIS_HASH: Final = "0" * 64
"""The hash the first transaction chains to."""

MAX_MEMO_LENGTH: Final = 200
MAX_KEY_LENGTH: Final = 200

LAYOUT: Final = 2
"""The canonical layout new transactions are sealed with.

1. vouchers numbered per year; postings ``[source, destination, amount]``.
2. vouchers numbered per month; each posting also carries its memo and, in a
   reversal, the position of the original posting it sends back; and, from revision
   0025, the user who recorded it (``recorded_by``, 制单), present only when known, so
   every transaction sealed before keeps its hash.
"""


def utc_now() -> datetime:
    """Now (:func:`ledger.clock.now`) in UTC, naive: stored that way so both databases
    return exactly what was hashed."""
    return as_naive_utc(clock.now())


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
      memo: this line's own 摘要 (the payee and studio of a stipend line), shown in
        the books instead of the transaction's memo when given.
      reverses: in a reversal, the position (from 0) of the original
        transaction's posting this one sends back; each is sent back at most once.
    """

    source: Account
    destination: Account
    amount: Fen
    memo: str = ""
    reverses: int | None = None


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
      reverses: the sequence number of the transaction whose postings this one
        sends back (all of them or some: each posting names its original).
    """

    idempotency_key: str
    effective_date: date
    memo: str
    postings: tuple[Posting, ...]
    metadata: Metadata = field(default_factory=dict)
    reverses: int | None = None


@dataclass(frozen=True, slots=True, order=True)
class Voucher:
    """凭证号: numbered from 1 without gaps within each month of effective date.

    Numbers are given in the order vouchers are recorded, so within a month the
    voucher order is the recording order, and the books list a month's entries
    in it (a voucher dated back within an open month still follows the ones
    recorded before it).
    """

    year: int
    month: int
    number: int

    def __str__(self) -> str:
        return f"记-{self.year}-{self.month:02d}-{self.number:04d}"

    @classmethod
    def parse(cls, text: str, *, field: str = "voucher") -> Voucher:
        """``记-2024-03-0002`` as printed (the 记- may be left off), or a refusal."""
        found = _VOUCHER.fullmatch(text.strip().removeprefix("记-"))
        if found is None or not 1 <= int(found[2]) <= 12 or int(found[3]) < 1:
            raise ValidationError(field, f"凭证号应写作 记-2024-03-0002：{text!r}")
        return cls(int(found[1]), int(found[2]), int(found[3]))


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
      layout: the canonical layout it was sealed with (see :data:`LAYOUT`).
      recorded_by: the user whose action recorded it (``None`` before revision 0025),
        sealed with it: the 记账凭证's 制单 or 记账.
    """

    seq: int
    voucher: Voucher
    recorded_at: datetime
    request: NewTransaction
    prev_hash: str
    hash: str
    layout: int = LAYOUT
    recorded_by: str | None = None

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
    original: Transaction,
    *,
    idempotency_key: str,
    effective_date: date,
    memo: str | None = None,
    positions: Sequence[int] | None = None,
) -> NewTransaction:
    """The transaction that undoes ``original``'s postings at ``positions`` (default:
    all of them), each sent back whole with its own memo."""
    chosen = range(len(original.postings)) if positions is None else positions
    return NewTransaction(
        idempotency_key=idempotency_key,
        effective_date=effective_date,
        memo=memo or f"冲销 {original.voucher}：{original.memo}"[:MAX_MEMO_LENGTH],
        postings=tuple(_sent_back(original.postings[i], i) for i in chosen),
        metadata={"reverses_voucher": str(original.voucher)},
        reverses=original.seq,
    )


def _sent_back(posting: Posting, position: int) -> Posting:
    return Posting(posting.destination, posting.source, posting.amount, posting.memo, position)


def validate(transaction: NewTransaction) -> list[ValidationError]:
    """Every reason ``transaction`` cannot be posted; empty when it can."""
    errors = _key_and_memo_errors(transaction)
    if not transaction.postings:
        errors.append(ValidationError("postings", "一笔交易至少要有一条分录"))
    for i, posting in enumerate(transaction.postings):
        errors.extend(_posting_errors(f"postings[{i}]", posting))
    errors.extend(_reference_errors(transaction))
    errors.extend(_metadata_errors("metadata", transaction.metadata))
    return errors


def header_errors(transaction: NewTransaction) -> list[ValidationError]:
    """What :func:`validate` finds wrong outside the postings: the key, memo, metadata."""
    return _key_and_memo_errors(transaction) + _metadata_errors("metadata", transaction.metadata)


def postings_errors(postings: Sequence[Posting], *, start: int = 0) -> list[ValidationError]:
    """What :func:`validate` finds wrong with a chunk of a transaction's postings that
    reverses nothing, the first of them at position ``start``."""
    errors: list[ValidationError] = []
    for i, posting in enumerate(postings, start):
        errors.extend(_posting_errors(f"postings[{i}]", posting))
        if posting.reverses is not None:
            errors.append(ValidationError(f"postings[{i}].reverses", _NOT_A_REVERSAL))
    return errors


_NOT_A_REVERSAL: Final = "只有冲销交易的分录才能指明原分录"


def _key_and_memo_errors(transaction: NewTransaction) -> list[ValidationError]:
    errors: list[ValidationError] = []
    key = transaction.idempotency_key
    if not key or len(key) > MAX_KEY_LENGTH or key != key.strip():
        errors.append(
            ValidationError(
                "idempotency_key", f"幂等键须为1至{MAX_KEY_LENGTH}个字符，首尾不能有空格"
            )
        )
    if not transaction.memo.strip() or len(transaction.memo) > MAX_MEMO_LENGTH:
        errors.append(ValidationError("memo", f"摘要须为1至{MAX_MEMO_LENGTH}个字符"))
    elif hidden := hidden_character_error("memo", transaction.memo):
        errors.append(hidden)
    return errors


def _reference_errors(transaction: NewTransaction) -> list[ValidationError]:
    """A reversal's postings each name one original posting; other postings name none."""
    errors: list[ValidationError] = []
    seen: set[int] = set()
    for i, posting in enumerate(transaction.postings):
        where = f"postings[{i}].reverses"
        if transaction.reverses is None and posting.reverses is not None:
            errors.append(ValidationError(where, _NOT_A_REVERSAL))
        elif transaction.reverses is not None and posting.reverses is None:
            errors.append(ValidationError(where, "冲销交易的分录须指明所冲销的原分录"))
        elif posting.reverses is not None:
            if type(posting.reverses) is not int or posting.reverses < 0:
                errors.append(ValidationError(where, "须为从 0 起的分录序号"))
            elif posting.reverses in seen:
                errors.append(
                    ValidationError(
                        where, f"序号为 {posting.reverses} 的原分录在本次冲销中出现两次"
                    )
                )
            seen.add(posting.reverses)
    return errors


def _posting_errors(where: str, posting: Posting) -> list[ValidationError]:
    errors: list[ValidationError] = []
    if type(posting.amount) is not int or posting.amount <= 0:
        errors.append(
            ValidationError(f"{where}.amount", f"金额须为正整数（以分计），实为 {posting.amount!r}")
        )
    elif posting.amount > MAX_AMOUNT:
        errors.append(
            ValidationError(
                f"{where}.amount",
                f"金额超过上限（最多 {format_plain(MAX_AMOUNT)} 元）",
            )
        )
    for side in ("source", "destination"):
        address = getattr(posting, side)
        try:
            account_kind(address)
        except ValidationError as error:
            errors.append(ValidationError(f"{where}.{side}", error.message))
    if posting.source == posting.destination:
        errors.append(ValidationError(f"{where}.destination", "转出科目与转入科目不能相同"))
    if len(posting.memo) > MAX_MEMO_LENGTH or posting.memo != posting.memo.strip():
        errors.append(
            ValidationError(f"{where}.memo", f"摘要最多{MAX_MEMO_LENGTH}个字符，首尾不能有空格")
        )
    elif hidden := hidden_character_error(f"{where}.memo", posting.memo):
        errors.append(hidden)
    return errors


def _metadata_errors(where: str, value: object) -> list[ValidationError]:
    if isinstance(value, Mapping):
        errors = [
            ValidationError(where, f"键须为文本，实为 {k!r}")
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
        ValidationError(where, f"须为文本、整数、true/false 或 null，实为 {type(value).__name__}")
    ]


def balance_changes(postings: Iterable[Posting]) -> dict[Account, Fen]:
    """The net change each account sees from ``postings``."""
    changes: dict[Account, Fen] = {}
    for p in postings:
        changes[p.source] = changes.get(p.source, 0) - p.amount
        changes[p.destination] = changes.get(p.destination, 0) + p.amount
    return changes


def canonical_content(transaction: Transaction) -> str:
    """The exact text that is hashed: stable across databases and Python versions,
    in the layout the transaction was sealed with."""
    before, after = _frame(transaction)
    return before + _items(transaction.postings, transaction.layout) + after


def _frame(transaction: Transaction) -> tuple[str, str]:
    """The canonical text before its postings' items (ending ``"postings":[``) and after
    them (from the ``]`` on). ``"postings"`` is the last key but five in sorted order, and
    the keys after it hold numbers and escaped strings only: the marker is found at its
    last occurrence, never inside the metadata before it."""
    request = transaction.request
    voucher = transaction.voucher
    content: dict[str, object] = {
        "seq": transaction.seq,
        "recorded_at": transaction.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "effective_date": request.effective_date.isoformat(),
        "idempotency_key": request.idempotency_key,
        "memo": request.memo,
        "metadata": request.metadata,
        "reverses": request.reverses,
        "postings": [],
    }
    if transaction.layout == 1:
        content["voucher"] = [voucher.year, voucher.number]
    elif transaction.layout == LAYOUT:
        content["layout"] = LAYOUT
        content["voucher"] = [voucher.year, voucher.month, voucher.number]
        if transaction.recorded_by is not None:
            content["recorded_by"] = transaction.recorded_by
    else:
        raise ValueError(f"unknown canonical layout {transaction.layout}")
    text = _canonical_json(content)
    cut = text.rindex(_POSTINGS_MARK) + len(_POSTINGS_MARK) - 1
    return text[:cut], text[cut:]


_POSTINGS_MARK: Final = '"postings":[]'


def _items(postings: Sequence[Posting], layout: int) -> str:
    """``postings`` as the canonical text lists them, without the brackets."""
    return _canonical_json([_posting_item(p, layout) for p in postings])[1:-1]


def _posting_item(posting: Posting, layout: int) -> list[object]:
    if layout == 1:
        return [posting.source, posting.destination, posting.amount]
    return [posting.source, posting.destination, posting.amount, posting.memo, posting.reverses]


def _canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class ChainHasher:
    """:func:`chain_hash` worked out a chunk of postings at a time, so a voucher of a
    million postings is sealed without its canonical text ever being held whole: the
    chunks, added in order, give the very hash of the transaction holding them all."""

    def __init__(self, transaction: Transaction, key: bytes | None) -> None:
        before, self._after = _frame(transaction)
        self._layout = transaction.layout
        self._digest = hashlib.sha256() if key is None else hmac.new(key, None, hashlib.sha256)
        self._digest.update(f"{transaction.prev_hash}\n{before}".encode())
        self._empty = True

    def add(self, postings: Sequence[Posting]) -> None:
        if postings:
            comma = "" if self._empty else ","
            self._digest.update((comma + _items(postings, self._layout)).encode())
            self._empty = False

    def hexdigest(self) -> str:
        digest = self._digest.copy()
        digest.update(self._after.encode())
        return digest.hexdigest()


def chain_hash(prev_hash: str, transaction: Transaction, key: bytes | None) -> str:
    """HMAC-SHA-256 under ``key`` over the previous hash and this transaction's
    canonical content; plain SHA-256 of the same for a transaction sealed before
    the ledger was keyed (``key`` None)."""
    hasher = ChainHasher(replace(transaction, prev_hash=prev_hash), key)
    hasher.add(transaction.postings)
    return hasher.hexdigest()


def sealed(
    seq: int,
    voucher: Voucher,
    recorded_at: datetime,
    request: NewTransaction,
    prev_hash: str,
    layout: int = LAYOUT,
    *,
    key: bytes | None,
    recorded_by: str | None = None,
) -> Transaction:
    """A recorded transaction with its chain hash computed under ``key``."""
    unsealed = Transaction(seq, voucher, recorded_at, request, prev_hash, "", layout, recorded_by)
    return replace(unsealed, hash=chain_hash(prev_hash, unsealed, key))


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first transaction whose stored content no longer matches the chain."""

    seq: int
    voucher: Voucher
    reason: str


def first_broken_link(
    transactions: Iterable[Transaction], keys: KeyRing | None
) -> BrokenLink | None:
    """Walk the chain in ``seq`` order; the first link that does not hold, if any.

    Each transaction is checked under the key ``keys`` give its sequence number
    (plain SHA-256 before the first); with no ring, a keyed transaction cannot be
    checked and is reported as such.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for t in transactions:
        if t.seq != expected_seq:
            return BrokenLink(t.seq, t.voucher, f"序号不连续：此处应为第{expected_seq}笔")
        if t.prev_hash != expected_prev:
            return BrokenLink(t.seq, t.voucher, "与前一笔的哈希链接不符")
        key = None if keys is None else keys.key_for(t.seq)
        if chain_hash(t.prev_hash, t, None if key is None else key.secret) != t.hash:
            reason = (
                "存储的内容与其哈希不符"
                if keys is not None
                else "与其普通 SHA-256 哈希不符，且没有账链密钥，无法按账链密钥校验"
            )
            return BrokenLink(t.seq, t.voucher, reason)
        expected_prev = t.hash
        expected_seq += 1
    return None
