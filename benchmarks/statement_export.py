"""Benchmark: a 1,000,000-row 专项资金明细账 vs a bare openpyxl write of the same cells.

    python benchmarks/statement_export.py [--rows 1000000] [--folder DIR]

Three phases, each in its own process so that peak memory (max RSS) belongs to
that phase alone: ``prepare`` posts the rows to one studio's fund account in a
fresh SQLite database; ``ledger`` exports its three-column ledger through
``ledger.statements`` (chunked reads, write-only workbook); ``bare`` writes a
write-only workbook with the same number of rows and the same kind of cells
(two day numbers, voucher, memo, two amounts with #,##0.00, direction, balance),
reading nothing. Prints both times, the ratio and peak memory. Run by hand;
results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.books import book
from ledger.books.chain_keys import first_ring
from ledger.books.postings import NewTransaction, Posting
from ledger.registry import roster_services
from ledger.registry.roster import Studio
from ledger.workbooks import statements
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.migrate import upgrade

CLERK = SCHEDULER_USER  # the clerk the migrations create
AUDITOR = "审计员"  # who exports

FUND = "studio:HJ-S01:fund:finance"
CHUNK = 5_000


# A fresh chain key for this run, handed down to every phase, written nowhere.
os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())


def prepare(folder: Path, rows: int) -> None:
    engine = connect(f"sqlite:///{folder / 'bench.db'}")
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(
            uow, [Studio("HJ-S01", "基准工作室", "subject", "第一中学", 2024)], [], [], by=CLERK
        )
        users.add_user(uow, AUDITOR, "auditor", by=None)
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "fund", date(2024, 1, 1), "拨款", (Posting("source:finance", FUND, 10**11),)
                )
            ],
        )
        uow.commit()
    for start in range(1, rows, CHUNK):
        with UnitOfWork(engine) as uow:
            book.post(
                uow.ledger,
                [
                    NewTransaction(
                        f"e{i}",
                        date(2024, 1 + i % 12, 1 + i % 28),
                        "资料费",
                        (Posting(FUND, "expense:materials:studio:HJ-S01", 1 + i % 997),),
                    )
                    for i in range(start, min(rows, start + CHUNK))
                ],
            )
            uow.commit()
    engine.dispose()


def ledger(folder: Path) -> int:
    engine = connect(f"sqlite:///{folder / 'bench.db'}")
    with UnitOfWork(engine, write=False) as uow:
        written = statements.export_ledger(
            uow, 2024, 2024, folder / "ledger.xlsx", AUDITOR, "HJ-S01"
        )
    engine.dispose()
    return written


def bare(folder: Path, rows: int) -> int:
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("bare")
    balance = 10**11
    for i in range(rows):
        amount = (1 + i % 997) / 100
        balance -= amount
        debit = WriteOnlyCell(ws, value=None)
        credit = WriteOnlyCell(ws, value=amount)
        credit.number_format = debit.number_format = "#,##0.00"
        total = WriteOnlyCell(ws, value=balance)
        total.number_format = "#,##0.00"
        ws.append(
            [1 + i % 12, 1 + i % 28, f"记-2024-{i:06d}", "资料费", debit, credit, "借", total]
        )
    workbook.save(folder / "bare.xlsx")
    return rows


def _own_peak_mib() -> float:
    """This process's peak resident memory since exec (VmHWM): getrusage's ru_maxrss
    survives exec on Linux, so a phase would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(args: list[str]) -> tuple[float, float]:
    """Run one phase in a fresh process: (seconds, peak RSS in MiB)."""
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--phase", choices=("prepare", "ledger", "bare"))
    args = parser.parse_args()
    if args.phase:
        started = time.perf_counter()
        if args.phase == "prepare":
            prepare(args.folder, args.rows)
        elif args.phase == "ledger":
            ledger(args.folder)
        else:
            bare(args.folder, args.rows)
        peak = _own_peak_mib()
        print(f"{time.perf_counter() - started:.2f} {peak:.1f}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        common = ["--folder", str(folder), "--rows", str(args.rows)]
        prepared, _ = _phase(["--phase", "prepare", *common])
        ledger_time, ledger_peak = _phase(["--phase", "ledger", *common])
        bare_time, bare_peak = _phase(["--phase", "bare", *common])
    print(f"{args.rows:,} rows (posting them took {prepared:.1f} s)")
    print(f"  statement export : {ledger_time:8.2f} s, peak RSS {ledger_peak:7.1f} MiB")
    print(f"  bare openpyxl    : {bare_time:8.2f} s, peak RSS {bare_peak:7.1f} MiB")
    print(f"  ratio            : {ledger_time / bare_time:8.2f}x")


if __name__ == "__main__":
    main()
