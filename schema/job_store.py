"""Job runs on SQLAlchemy: claiming a (job, period), finishing it, and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledger.books.postings import utc_now
from schema.tables import JobRunRow


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    job: str
    period: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None


def _run(row: JobRunRow) -> JobRun:
    return JobRun(
        row.id,
        row.job,
        row.period,
        row.trigger,
        row.status,
        row.started_at,
        row.finished_at,
        dict(row.counts or {}),
        row.error,
    )


def run_key(job: str, period: str) -> str:
    return f"{job}:{period}"


class SqlJobStore:
    """Job runs in the unit of work's session (which it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def holder(self, job: str, period: str) -> JobRun | None:
        """The running or succeeded run holding the key, if any."""
        row = self.session.scalar(
            select(JobRunRow)
            .where(JobRunRow.run_key == run_key(job, period))
            .execution_options(populate_existing=True)
        )
        return None if row is None else _run(row)

    def start(self, job: str, period: str, trigger: str) -> int:
        """Insert a running attempt holding the key (the database refuses a second)."""
        row = JobRunRow(
            job=job,
            period=period,
            run_key=run_key(job, period),
            trigger=trigger,
            status="running",
            started_at=utc_now(),
            counts={},
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def succeed(self, run_id: int, counts: dict[str, Any]) -> None:
        self.session.execute(
            update(JobRunRow)
            .where(JobRunRow.id == run_id)
            .values(status="succeeded", finished_at=utc_now(), counts=counts)
        )

    def fail(self, run_id: int, error: str, counts: dict[str, Any] | None = None) -> None:
        """Record the failure and release the key so that a retry can run."""
        self.session.execute(
            update(JobRunRow)
            .where(JobRunRow.id == run_id)
            .values(
                status="failed",
                run_key=None,
                finished_at=utc_now(),
                error=error[:4000],
                counts=counts or {},
            )
        )

    def runs(self, job: str | None = None, limit: int = 100, after: int = 0) -> list[JobRun]:
        query = select(JobRunRow).where(JobRunRow.id > after).order_by(JobRunRow.id).limit(limit)
        if job is not None:
            query = query.where(JobRunRow.job == job)
        return [_run(r) for r in self.session.scalars(query)]

    def status_counts(self) -> dict[tuple[str, str], int]:
        """How many runs each job has had, by status."""
        rows = self.session.execute(
            select(JobRunRow.job, JobRunRow.status, func.count()).group_by(
                JobRunRow.job, JobRunRow.status
            )
        )
        return {(job, status): int(count) for job, status, count in rows}

    def last_runs(self) -> dict[str, JobRun]:
        """Each job's latest run."""
        latest = select(func.max(JobRunRow.id)).group_by(JobRunRow.job)
        rows = self.session.scalars(select(JobRunRow).where(JobRunRow.id.in_(latest)))
        return {r.job: _run(r) for r in rows}
