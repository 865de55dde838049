"""``studio-ledger demo``: the program's year on a fresh SQLite database.

It builds the round-1 studios of the founding notice, posts the 2024
appropriation through the ledger, and reports balances and the verify result.
Later capabilities (registry, grades, batches, statements) extend this run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ledger import book
from ledger.accounts import Account
from ledger.appropriation import appropriation
from ledger.money import Fen
from ledger.policy import NOTICE_2024, Policy
from schema.db import UnitOfWork, connect
from schema.migrate import upgrade

KIND_PREFIX = {"principal": "P", "homeroom": "H", "subject": "S"}


def round_one_studios(policy: Policy) -> list[str]:
    """Studio codes for a round by the policy's quotas: HJ-P01…, HJ-H01…, HJ-S01…."""
    return [
        f"HJ-{KIND_PREFIX[kind]}{n:02d}"
        for kind, quota in policy.quotas.items()
        for n in range(1, quota + 1)
    ]


@dataclass(frozen=True)
class DemoResult:
    database: Path
    year: int
    studios: int
    total_appropriated: Fen
    balances: list[tuple[Account, Fen]]
    verify: book.VerifyReport


def run(out_dir: Path, policy: Policy = NOTICE_2024) -> DemoResult:
    """Run the demo into ``out_dir`` (replaced) and return what it did."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    database = out_dir / "demo.db"
    engine = connect(f"sqlite:///{database}")
    try:
        upgrade(engine)
        studios = round_one_studios(policy)
        with UnitOfWork(engine) as uow:
            posted = book.post(
                uow.ledger,
                [
                    appropriation(code, policy.year, policy, date(policy.year, 1, 2))
                    for code in studios
                ],
            )
            uow.commit()
        with UnitOfWork(engine, write=False) as uow:
            kept = uow.ledger.kept_balances()
            report = book.verify(uow.ledger)
    finally:
        engine.dispose()
    return DemoResult(
        database=database,
        year=policy.year,
        studios=len(studios),
        total_appropriated=sum(p.amount for t in posted for p in t.postings),
        balances=sorted(kept.items()),
        verify=report,
    )
