"""Many rows at once (:mod:`schema.bulk`): below and above the COPY threshold, on both
databases, the same rows end up written, JSON included, and a key taken is the same
conflict a plain statement raises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError, IntegrityError

from schema import bulk
from schema.bulk import COPY_FROM, insert_rows, update_rows
from schema.db import is_conflict
from schema.tables import JobRunRow

RUNS = JobRunRow.__table__


def _runs(count: int) -> list[dict[str, object]]:
    return [
        {
            "id": i,
            "job": "backup",
            "period": f"p{i}",
            "run_key": f"backup:{i}",
            "trigger": "manual",
            "status": "running",
            "started_at": datetime(2026, 1, 1) + timedelta(seconds=i),
            "finished_at": None,
            "counts": {"rows": i, "名称": "工作室"} if i % 2 else {},
            "error": None if i % 3 else "第一行\n第二行\t制表 \\ 反斜杠",
        }
        for i in range(1, count + 1)
    ]


def _read(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(RUNS).order_by(RUNS.c.id))]


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables each COPY wrote into, to show which path a write took."""
    into: list[str] = []
    copy = bulk._copy

    def counted(connection: object, table: object, name: str, *rest: object) -> None:
        into.append(name.split("_", maxsplit=1)[0] if name.startswith("bulk_") else name)
        copy(connection, table, name, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_copy", counted)
    return into


@pytest.mark.parametrize("count", [3, 2 * COPY_FROM + 7])
def test_rows_inserted_and_updated_are_the_rows_given(
    engine: Engine, count: int, copies: list[str]
) -> None:
    rows = [dict(reversed(r.items())) for r in _runs(count)]  # not the table's column order
    with engine.begin() as connection:
        insert_rows(connection, RUNS, rows)
    assert _read(engine) == [dict(reversed(r.items())) for r in rows]
    by_copy = engine.dialect.name == "postgresql" and count >= COPY_FROM
    assert copies == (["job_runs"] if by_copy else [])
    rows = _runs(count)

    done = [
        {
            "id": r["id"],
            "status": "succeeded",
            "finished_at": datetime(2026, 2, 1),
            "counts": {"done": r["id"], "列表": [1, 2]},
        }
        for r in rows
        if int(str(r["id"])) % 2 == 0 or count < COPY_FROM  # half of them, by COPY too
    ]
    assert count < COPY_FROM or len(done) >= COPY_FROM
    with engine.begin() as connection:
        update_rows(connection, RUNS, ("id",), done)
    changed = {d["id"]: d for d in done}
    assert _read(engine) == [{**r, **changed.get(r["id"], {})} for r in rows]
    assert copies == (["job_runs", "bulk"] if by_copy else [])


@pytest.mark.parametrize("count", [3, COPY_FROM + 7])
def test_a_value_the_column_cannot_hold_is_the_databases_own_refusal(
    engine: Engine, count: int
) -> None:
    rows = [{**r, "period": "太长的期间" * 10} if r["id"] == count else r for r in _runs(count)]
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite keeps a string of any length")
    with pytest.raises(DataError), engine.begin() as connection:
        insert_rows(connection, RUNS, rows)
    assert _read(engine) == []


def test_rows_with_different_columns_are_refused(engine: Engine) -> None:
    rows = _runs(2)
    del rows[1]["error"]
    with pytest.raises(ValueError, match="rows with different columns"), engine.begin() as c:
        insert_rows(c, RUNS, rows)


@pytest.mark.parametrize("count", [3, COPY_FROM + 7])
def test_a_key_taken_is_a_conflict_and_nothing_is_written(engine: Engine, count: int) -> None:
    with engine.begin() as connection:
        insert_rows(connection, RUNS, _runs(1))
    taken = [{**r, "id": r["id"] + 1, "run_key": "backup:1"} if r["id"] == count else r
             for r in _runs(count)[1:]]  # fmt: skip
    with pytest.raises(IntegrityError) as refused, engine.begin() as connection:
        insert_rows(connection, RUNS, taken)
    assert is_conflict(refused.value)
    assert [r["id"] for r in _read(engine)] == [1]


def test_rows_from_a_generator_are_taken_a_part_at_a_time_and_all_written(
    engine: Engine, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirteen rows in parts of five, by COPY from three on PostgreSQL: one COPY and one
    temporary table take every part, and nothing is held whole; a later part's row with
    other columns is refused too."""
    monkeypatch.setattr(bulk, "BULK_ROWS", 5)
    monkeypatch.setattr(bulk, "COPY_FROM", 3)
    taken: list[int] = []

    def rows() -> Iterator[dict[str, object]]:
        for row in _runs(13):
            taken.append(int(str(row["id"])))
            yield row

    with engine.begin() as connection:
        insert_rows(connection, RUNS, rows())
    assert _read(engine) == _runs(13)
    done = ({"id": r["id"], "status": "succeeded"} for r in _runs(13))
    with engine.begin() as connection:
        update_rows(connection, RUNS, ("id",), done)
    assert [r["status"] for r in _read(engine)] == ["succeeded"] * 13
    assert copies == (["job_runs", "bulk"] if engine.dialect.name == "postgresql" else [])
    assert taken == list(range(1, 14))
    late = [*_runs(13)[:11], {"id": 99}]
    with pytest.raises(ValueError, match="rows with different columns"), engine.begin() as c:
        update_rows(c, RUNS, ("id",), iter(late))
