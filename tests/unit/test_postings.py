"""Accounts, transaction validation and the hash chain, without a database."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.accounts import account_kind, may_go_negative, studio_fund, studio_payable
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.books.postings import (
    GENESIS_HASH,
    ChainHasher,
    NewTransaction,
    Posting,
    Transaction,
    Voucher,
    balance_changes,
    canonical_content,
    chain_hash,
    first_broken_link,
    reversal_of,
    sealed,
    validate,
)
from ledger.errors import InvalidAccountError

APPROPRIATION = NewTransaction(
    idempotency_key="appropriation:2024:HJ01",
    effective_date=date(2024, 1, 2),
    memo="2024年度业务经费拨款",
    postings=(
        Posting("source:finance", "studio:HJ01:fund:finance", 2_500_000),
        Posting("source:edu_fund", "studio:HJ01:fund:edu_fund", 2_500_000),
    ),
    metadata={"studio": "HJ01", "year": 2024},
)

LEGACY_HASH = "aa1a8c93b63e7c0b4e35d2dfc6e6fc1dc977e4e780bef3fb92f78b8873839e6b"
"""APPROPRIATION sealed as seq 1, voucher 记-2024-000001, at 2024-01-02 09:00 by the code
before vouchers were numbered per month (commit 7c3f5f9)."""


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("source:finance", "source"),
        ("source:edu_fund", "source"),
        ("source:unit:HJ-No1-School", "source"),
        ("studio:HJ01:fund:matching", "fund"),
        ("studio:HJ01:payable:P000123", "payable"),
        ("expense:training:studio:HJ01", "expense"),
        ("bank:disbursed", "bank"),
        ("tax:withheld", "tax"),
    ],
)
def test_known_account_shapes(address: str, kind: str) -> None:
    assert account_kind(address) == kind


@pytest.mark.parametrize(
    "address",
    [
        "source:finanse",
        "studio:HJ01:fund:other",
        "studio::fund:finance",
        "bank:cash",
        "Studio:HJ01:fund:finance",
        "studio:HJ01:fund:finance:",
        "",
        "studio:HJ 01:fund:finance",
    ],
)
def test_a_typo_cannot_open_a_phantom_account(address: str) -> None:
    with pytest.raises(InvalidAccountError, match="未知的科目地址"):
        account_kind(address)


def test_only_source_accounts_may_go_negative() -> None:
    assert may_go_negative("source:finance")
    assert may_go_negative("source:unit:U1")
    assert not may_go_negative(studio_fund("HJ01", "finance"))
    assert not may_go_negative(studio_payable("HJ01", "P1"))
    assert not may_go_negative("bank:disbursed")


def test_a_valid_transaction_has_no_errors() -> None:
    assert validate(APPROPRIATION) == []


def test_validation_lists_every_problem_with_its_field() -> None:
    bad = NewTransaction(
        idempotency_key=" ",
        effective_date=date(2024, 1, 2),
        memo="",
        postings=(
            Posting("source:finance", "studio:HJ01:fund:finance", 0),
            Posting("bank:disbursed", "bank:disbursed", -5),
            Posting("nowhere", "studio:HJ01:fund:finance", 10),
            Posting("source:finance", "studio:HJ01:fund:finance", 10**12 + 1),
        ),
        metadata={"rate": 0.5},  # type: ignore[dict-item]
    )
    fields = [e.field for e in validate(bad)]
    assert fields == [
        "idempotency_key",
        "memo",
        "postings[0].amount",
        "postings[1].amount",
        "postings[1].destination",
        "postings[2].source",
        "postings[3].amount",
        "metadata.rate",
    ]


def test_an_empty_transaction_is_refused() -> None:
    empty = replace(APPROPRIATION, postings=())
    assert [e.field for e in validate(empty)] == ["postings"]


def test_balance_changes_net_each_account_and_sum_to_zero() -> None:
    changes = balance_changes(APPROPRIATION.postings)
    assert changes == {
        "source:finance": -2_500_000,
        "studio:HJ01:fund:finance": 2_500_000,
        "source:edu_fund": -2_500_000,
        "studio:HJ01:fund:edu_fund": 2_500_000,
    }
    assert sum(changes.values()) == 0


def test_a_reversal_sends_every_posting_back_and_names_the_original() -> None:
    original = sealed(
        7, Voucher(2024, 1, 3), datetime(2024, 1, 2, 9), APPROPRIATION, GENESIS_HASH, key=KEY
    )
    reversal = reversal_of(original, idempotency_key="r1", effective_date=date(2024, 2, 1))
    assert reversal.reverses == 7
    assert reversal.memo == "冲销 记-2024-01-0003：2024年度业务经费拨款"
    assert reversal.postings == (
        Posting("studio:HJ01:fund:finance", "source:finance", 2_500_000, reverses=0),
        Posting("studio:HJ01:fund:edu_fund", "source:edu_fund", 2_500_000, reverses=1),
    )
    assert validate(reversal) == []
    only_second = reversal_of(
        original, idempotency_key="r2", effective_date=date(2024, 2, 1), positions=[1]
    )
    assert only_second.postings == (
        Posting("studio:HJ01:fund:edu_fund", "source:edu_fund", 2_500_000, reverses=1),
    )


def test_a_transaction_sealed_in_the_first_layout_keeps_its_hash() -> None:
    """Transactions recorded before vouchers were numbered per month still verify:
    this hash was computed by the first layout's code for these exact contents."""
    legacy = sealed(
        1,
        Voucher(2024, 1, 1),
        datetime(2024, 1, 2, 9),
        APPROPRIATION,
        GENESIS_HASH,
        layout=1,
        key=None,
    )
    assert legacy.hash == LEGACY_HASH
    assert first_broken_link([legacy], KeyRing((ChainKey(2, KEY),))) is None
    at = datetime(2024, 1, 2, 9)
    assert sealed(1, Voucher(2024, 1, 1), at, APPROPRIATION, GENESIS_HASH, key=None).hash != (
        LEGACY_HASH
    )


KEY = bytes(range(32))
RING = KeyRing((ChainKey(1, KEY),))


def _chain(n: int, keys: KeyRing = RING) -> list:  # type: ignore[type-arg]
    chain, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        request = replace(APPROPRIATION, idempotency_key=f"k{seq}")
        key = keys.key_for(seq)
        t = sealed(
            seq,
            Voucher(2024, 1, seq),
            datetime(2024, 1, 2, 9),
            request,
            prev,
            key=None if key is None else key.secret,
        )
        chain.append(t)
        prev = t.hash
    return chain


def test_an_intact_chain_has_no_broken_link() -> None:
    assert first_broken_link(_chain(5), RING) is None


def test_a_keyed_hash_is_hmac_sha256_of_the_previous_hash_and_the_content() -> None:
    """RFC 2104 over the same payload plain SHA-256 hashed before: recomputable by anyone
    holding the key, and by no one else."""
    t = _chain(1)[0]
    payload = f"{GENESIS_HASH}\n{canonical_content(t)}".encode()
    assert t.hash == hmac.new(KEY, payload, hashlib.sha256).hexdigest()
    assert t.hash != hashlib.sha256(payload).hexdigest()


def test_a_transaction_forged_with_the_public_algorithm_breaks_a_keyed_chain() -> None:
    """Someone who can write the database but not read the key appends a transaction and
    seals it the only way they can: plain SHA-256, or HMAC under a key of their own."""
    chain = _chain(3)
    request = replace(APPROPRIATION, idempotency_key="forged")
    at = datetime(2024, 1, 2, 9)
    for forged_key in (None, bytes(32)):
        forged = sealed(4, Voucher(2024, 1, 4), at, request, chain[-1].hash, key=forged_key)
        broken = first_broken_link([*chain, forged], RING)
        assert broken is not None
        assert (broken.seq, broken.reason) == (4, "存储的内容与其哈希不符")


def test_a_rotated_ring_checks_each_transaction_under_the_key_that_sealed_it() -> None:
    rotated = RING.rotated(3, bytes(range(1, 33)))
    chain = _chain(6, rotated)
    assert first_broken_link(chain, rotated) is None
    broken = first_broken_link(chain, RING)  # the ring before rotation cannot check 4-6
    assert broken is not None
    assert broken.seq == 4
    legacy_then_keyed = KeyRing((ChainKey(3, KEY),))
    assert first_broken_link(_chain(5, legacy_then_keyed), legacy_then_keyed) is None
    broken = first_broken_link(_chain(5, legacy_then_keyed), None)
    assert broken is not None
    assert broken.seq == 3
    assert "没有账链密钥" in broken.reason


def test_a_changed_amount_breaks_the_chain_at_that_transaction() -> None:
    chain = _chain(5)
    tampered = Posting("source:finance", "studio:HJ01:fund:finance", 2_500_001)
    tampered_request = replace(
        chain[2].request, postings=(tampered, *chain[2].request.postings[1:])
    )
    chain[2] = replace(chain[2], request=tampered_request)
    broken = first_broken_link(chain, RING)
    assert broken is not None
    assert (broken.seq, str(broken.voucher)) == (3, "记-2024-01-0003")
    assert "与其哈希不符" in broken.reason


def test_a_removed_transaction_breaks_the_chain() -> None:
    chain = _chain(4)
    del chain[1]
    broken = first_broken_link(chain, RING)
    assert broken is not None
    assert broken.seq == 3
    assert "序号不连续" in broken.reason


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_POSTING = st.builds(
    Posting,
    st.sampled_from(["source:finance", "studio:HJ01:fund:finance", "studio:HJ01:payable:P1"]),
    st.sampled_from(["studio:HJ01:payable:P2", "bank:disbursed"]),
    st.integers(1, 10**12),
    _TEXT,
)
_METADATA = st.dictionaries(
    st.sampled_from(["postings", "batch", "memo", '"postings":[]']),
    st.one_of(st.integers(), _TEXT, st.just([]), st.just({"postings": []})),
    max_size=3,
)


def _whole_text(t: Transaction) -> str:
    """The canonical text as it was written before it was ever split: one dict, dumped."""
    content: dict[str, object] = {
        "seq": t.seq,
        "recorded_at": t.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "effective_date": t.request.effective_date.isoformat(),
        "idempotency_key": t.request.idempotency_key,
        "memo": t.request.memo,
        "metadata": t.request.metadata,
        "reverses": t.request.reverses,
    }
    if t.layout == 1:
        content["voucher"] = [t.voucher.year, t.voucher.number]
        content["postings"] = [[p.source, p.destination, p.amount] for p in t.postings]
    else:
        content["layout"] = t.layout
        content["voucher"] = [t.voucher.year, t.voucher.month, t.voucher.number]
        content["postings"] = [
            [p.source, p.destination, p.amount, p.memo, p.reverses] for p in t.postings
        ]
        if t.recorded_by is not None:
            content["recorded_by"] = t.recorded_by
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@given(
    postings=st.lists(_POSTING, max_size=8),
    memo=_TEXT,
    metadata=_METADATA,
    layout=st.sampled_from([1, 2]),
    recorded_by=st.one_of(st.none(), _TEXT),
    cuts=st.lists(st.integers(0, 8), max_size=4),
    key=st.one_of(st.none(), st.just(KEY)),
)
def test_a_voucher_hashed_a_chunk_at_a_time_seals_as_the_whole(
    postings: list[Posting],
    memo: str,
    metadata: dict[str, object],
    layout: int,
    recorded_by: str | None,
    cuts: list[int],
    key: bytes | None,
) -> None:
    """The canonical text is the one dict dumped whole, whatever the memo, the metadata
    (even a nested ``"postings"`` key) or the signer; and the chunks, added in order however
    they are cut (empty ones too), give the very hash of the transaction holding them all."""
    request = replace(APPROPRIATION, memo=memo, metadata=metadata, postings=tuple(postings))
    t = Transaction(
        7, Voucher(2024, 1, 3), datetime(2024, 1, 2, 9), request, "ab" * 32, "", layout, recorded_by
    )
    assert canonical_content(t) == _whole_text(t)
    hasher = ChainHasher(t, key)
    bounds = [0, *sorted(cuts), len(postings)]
    for start, end in itertools.pairwise(bounds):
        hasher.add(postings[start:end])
    assert hasher.hexdigest() == chain_hash(t.prev_hash, t, key)
    payload = f"{t.prev_hash}\n{_whole_text(t)}".encode()
    plain = hashlib.sha256(payload).hexdigest()
    assert hasher.hexdigest() == (
        plain if key is None else hmac.new(key, payload, "sha256").hexdigest()
    )
