"""The ``studio-ledger`` command line, run as an operator would."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, text

from api.cli import main
from ledger import book
from ledger.postings import NewTransaction, Posting
from schema.db import UnitOfWork, connect

FUND = "studio:HJ01:fund:finance"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _fund(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
                ),
                NewTransaction(
                    "s",
                    date(2024, 3, 1),
                    "培训费",
                    (Posting(FUND, "expense:training:studio:HJ01", 12_345),),
                ),
            ],
        )
        uow.commit()


def test_demo_funds_the_22_studios_of_the_notice(tmp_path: Path) -> None:
    code, out, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "studios funded: 22" in out
    assert "¥1,100,000.00" in out
    assert "verify: ok: 22 transactions" in out
    engine = connect(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    with UnitOfWork(engine, write=False) as uow:
        kept = uow.ledger.kept_balances()
    engine.dispose()
    funds = {a: b for a, b in kept.items() if a.startswith("studio:")}
    assert len(funds) == 44
    assert set(funds.values()) == {2_500_000}
    assert kept["source:finance"] == kept["source:edu_fund"] == -55_000_000
    assert {a.split(":")[1][:4] for a in funds} == {"HJ-P", "HJ-H", "HJ-S"}


def test_balance_now_and_as_of_a_date(engine: Engine) -> None:
    _fund(engine)
    code, out, _ = _run("--db", _url(engine), "balance", FUND, "--json")
    assert code == 0
    assert json.loads(out) == {
        "address": FUND,
        "as_of": None,
        "balance_fen": 2_487_655,
        "balance": "¥24,876.55",
    }
    code, out, _ = _run("--db", _url(engine), "balance", FUND, "--as-of", "2024-02-29")
    assert code == 0
    assert out.strip() == f"{FUND}  ¥25,000.00  (as of 2024-02-29)"


def test_bad_input_is_refused_naming_the_field(engine: Engine) -> None:
    code, _, err = _run("--db", _url(engine), "balance", FUND, "--as-of", "2024-02-30")
    assert code == 2
    assert "--as-of: not a date: '2024-02-30'" in err
    code, _, err = _run("--db", _url(engine), "balance", "studio:HJ01:fund:typo")
    assert code == 2
    assert "unknown account address) 'studio:HJ01:fund:typo'" in err


def test_verify_names_the_first_broken_link(engine: Engine) -> None:
    _fund(engine)
    code, out, _ = _run("--db", _url(engine), "verify")
    assert code == 0
    assert out.startswith("ok: 2 transactions")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER transactions_no_update"))
        else:
            connection.execute(text("ALTER TABLE transactions DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE transactions SET memo = '改过的摘要' WHERE seq = 2"))
    code, out, _ = _run("--db", _url(engine), "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["broken_link"] == {
        "seq": 2,
        "voucher": "记-2024-000002",
        "reason": "stored content does not match its hash",
    }


def test_a_database_not_yet_migrated_is_refused_with_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, _, err = _run("--db", url, "verify")
    assert code == 1
    assert "run `studio-ledger db upgrade` first" in err
    code, out, _ = _run("--db", url, "db", "upgrade")
    assert code == 0
    code, out, _ = _run("--db", url, "verify")
    assert code == 0
    assert out.startswith("ok: 0 transactions")
