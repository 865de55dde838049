"""Benchmark: GET an account's balance over HTTP vs a bare async read and a hello-world.

Starts each app under the very same server settings — ``studio-ledger serve`` (uvicorn,
uvloop, httptools, ``--workers``) for the ledger, and uvicorn with the same options for a
small Litestar app — and loads each with ``wrk`` at ``--connections`` (default 16) for
``--seconds``. The ledger request is an auditor's ``GET
/api/v1/accounts/{address}/balance`` with a bearer token: the token check, the
permission guard and the balance read all run. Beside it, three floors from the small
app: ``/hello`` returns ``{"hello": "world"}`` on the event loop (the target's
baseline); ``/hello-thread`` returns it from a worker thread, as every handler that may
block must run; ``/core-read`` reads the same account's balance with one SQLAlchemy Core
statement in a worker thread (no token, no ORM session); ``/async-read`` reads it through
SQLAlchemy's asyncio engine on the event loop (psycopg's async connection, or aiosqlite),
the issue-34 baseline the balance read is held to (at least half of it). Prints requests
per second and each ratio. Needs ``wrk`` (Debian package ``wrk``) and, for SQLite,
``aiosqlite``.

    python benchmarks/http_balance.py                    # a SQLite file in a temp folder
    python benchmarks/http_balance.py --pg URL           # a PostgreSQL server (creates a database)
    python benchmarks/http_balance.py --as-of 2024-06-30 # the balance as of a date

Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from litestar import Litestar, get
from scratch import scratch_urls
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from ledger import users
from ledger.books import book
from ledger.books.chain_keys import first_ring
from ledger.books.postings import NewTransaction, Posting
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.migrate import prepare
from schema.tables import AccountRow

os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "studio:GJ-000001:fund:finance"
SERVER_OPTIONS = ["--loop", "uvloop", "--http", "httptools"]  # as `studio-ledger serve` sets


@get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@get("/hello-thread", sync_to_thread=True)
def hello_thread() -> dict[str, str]:
    return {"hello": "world"}


def async_url(url: str) -> str:
    """The same database through an asyncio driver: psycopg's own async connection, or
    aiosqlite for a SQLite file."""
    if url.startswith("sqlite"):
        return url.replace("sqlite://", "sqlite+aiosqlite://", 1)
    return url


def hello_app() -> Litestar:
    """The hello-world, and the floors beside it: the same answer from a worker thread,
    one Core read of the account in a worker thread, and the same read through
    SQLAlchemy's asyncio engine on the event loop (the issue's baseline: a bare async
    read of the same row through the same stack), of ``BENCH_DATABASE_URL``."""
    url = os.environ["BENCH_DATABASE_URL"]
    engine = connect(url)
    reader = create_async_engine(async_url(url), pool_size=20, pool_pre_ping=True)
    balance = select(AccountRow.balance).where(AccountRow.address == ACCOUNT)

    @get("/core-read", sync_to_thread=True)
    def core_read() -> dict[str, int]:
        with engine.connect() as connection:
            return {"balance_fen": int(connection.execute(balance).scalar_one())}

    @get("/async-read")
    async def async_read() -> dict[str, int]:
        async with reader.connect() as connection:
            found = await connection.execute(balance)
            return {"balance_fen": int(found.scalar_one())}

    return Litestar([hello, hello_thread, core_read, async_read])


def ledger_database(url: str) -> str:
    """A migrated ledger with one appropriation and an auditor; the auditor's token."""
    engine = connect(url)
    prepare(engine)
    with UnitOfWork(engine) as uow:
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "bench-appropriation",
                    date(2024, 1, 2),
                    "2024年度业务经费拨款",
                    (Posting("source:finance", ACCOUNT, 2_500_000),),
                )
            ],
        )
        token = users.add_user(uow, "bench-auditor", "auditor", by=None)
        uow.commit()
    engine.dispose()
    return token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise SystemExit(f"the server did not start: {' '.join(command)}")
        time.sleep(1.0)  # every worker up
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(url: str, connections: int, seconds: int, headers: list[str]) -> float:
    """Requests per second from wrk, after a short warm-up; every reply must be a 200."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    subprocess.run([*command[:3], "-d2s", *command[5:], url], check=True, capture_output=True)
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"some replies were not 200:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise SystemExit(f"wrk said:\n{out}")
    return float(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--as-of", metavar="DATE", help="read the balance as of this date")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create a database on")
    args = parser.parse_args()
    workers = ["--workers", str(args.workers)]
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_urls(args.pg, Path(folder), ["http"]) as [url],
    ):
        token = ledger_database(url)
        port = free_port()
        hello_command = [sys.executable, "-m", "uvicorn", "--factory", "--port", str(port)]
        hello_command += [*SERVER_OPTIONS, *workers, "--app-dir", "benchmarks"]
        floors = {}
        with running([*hello_command, "http_balance:hello_app"], port, {"BENCH_DATABASE_URL": url}):
            for path in ("hello", "hello-thread", "core-read", "async-read"):
                floors[path] = load(
                    f"http://127.0.0.1:{port}/{path}", args.connections, args.seconds, []
                )
        baseline = floors["hello"]
        port = free_port()
        studio_ledger = str(Path(sys.executable).parent / "studio-ledger")
        serve = [studio_ledger, "--db", url, "serve", "--port", str(port)]
        query = f"?as_of={args.as_of}" if args.as_of else ""
        with running([*serve, *workers], port):
            balance = load(
                f"http://127.0.0.1:{port}/api/v1/accounts/{ACCOUNT}/balance{query}",
                args.connections,
                args.seconds,
                [f"Authorization: Bearer {token}"],
            )
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend}, {args.workers} worker(s), {args.connections} connections, wrk -t1")
    shown = {
        "Litestar hello-world": baseline,
        "hello from a worker thread": floors["hello-thread"],
        "Core read in a worker thread": floors["core-read"],
        "bare async read": floors["async-read"],
        f"GET balance{' as of' if args.as_of else ''}": balance,
    }
    for name, rate in shown.items():
        print(f"  {name:30} : {rate:10,.0f} req/s  ({rate / baseline:.2f} of the hello-world)")
    target = balance / floors["async-read"]
    print(f"GET balance / bare async read: {target:.2f} (target at least 0.50)")


if __name__ == "__main__":
    main()
