"""Benchmark: reading an import workbook — openpyxl's read-only mode vs python-calamine.

Writes the roster workbook of ``--studios`` studios (nine people each, as
``benchmarks/year_end.py`` writes it), then, in one run and alternating, reads every row
of both sheets with each reader: openpyxl ``load_workbook(read_only=True,
data_only=True)`` and ``iter_rows(values_only=True)`` (what the imports used), and
python-calamine ``CalamineWorkbook.from_path`` and ``iter_rows()``. Each read runs in
its own child process, so its peak resident memory (``VmHWM``) is its own. Prints
seconds and peak MiB per reader, best of ``--repeat``, and the ratio.

    cd benchmarks && PYTHONPATH=.. ../.venv/bin/python import_read.py --studios 10000
    # and fastexcel, from a venv of its own (python3 -m venv /tmp/fx;
    # /tmp/fx/bin/pip install fastexcel pyarrow):
    cd benchmarks && PYTHONPATH=.. ../.venv/bin/python import_read.py --fastexcel /tmp/fx/bin/python

Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def read_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook  # noqa: PLC0415

    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = 0
    for sheet in workbook.worksheets:
        for _ in sheet.iter_rows(values_only=True):
            rows += 1
    workbook.close()
    return rows


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415

    workbook = CalamineWorkbook.from_path(str(path))
    rows = 0
    for name in workbook.sheet_names:
        for _ in workbook.get_sheet_by_name(name).iter_rows():
            rows += 1
    workbook.close()
    return rows


def read_fastexcel(path: Path) -> int:
    """fastexcel (calamine into Arrow), each row then turned into Python values as an
    import needs them; it needs pyarrow, so it runs in the interpreter ``--fastexcel``
    names (a venv of its own: neither is a dependency of the ledger)."""
    import fastexcel  # type: ignore[import-not-found]  # noqa: PLC0415

    reader = fastexcel.read_excel(str(path))
    rows = 0
    for name in reader.sheet_names:
        batch = reader.load_sheet_by_name(name, header_row=None).to_arrow()
        rows += len(batch.to_pylist())
    return rows


READERS = {"openpyxl": read_openpyxl, "calamine": read_calamine, "fastexcel": read_fastexcel}


def child(reader: str, path: Path) -> None:
    start = time.perf_counter()
    rows = READERS[reader](path)
    seconds = time.perf_counter() - start
    peak = _high_water_mib()
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak}))


def _high_water_mib() -> float:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss`` it starts
    anew at exec, so the parent's peak does not show through)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(reader: str, path: Path, python: str) -> dict[str, float]:
    out = subprocess.run(
        [python, __file__, "--child", reader, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studios", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--fastexcel",
        metavar="PYTHON",
        help="An interpreter with fastexcel and pyarrow installed, to measure it too.",
    )
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    from year_end import write_workbooks  # noqa: PLC0415 (the same workbooks as the year)

    with tempfile.TemporaryDirectory() as folder:
        roster, _ = write_workbooks(Path(folder), args.studios)
        size = roster.stat().st_size / 2**20
        print(f"roster of {args.studios:,} studios: {size:.1f} MiB", flush=True)
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for reader in READERS:
                if reader == "fastexcel" and not args.fastexcel:
                    continue
                python = args.fastexcel if reader == "fastexcel" else sys.executable
                got = measure(reader, roster, python)
                line = f"  {reader:9} {got['seconds']:7.2f} s  {got['peak_mib']:7.0f} MiB"
                print(line, flush=True)
                if reader not in best or got["seconds"] < best[reader]["seconds"]:
                    best[reader] = got
        opened, calamine = best["openpyxl"], best["calamine"]
        if opened["rows"] != calamine["rows"]:
            raise SystemExit(f"the readers disagree: {opened['rows']} and {calamine['rows']} rows")
        print(
            f"rows {int(opened['rows']):,}: openpyxl {opened['seconds']:.2f} s "
            f"({opened['peak_mib']:.0f} MiB), calamine {calamine['seconds']:.2f} s "
            f"({calamine['peak_mib']:.0f} MiB): calamine "
            f"{opened['seconds'] / calamine['seconds']:.1f}× faster"
        )
        if "fastexcel" in best:
            fast = best["fastexcel"]
            print(
                f"fastexcel {fast['seconds']:.2f} s ({fast['peak_mib']:.0f} MiB): "
                f"{opened['seconds'] / fast['seconds']:.1f}× faster than openpyxl"
            )


if __name__ == "__main__":
    main()
