"""The keyed hash chain on both databases: a forged transaction sealed with the public
algorithm is caught; the key lives in a file outside the database, made once, rotated
under the chain head lock and seen by every writer; without it nothing is posted."""

from __future__ import annotations

import os
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text, update

from ledger.books import book
from ledger.books.postings import NewTransaction, Posting, Voucher, sealed, utc_now
from ledger.errors import ChainKeyError
from schema.db import UnitOfWork, connect
from schema.keys import FILE_VARIABLE, RING_VARIABLE
from schema.ledger_store import posting_rows, transaction_row
from schema.tables import AccountRow, ChainHeadRow, PostingRow, TransactionRow

FUND = "studio:HJ01:fund:finance"
EXPENSE = "expense:training:studio:HJ01"


def _post(engine: Engine, *requests: NewTransaction) -> None:
    with UnitOfWork(engine) as uow:
        book.post(uow.ledger, list(requests))
        uow.commit()


def _funding(key: str = "a") -> NewTransaction:
    return NewTransaction(
        key, date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
    )


def _spend(key: str, amount: int) -> NewTransaction:
    return NewTransaction(key, date(2024, 3, 1), "培训费", (Posting(FUND, EXPENSE, amount),))


def _verify(engine: Engine) -> book.VerifyReport:
    with UnitOfWork(engine, write=False) as uow:
        return book.verify(uow.ledger)


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(TransactionRow)).scalar_one()
        )


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ring in a key file, as ``db upgrade`` makes it, not in the environment."""
    monkeypatch.delenv(RING_VARIABLE)
    path = tmp_path / "keys" / "chain.keys"
    monkeypatch.setenv(FILE_VARIABLE, str(path))
    return path


def test_a_transaction_appended_with_the_public_algorithm_is_caught(engine: Engine) -> None:
    """Someone with full database access (triggers off) appends a payment to themselves,
    sealed with the published algorithm, and fixes up the chain head and the balances
    so that everything else is consistent. Only the key tells it apart."""
    _post(engine, _funding(), _spend("s1", 1_000))
    with UnitOfWork(engine, write=False) as uow:
        last = uow.ledger.get(2)
    assert last is not None
    forged_request = _spend("forged", 100_000)
    forged = sealed(3, Voucher(2024, 3, 2), utc_now(), forged_request, last.hash, key=None)
    with engine.begin() as connection:
        ids = {
            r.address: r.id for r in connection.execute(select(AccountRow.address, AccountRow.id))
        }
        connection.execute(insert(TransactionRow), [transaction_row(forged)])
        connection.execute(insert(PostingRow), posting_rows([forged], ids))
        connection.execute(update(ChainHeadRow).values(last_seq=3, last_hash=forged.hash))
        for address, change in ((FUND, -100_000), (EXPENSE, 100_000)):
            connection.execute(
                update(AccountRow)
                .where(AccountRow.address == address)
                .values(balance=AccountRow.balance + change)
            )
    report = _verify(engine)
    assert not report.ok
    assert report.broken_link is not None
    assert (report.broken_link.seq, report.broken_link.reason) == (
        3,
        "存储的内容与其哈希不符",
    )
    assert report.mismatches == ()  # consistent in every other way
    assert report.head_mismatch is None


def test_db_upgrade_makes_one_key_file_only_its_owner_can_read(
    engine: Engine, key_file: Path
) -> None:
    from schema.migrate import prepare  # noqa: PLC0415

    ring = prepare(engine)
    assert ring is not None
    assert ring.keyed_from == 1
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert os.stat(key_file.parent).st_mode & 0o777 == 0o700
    assert ring.current.line() in key_file.read_text(encoding="utf-8")
    assert prepare(engine) is None  # kept, not replaced
    _post(engine, _funding())
    assert _verify(engine).ok
    assert _verify(engine).keyed_from == 1


def test_a_rotation_is_seen_by_a_writer_that_was_waiting_for_the_chain_head(
    engine: Engine, key_file: Path
) -> None:
    """A writer in another connection (another process, as far as the key is concerned)
    blocks on the chain head while the key is rotated; it must seal with the new key."""
    from schema.migrate import prepare  # noqa: PLC0415

    first = prepare(engine)
    assert first is not None
    _post(engine, _funding())
    other = connect(engine.url.render_as_string(hide_password=False))
    started = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        started.set()
        try:
            _post(other, _spend("while-rotating", 1_000))
        except BaseException as error:
            failures.append(error)

    with UnitOfWork(engine) as uow:
        uow.ledger.lock_head()
        writer = threading.Thread(target=write)
        writer.start()
        started.wait()
        time.sleep(0.5)  # the writer is now waiting for the chain head
        rotated = book.rotate_chain_key(uow.ledger)
        uow.commit()
    writer.join(timeout=60)
    other.dispose()
    assert failures == []
    assert [k.from_seq for k in rotated.keys] == [1, 2]
    assert key_file.read_text(encoding="utf-8").splitlines()[-2:] == [
        first.current.line(),
        rotated.current.line(),
    ]
    with UnitOfWork(engine, write=False) as uow:
        sealed_by_writer = uow.ledger.get(2)
    assert sealed_by_writer is not None
    assert sealed_by_writer.hash == (
        sealed(
            2,
            sealed_by_writer.voucher,
            sealed_by_writer.recorded_at,
            sealed_by_writer.request,
            sealed_by_writer.prev_hash,
            key=rotated.current.secret,
        ).hash
    )
    assert _verify(engine).ok
    assert os.stat(key_file).st_mode & 0o777 == 0o600


def test_without_its_key_file_the_ledger_posts_nothing_and_verify_says_why(
    engine: Engine, key_file: Path
) -> None:
    from schema.migrate import prepare  # noqa: PLC0415

    prepare(engine)
    _post(engine, _funding())
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(ChainKeyError, match=f"账链密钥文件不存在：{key_file}"):
        _post(engine, _spend("s1", 1_000))
    assert _count(engine) == 1
    report = _verify(engine)
    assert not report.ok
    assert report.key_problem is not None
    assert str(key_file) in report.key_problem
    assert report.broken_link is not None
    assert report.broken_link.seq == 1

    key_file.write_bytes(saved)
    key_file.chmod(0o644)  # a copy that others can read is refused, as ssh refuses one
    with pytest.raises(ChainKeyError, match="chmod 600"):
        _post(engine, _spend("s1", 1_000))
    key_file.chmod(0o600)
    _post(engine, _spend("s1", 1_000))
    assert _verify(engine).ok


def test_a_ring_from_the_environment_cannot_be_rewritten_by_the_program(engine: Engine) -> None:
    with UnitOfWork(engine) as uow, pytest.raises(ChainKeyError, match="keys rotate --print"):
        book.rotate_chain_key(uow.ledger)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT last_seq FROM chain_head")).scalar_one() == 0


def test_a_key_that_does_not_seal_this_chain_is_refused_before_anything_is_written(
    engine: Engine, key_file: Path
) -> None:
    """Another ledger's key file put in place of this one's (or a key mistyped): the
    head's seal does not hold under it, so the write is refused naming the file, rather
    than sealing links that make verify call the rest of the chain broken."""
    from schema.migrate import prepare  # noqa: PLC0415

    prepare(engine)
    _post(engine, _funding())
    saved = key_file.read_text(encoding="utf-8")
    number, secret = saved.strip().splitlines()[-1].split(":")
    other = f"{number}:{'7' * len(secret)}\n"
    key_file.write_text(saved.replace(saved.strip().splitlines()[-1] + "\n", other))
    with pytest.raises(
        ChainKeyError, match=f"账链密钥与账簿不符：第1笔（记-2024-01-0001）的封印在 {key_file}"
    ):
        _post(engine, _spend("s1", 1_000))
    assert _count(engine) == 1
    key_file.write_text(saved, encoding="utf-8")
    _post(engine, _spend("s1", 1_000))
    assert _verify(engine).ok
