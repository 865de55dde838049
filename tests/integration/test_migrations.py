"""The Alembic migrations build exactly the schema the typed models describe, and
keep a ledger recorded under an earlier schema whole and verifiable."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, make_url, text

from jobs.work import SCHEDULER_USER
from ledger.books import book
from ledger.books.postings import (
    GENESIS_HASH,
    NewTransaction,
    Posting,
    Transaction,
    Voucher,
    reversal_of,
    sealed,
)
from ledger.errors import ReversalError
from ledger.funds import fund_services
from ledger.funds.expenses import Receipt, receipt_transaction
from ledger.privacy import pseudonym, pseudonym_key
from schema.db import UnitOfWork, connect
from schema.keys import FILE_VARIABLE, RING_VARIABLE, key_source
from schema.ledger_store import transaction_row
from schema.migrate import (
    current_revision,
    downgrade,
    head_revision,
    ours,
    prepare,
    upgrade,
)
from schema.tables import Base


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": ours}
        )
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no schema at all, of each kind."""
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    url, _ = request.getfixturevalue("postgres_database")
    admin = connect(url, isolation_level="AUTOCOMMIT")
    name = f"studio_ledger_old_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = connect(make_url(url).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


SOURCE = "source:finance"
FUND = "studio:HJ01:fund:finance"
EXPENSE = "expense:training:studio:HJ01"


def _legacy_ledger(engine: Engine) -> list[Transaction]:
    """Three transactions as the schema of revision 0005 stored them: vouchers numbered
    per year, hashed in layout 1; the third reverses the second whole."""
    appropriation = NewTransaction(
        "a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
    )
    spend = NewTransaction("s", date(2024, 3, 10), "培训费", (Posting(FUND, EXPENSE, 100_000),))
    at = datetime(2024, 3, 21, 2)  # after the last of their dates: none is dated ahead
    chain = [sealed(1, Voucher(2024, 1, 1), at, appropriation, GENESIS_HASH, layout=1, key=None)]
    chain.append(sealed(2, Voucher(2024, 3, 2), at, spend, chain[0].hash, layout=1, key=None))
    undo = reversal_of(chain[1], idempotency_key="r", effective_date=date(2024, 3, 20))
    legacy_undo = replace(undo, postings=tuple(replace(p, reverses=None) for p in undo.postings))
    chain.append(sealed(3, Voucher(2024, 3, 3), at, legacy_undo, chain[1].hash, layout=1, key=None))
    ids = {"source:finance": 1, FUND: 2, EXPENSE: 3}
    balances = {"source:finance": -2_500_000, FUND: 2_500_000, EXPENSE: 0}
    with engine.begin() as connection:
        for address, account_id in ids.items():
            connection.execute(
                text(
                    "INSERT INTO accounts (id, address, kind, may_go_negative, balance, opened_at)"
                    " VALUES (:id, :address, :kind, :negative, :balance, :at)"
                ),
                {
                    "id": account_id,
                    "address": address,
                    "kind": address.split(":")[0],
                    "negative": address.startswith("source"),
                    "balance": balances[address],
                    "at": at,
                },
            )
        for t in chain:
            row = transaction_row(t)
            del row["voucher_month"], row["layout"], row["recorded_by"]
            row["metadata"] = json.dumps(row["metadata"])
            connection.execute(
                text(
                    f"INSERT INTO transactions ({', '.join(row)}) "
                    f"VALUES ({', '.join(':' + k for k in row)})"
                ),
                row,
            )
            for i, p in enumerate(t.postings):
                connection.execute(
                    text(
                        "INSERT INTO postings (transaction_seq, position, source_account_id, "
                        "destination_account_id, amount) VALUES (:t, :i, :s, :d, :a)"
                    ),
                    {
                        "t": t.seq,
                        "i": i,
                        "s": ids[p.source],
                        "d": ids[p.destination],
                        "a": p.amount,
                    },
                )
        connection.execute(
            text("UPDATE chain_head SET last_seq = 3, last_hash = :h"), {"h": chain[2].hash}
        )
        connection.execute(
            text("INSERT INTO voucher_counters (year, last_number) VALUES (2024, 3)")
        )
    return chain


def _books(uow: UnitOfWork) -> tuple[book.VerifyReport, dict[str, int]]:
    """What ``verify`` says and every kept balance, the guards a later revision adds (the
    originals' triggers, 0025) left out of the report."""
    report = book.verify(uow.ledger)
    guards = tuple(g for g in report.missing_guards if "attachment" not in g)
    return replace(report, missing_guards=guards), uow.ledger.kept_balances()


def _granted_at(
    engine: Engine, revision: str, amount: int
) -> tuple[book.VerifyReport, dict[str, int]]:
    """A keyed ledger at ``revision`` holding one grant of ``amount`` fen, written by
    today's code (:func:`_todays_columns` added), and what :func:`_books` says of it."""
    upgrade(engine, revision)
    _todays_columns(engine, add=True)
    with UnitOfWork(engine) as uow:
        book.key_the_chain(uow.ledger)
        grant = NewTransaction("g", date(2024, 1, 2), "拨款", (Posting(SOURCE, FUND, amount),))
        book.post(uow.ledger, [grant])
        uow.commit()
    with UnitOfWork(engine, write=False) as uow:
        return _books(uow)


def _todays_columns(engine: Engine, *, add: bool) -> None:
    """Let today's code write and read at an older revision: the columns a later revision
    adds (``transactions.recorded_by``, 0025) added for the while, and dropped again
    before the upgrade adds them (nothing written meanwhile holds a value in them)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "ALTER TABLE transactions ADD COLUMN recorded_by VARCHAR(50)"
                if add
                else "ALTER TABLE transactions DROP COLUMN recorded_by"
            )
        )


_DATES = [date(2024, 1, 1), date(2024, 1, 2), date(2024, 3, 9), date(2024, 3, 10)]
_DATES += [date(2024, 3, 19), date(2024, 3, 20)]


def test_transactions_recorded_before_per_month_vouchers_still_verify(
    empty_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """…and before the chain was keyed: ``db upgrade`` gives the ledger its first key,
    sealing from transaction 4; 1-3 stay plain SHA-256 and still verify."""
    monkeypatch.delenv(RING_VARIABLE)
    monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "chain.keys"))
    upgrade(empty_engine, "0005")
    legacy = _legacy_ledger(empty_engine)
    ring = prepare(empty_engine)
    assert ring is not None
    assert ring.keyed_from == 4
    assert prepare(empty_engine) is None  # once

    with UnitOfWork(empty_engine, write=False) as uow:
        report = book.verify(uow.ledger)
        kept = [uow.ledger.get(seq) for seq in (1, 2, 3)]
        assert uow.ledger.reversed_positions(2) == {0}
        # the days are filled from the postings recorded before (migration 0015)
        as_of = [uow.ledger.balance(FUND, d) for d in _DATES]
        assert [uow.ledger.balances_as_of(d)[FUND] for d in _DATES] == as_of
    assert as_of == [0, 2_500_000, 2_500_000, 2_400_000, 2_400_000, 2_500_000]
    assert report.ok
    assert report.last_hash == legacy[2].hash
    assert [t.layout for t in kept if t] == [1, 1, 1]
    assert [str(t.voucher) for t in kept if t] == [
        "记-2024-01-0001",
        "记-2024-03-0002",
        "记-2024-03-0003",
    ]
    # the old reversal now names the posting it sent back: it cannot be sent back again
    with UnitOfWork(empty_engine) as uow, pytest.raises(ReversalError, match="已冲销过"):
        book.reverse(uow.ledger, 2, idempotency_key="again", effective_date=date(2024, 4, 1))
    with UnitOfWork(empty_engine) as uow:
        [march, april] = book.post(
            uow.ledger,
            [
                NewTransaction("m", date(2024, 3, 25), "资料费", (Posting(FUND, EXPENSE, 1),)),
                NewTransaction("p", date(2024, 4, 1), "资料费", (Posting(FUND, EXPENSE, 1),)),
            ],
        )
        uow.commit()
    # March continues after the numbers it already used; a new month starts at 1
    assert (str(march.voucher), str(april.voucher)) == ("记-2024-03-0004", "记-2024-04-0001")
    with UnitOfWork(empty_engine, write=False) as uow:
        assert book.verify(uow.ledger).ok
    assert (march.seq, april.seq) == (4, 5)
    assert (
        march.hash
        == sealed(
            4,
            march.voucher,
            march.recorded_at,
            march.request,
            legacy[2].hash,
            key=ring.current.secret,
        ).hash
    )


def test_old_audit_entries_are_masked_and_the_ledger_is_left_as_it_was(
    empty_engine: Engine,
) -> None:
    """Entries written before the audit log masked 身份证号 keep none whole after
    ``db upgrade`` (0023), each with its pseudonym; hidden characters are written out; an
    entry already masked is left alone; no transaction, hash or balance changes."""
    before = _granted_at(empty_engine, "0022", 2_500_000)
    whole = "150102197203079023"
    old = [
        ("管理员", "user:钱科长", "cli:1", {"params": {"id_number": whole}, "n": 3}),
        ("\u202e经办人", f"person:{whole}", "cli:2", {"note": f"报销人{whole.lower()}"}),
        ("管理员", "user:孙出纳", "cli:3", {"id_number": "150102********9023"}),
    ]
    with empty_engine.begin() as connection:
        for actor, target, request_id, detail in old:
            connection.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, object, request_id, detail) "
                    "VALUES (:at, :actor, 'user.add', :object, :request_id, :detail)"
                ),
                {
                    "at": datetime(2024, 1, 2),
                    "actor": actor,
                    "object": target,
                    "request_id": request_id,
                    "detail": json.dumps(detail),
                },
            )

    _todays_columns(empty_engine, add=False)
    upgrade(empty_engine)

    key = pseudonym_key(key_source(empty_engine.url).load())
    known = f"150102********9023#{pseudonym(whole, key)}"
    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT actor, object, request_id, detail FROM audit_log ORDER BY id")
        ).all()
    assert [(a, o, r, d if isinstance(d, dict) else json.loads(d)) for a, o, r, d in rows] == [
        ("管理员", "user:钱科长", "cli:1", {"params": {"id_number": known}, "n": 3}),
        ("\\u202e经办人", f"person:{known}", "cli:2", {"note": f"报销人{known}"}),
        ("管理员", "user:孙出纳", "cli:3", {"id_number": "150102********9023"}),
    ]
    with UnitOfWork(empty_engine, write=False) as uow:
        assert _books(uow) == before
    assert before[0].ok


def test_units_get_codes_and_every_balance_stays_where_it_was(empty_engine: Engine) -> None:
    """``db upgrade`` (0024) registers every unit: those whose accounts exist, or could,
    keep their names as codes (their addresses are sealed); a name no address could carry
    gets ``U000001`` on, skipping a kept name that looks like one. Afterwards no balance
    or hash has changed; the receipts recorded before, imported again, post nothing; the
    old units' new receipts land on their old accounts; and the units the roster took but
    no receipt could reach receive matching and support."""
    upgrade(empty_engine, "0023")
    _todays_columns(empty_engine, add=True)
    plain, bracketed, other, odd = "第一中学", "杭锦旗第一中学（初中部）", "外校2", "外校（三）"
    people = [
        ("P000001", "150102197203079023", "U000001", None),
        ("P000002", "150102198001010011", other, "HJ-S01"),
        ("P000003", "150102198001010038", odd, "HJ-S02"),
    ]
    with empty_engine.begin() as connection:
        for code, host in (("HJ-S01", plain), ("HJ-S02", bracketed)):
            connection.execute(
                text(
                    "INSERT INTO studios (code, name, kind, host_unit, cycle_start_year) "
                    "VALUES (:code, '工作室', 'subject', :host, 2024)"
                ),
                {"code": code, "host": host},
            )
        for code, number, unit, studio in people:
            connection.execute(
                text(
                    "INSERT INTO people (code, id_number, name, unit, bank_name, "
                    "bank_account, phone) VALUES (:code, :number, '张三', :unit, '', '', '')"
                ),
                {"code": code, "number": number, "unit": unit},
            )
            if studio:
                connection.execute(
                    text(
                        "INSERT INTO memberships (studio_code, person_code, role, joined_on) "
                        "VALUES (:studio, :code, 'member', '2024-01-01')"
                    ),
                    {"studio": studio, "code": code},
                )
    earlier = [
        Receipt(date(2024, 3, 1), "HJ-S01", 200_000, "配套"),
        Receipt(date(2024, 3, 2), "HJ-S01", 30_000, "支持", "support", other),
    ]
    with UnitOfWork(empty_engine) as uow:  # as the code before 0024 posted them: by name
        book.key_the_chain(uow.ledger)
        book.post(
            uow.ledger,
            [receipt_transaction(r, plain, {plain: plain, other: other}) for r in earlier],
        )
        uow.commit()
    with UnitOfWork(empty_engine, write=False) as uow:
        before = _books(uow)
    assert before[1]["source:unit:第一中学"] == -200_000

    _todays_columns(empty_engine, add=False)
    upgrade(empty_engine)

    with UnitOfWork(empty_engine, write=False) as uow:
        assert _books(uow) == before
        assert sorted((u.code, u.name) for u in uow.registry.units()) == [
            ("U000001", "U000001"),
            ("U000002", odd),
            ("U000003", bracketed),
            (other, other),
            (plain, plain),
        ]
    with UnitOfWork(empty_engine) as uow:
        again = fund_services.receive_matching(uow, earlier, by=SCHEDULER_USER)
        # imported again: the same two transactions, nothing new
        assert again == uow.ledger.transactions_page(after=0, limit=10)
        assert [t.seq for t in again] == [1, 2]
        uow.commit()
    later = [
        Receipt(date(2024, 4, 1), "HJ-S01", 100_000, "配套"),
        Receipt(date(2024, 4, 1), "HJ-S01", 5_000, "支持", "support", other),
        Receipt(date(2024, 4, 1), "HJ-S02", 250_000, "配套"),
        Receipt(date(2024, 4, 2), "HJ-S02", 7_000, "支持", "support", odd),
    ]
    with UnitOfWork(empty_engine) as uow:
        fund_services.receive_matching(uow, later, by=SCHEDULER_USER)
        uow.commit()
    with UnitOfWork(empty_engine, write=False) as uow:
        assert uow.ledger.kept_balances() == {
            "source:unit:第一中学": -300_000,
            "studio:HJ-S01:fund:matching": 300_000,
            "source:support:外校2": -35_000,
            "studio:HJ-S01:fund:support": 35_000,
            "source:unit:U000003": -250_000,
            "studio:HJ-S02:fund:matching": 250_000,
            "source:support:U000002": -7_000,
            "studio:HJ-S02:fund:support": 7_000,
        }
        assert book.verify(uow.ledger).ok


def test_a_downgrade_below_unit_codes_is_refused_once_an_account_carries_one(
    empty_engine: Engine,
) -> None:
    """A unit with a numbered code whose account exists: below 0024 that account would be
    read as another unit's name, so the downgrade is refused and changes nothing. Without
    such an account it goes down and up again."""
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("INSERT INTO units (code, name) VALUES ('U000001', '某校（一）')"))
    downgrade(empty_engine, "0023")
    upgrade(empty_engine)
    with UnitOfWork(empty_engine) as uow:
        uow.registry.register_units(["某校（一）"])
        book.key_the_chain(uow.ledger)
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "m",
                    date(2024, 3, 1),
                    "配套",
                    (Posting("source:unit:U000001", "studio:HJ-S01:fund:matching", 100),),
                )
            ],
        )
        uow.commit()
    with pytest.raises(RuntimeError, match="1 accounts are addressed by a unit's code"):
        downgrade(empty_engine, "0023")
    assert current_revision(empty_engine) == head_revision()


def test_who_recorded_and_the_originals_come_with_0025_and_no_hash_changes(
    empty_engine: Engine,
) -> None:
    """``db upgrade`` (0025) on a ledger with transactions: each keeps its hash and names
    no recorder, the books' triggers stay (none is missing), new transactions are sealed
    with who recorded them and originals attach; the downgrade is then refused, changing
    nothing. A ledger that recorded no name goes down and up again."""
    before = _granted_at(empty_engine, "0024", 500)
    _todays_columns(empty_engine, add=False)
    upgrade(empty_engine)
    with UnitOfWork(empty_engine) as uow:
        after = book.verify(uow.ledger)
        assert (after, uow.ledger.kept_balances()) == (
            replace(before[0], missing_guards=()),
            before[1],
        )
        assert uow.ledger.get(1).recorded_by is None  # type: ignore[union-attr]
        [spent] = book.post(
            uow.ledger,
            [NewTransaction("s", date(2024, 3, 2), "培训费", (Posting(FUND, EXPENSE, 100),))],
            by="张会计",
        )
        uow.commit()
    with UnitOfWork(empty_engine, write=False) as uow:
        assert uow.ledger.get(spent.seq) == spent
        assert spent.recorded_by == "张会计"
        assert book.verify(uow.ledger).ok
    with pytest.raises(RuntimeError, match="sealed with who recorded it"):
        downgrade(empty_engine, "0024")
    assert current_revision(empty_engine) == head_revision()


def test_0025_goes_down_and_up_while_no_name_is_sealed(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "0024")
    with empty_engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM chain_head")).keys()
    assert "attachments_last_id" not in columns
    upgrade(empty_engine)
    with UnitOfWork(empty_engine, write=False) as uow:
        assert uow.attachments.last() == (0, "0" * 64)
        assert book.verify(uow.ledger).missing_guards == ()
