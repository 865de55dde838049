"""Benchmark: each command of the year's peak memory at N and at 4N studios (issue 34).

    python benchmarks/command_memory.py --studios 1000 [--pg URL] [--folder DIR]

For N and then 4N studios (nine payees each, the workbooks ``benchmarks/year_end.py``
writes), a fresh database of the kind asked for is set up as the year begins (policy,
users), then every command of the year runs as the office runs it — ``studio-ledger``
in a process of its own: import the roster and the grades, appropriate, prepare the
batch, approve it twice, record the bank's answer — and each process's own peak
resident memory (``ru_maxrss``, read from ``wait4``) and wall time are printed, with the
ratios 4N ÷ N.
Issue 34 asks each within 1.5×, and under 1 GiB at 100,000 studios. Run by hand;
results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from scratch import scratch_urls
from year_end import CASHIER, CLERK, FIRST, SECOND, YEAR, set_up, write_workbooks

from schema.db import connect
from schema.keys import RING_VARIABLE
from schema.migrate import upgrade

CLI = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "studio-ledger")
ON = f"{YEAR}-12-31"


def commands(roster: Path, grades: Path) -> list[tuple[str, list[str]]]:
    """The year's commands in the office's order, each with its own user."""
    return [
        ("import roster", ["import", "roster", str(roster), "--as", CLERK]),
        ("import grades", ["import", "grades", str(grades), "--as", CLERK]),
        (
            "appropriate",
            ["appropriate", "--year", str(YEAR), "--on", f"{YEAR}-01-02", "--as", CLERK],
        ),
        ("batches create", ["batches", "create", "--year", str(YEAR), "--on", ON, "--as", CLERK]),
        ("batches approve (1st)", ["batches", "approve", "1", "--on", ON, "--as", FIRST]),
        ("batches approve (2nd)", ["batches", "approve", "1", "--on", ON, "--as", SECOND]),
        ("batches confirm", ["batches", "confirm", "1", "--on", ON, "--as", CASHIER]),
    ]


def peak_mib(url: str, args: list[str]) -> tuple[float, float]:
    """Run one command; its own peak resident memory in MiB and its wall time in seconds
    (it must succeed)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [CLI, "--db", url, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"studio-ledger {' '.join(args)} failed:\n{output}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started  # Linux: KiB


def measure(url: str, folder: Path, studios: int) -> dict[str, tuple[float, float]]:
    engine = connect(url)
    upgrade(engine)
    set_up(engine, studios)
    engine.dispose()
    roster, grades = write_workbooks(folder, studios)
    return {name: peak_mib(url, args) for name, args in commands(roster, grades)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studios", type=int, default=1_000)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create databases on")
    parser.add_argument("--folder", type=Path, help="where the workbooks and SQLite files go")
    options = parser.parse_args()
    folder = options.folder or Path(tempfile.mkdtemp(prefix="command-memory-"))
    sizes = (options.studios, 4 * options.studios)
    peaks: list[dict[str, tuple[float, float]]] = []
    with scratch_urls(options.pg, folder, [f"n{n}" for n in sizes]) as urls:
        for n, url in zip(sizes, urls, strict=True):
            place = folder / f"n{n}"
            place.mkdir(exist_ok=True)
            peaks.append(measure(url, place, n))
    kind = "PostgreSQL" if options.pg else "SQLite"
    print(f"{kind}, key in ${RING_VARIABLE}; each command's peak resident memory (MiB)")
    print(f"and wall time (s) at {sizes[0]:,} and {sizes[1]:,} studios")
    print(f"{'command':<24}{'MiB':>8}{'MiB':>8}{'4N ÷ N':>8}{'s':>8}{'s':>8}{'4N ÷ N':>8}")
    for name in peaks[0]:
        (small, small_s), (large, large_s) = peaks[0][name], peaks[1][name]
        print(
            f"{name:<24}{small:>8.1f}{large:>8.1f}{large / small:>8.2f}"
            f"{small_s:>8.1f}{large_s:>8.1f}{large_s / small_s:>8.2f}"
        )


if __name__ == "__main__":
    main()
