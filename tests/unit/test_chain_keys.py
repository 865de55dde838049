"""The chain key ring (ledger/chain_keys.py) and how the ledger seals and verifies with
it (ledger/book.py), on an in-memory ledger."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import make_url

from ledger.books import book
from ledger.books.chain_keys import ChainKey, KeyRing, first_ring, parse_key_ring
from ledger.books.postings import GENESIS_HASH, NewTransaction, Posting, Voucher, sealed
from ledger.errors import ChainKeyError, ValidationError
from schema.keys import FILE_VARIABLE, RING_VARIABLE, key_source
from tests.fakes import FakeLedger

A = bytes(range(32))
B = bytes(range(1, 33))


def _funding(key: str) -> NewTransaction:
    return NewTransaction(
        key, date(2024, 1, 2), "拨款", (Posting("source:finance", "studio:HJ01:fund:finance", 100),)
    )


def test_a_ring_reads_back_from_its_file_text_and_its_variable_text() -> None:
    ring = KeyRing((ChainKey(1, A), ChainKey(40, B)))
    assert parse_key_ring("# comment\n" + ring.text(), source="f") == ring
    assert parse_key_ring(ring.env_text(), source="v") == ring
    assert ring.env_text() == f"1:{A.hex()},40:{B.hex()}"
    assert "secret" not in repr(ring)
    assert A.hex() not in repr(ring)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("", "keys", "没有账链密钥"),
        ("# only a comment\n", "keys", "没有账链密钥"),
        (f"1:{A.hex()[:-2]}", "keys line 1", "64 位十六进制"),
        (f"0:{A.hex()}", "keys line 1", "逐行递增"),
        (f"5:{A.hex()}\n5:{B.hex()}", "keys line 2", "逐行递增"),
        (f"5:{A.hex()}\n\n3:{B.hex()}", "keys line 3", "逐行递增"),
        (f"1 {A.hex()}", "keys line 1", "FROM_SEQ:KEY"),
    ],
)
def test_a_bad_ring_is_refused_naming_the_line_and_never_showing_a_key(
    text: str, where: str, says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_key_ring(text, source="keys")
    assert refused.value.field == where
    assert says in refused.value.message
    assert A.hex() not in str(refused.value)
    assert B.hex() not in str(refused.value)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=6))
def test_each_sequence_number_is_sealed_by_the_key_rotated_in_last_before_it(
    heads: list[int],
) -> None:
    """Rotating at rising heads h1 < h2 < …: transaction s is sealed by the key of the last
    rotation at a head below s; before the first key, by none."""
    heads = sorted(set(heads))
    ring = first_ring(heads[0])
    secrets = [ring.current.secret]
    for head in heads[1:]:
        ring = ring.rotated(head, bytes([len(secrets)]) * 32)
        secrets.append(ring.current.secret)
    for seq in range(1, heads[-1] + 3):
        earlier = [i for i, head in enumerate(heads) if head < seq]
        expected = secrets[earlier[-1]] if earlier else None
        found = ring.key_for(seq)
        assert (found.secret if found else None) == expected
    assert ring.keyed_from == heads[0] + 1
    assert parse_key_ring(ring.text(), source="f") == ring


def test_a_key_that_sealed_nothing_yet_is_replaced_by_a_rotation() -> None:
    ring = KeyRing((ChainKey(1, A), ChainKey(11, B)))
    assert ring.rotated(10, A).keys == (ChainKey(1, A), ChainKey(11, A))
    assert ring.rotated(11, A).keys == (ChainKey(1, A), ChainKey(11, B), ChainKey(12, A))


def test_the_ledger_seals_with_the_current_key_and_verifies_under_the_ring() -> None:
    ledger = FakeLedger(keys=KeyRing((ChainKey(1, A),)))
    book.post(ledger, [_funding("a"), _funding("b")])
    ledger.keys = book.rotate_chain_key(ledger)
    assert [k.from_seq for k in ledger.keys.keys] == [1, 3]
    book.post(ledger, [_funding("c")])
    report = book.verify(ledger)
    assert report.ok
    assert report.transactions == 3
    assert report.keyed_from == 1
    ledger.keys = KeyRing((ChainKey(1, A),))  # the rotated key lost
    report = book.verify(ledger)
    assert not report.ok
    assert report.broken_link is not None
    assert report.broken_link.seq == 3


def test_nothing_is_posted_without_a_key_and_verify_says_why() -> None:
    ledger = FakeLedger(keys=None)
    with pytest.raises(ChainKeyError):
        book.post(ledger, [_funding("a")])
    assert ledger.transactions == []
    report = book.verify(ledger)
    assert not report.ok
    assert report.key_problem == "no chain key (test)"


def test_a_ring_written_for_a_longer_ledger_refuses_to_seal_and_fails_verify() -> None:
    """The ring said keys start at 6 when the ledger ended at 5: a ledger now ending at 2
    lost its tail (or is an older copy), however consistent the rest of it looks."""
    ledger = FakeLedger(keys=KeyRing((ChainKey(1, A),)))
    book.post(ledger, [_funding("a"), _funding("b")])
    ledger.keys = KeyRing((ChainKey(1, A), ChainKey(6, B)))
    with pytest.raises(ChainKeyError, match="账链密钥自第6笔起启用，而账链止于第2笔"):
        book.post(ledger, [_funding("c")])
    assert len(ledger.transactions) == 2
    report = book.verify(ledger)
    assert not report.ok
    assert report.key_problem is not None
    assert "截断" in report.key_problem
    assert book.post(ledger, [_funding("a")])[0].seq == 1  # a replay needs no key


def test_the_first_key_seals_from_after_the_head_and_is_made_once() -> None:
    """A ledger from before keys (sealed plain SHA-256, its head naming no key) is keyed
    from the transaction after its head."""
    ledger = FakeLedger(keys=None)
    on = datetime(2024, 1, 2, 2)
    first = sealed(1, Voucher(2024, 1, 1), on, _funding("a"), GENESIS_HASH, key=None)
    second = sealed(2, Voucher(2024, 1, 2), on, _funding("b"), first.hash, key=None)
    moved = {"source:finance": -200, "studio:HJ01:fund:finance": 200}
    ledger.append([first, second], moved, [], None)
    made = book.key_the_chain(ledger)
    assert made is not None
    assert made.keyed_from == 3
    assert ledger.keys == made
    assert book.key_the_chain(ledger) is None


def test_a_sealed_ledger_whose_key_is_missing_is_given_no_new_one() -> None:
    """A new first key would call every sealed transaction plain: verify could no longer
    check them. The key is missing, not new: put it back."""
    ring = KeyRing((ChainKey(1, A),))
    ledger = FakeLedger(keys=ring)
    book.post(ledger, [_funding("a"), _funding("b")])
    ledger.keys = None
    with pytest.raises(ChainKeyError) as refused:
        book.key_the_chain(ledger)
    assert str(refused.value) == (
        f"账簿已由账链密钥 {ring.current.id} 加封（至第 2 笔），但找不到密钥：the fake's ring。"
        "请把原来的密钥文件放回该处（或设置 STUDIO_LEDGER_KEY_FILE 指向它），不要新建密钥"
    )
    assert ledger.keys is None
    ledger.head_key = None  # a head kept before migration 0019 names no key: its hash tells
    with pytest.raises(ChainKeyError, match=r"^账簿已由账链密钥加封（至第 2 笔）"):
        book.key_the_chain(ledger)
    assert ledger.keys is None


def test_a_ledger_of_one_sealed_transaction_is_given_no_new_key_either() -> None:
    ledger = FakeLedger(keys=KeyRing((ChainKey(1, A),)))
    book.post(ledger, [_funding("a")])
    ledger.keys, ledger.head_key = None, None
    with pytest.raises(ChainKeyError, match=r"^账簿已由账链密钥加封（至第 1 笔）"):
        book.key_the_chain(ledger)
    assert ledger.keys is None
    empty = FakeLedger(keys=None)  # a new ledger: keyed from its first transaction
    made = book.key_the_chain(empty)
    assert made is not None
    assert made.keyed_from == 1


def test_the_ring_is_looked_for_in_the_variable_then_the_named_file_then_beside_the_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sqlite = make_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    postgres = make_url("postgresql+psycopg://bureau@db.example:5433/studio_ledger")
    monkeypatch.setenv(RING_VARIABLE, f"1:{A.hex()}")
    assert key_source(sqlite).load() == KeyRing((ChainKey(1, A),))
    assert str(key_source(postgres)) == RING_VARIABLE
    monkeypatch.delenv(RING_VARIABLE)
    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "elsewhere.keys"))
    assert key_source(sqlite).path == tmp_path / "elsewhere.keys"
    monkeypatch.delenv(FILE_VARIABLE)
    assert key_source(sqlite).path == tmp_path / "ledger.db.keys"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert key_source(postgres).path == (
        tmp_path / "config" / "studio-ledger" / "db.example-5433-studio_ledger.keys"
    )
    with pytest.raises(ChainKeyError, match="没有账链密钥"):
        key_source(make_url("sqlite://")).load()
