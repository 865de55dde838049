"""Many rows at once (:mod:`schema.bulk`): below and above the COPY threshold, on both
databases, the same rows end up written, JSON included, and a key taken is the same
conflict a plain statement raises."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

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


@pytest.mark.parametrize("count", [3, 2 * COPY_FROM + 7])
def test_rows_inserted_and_updated_are_the_rows_given(engine: Engine, count: int) -> None:
    rows = _runs(count)
    with engine.begin() as connection:
        insert_rows(connection, RUNS, rows)
    assert _read(engine) == rows

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
