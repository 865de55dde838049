"""Running a job exactly once for its period, and recording every attempt.

A run has a key (job, period), unique in the database while an attempt runs or
after one succeeded. :func:`run` claims the key in a short transaction of its
own, then does the job's work in a second transaction that also marks the run
succeeded, so the result and its record commit together. A failure rolls the
work back, and a third transaction records the failure and releases the key, so
a retry can run. Running the same job and period again, or in several processes
at once, gives one result; the others are told "already done" and the first
run's id.

An attempt left ``running`` by a process that died is abandoned after
``stale_after`` and may then be taken over: the work it did was never committed.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from jobs.timetable import ScheduleSettings, check_due
from jobs.work import DAILY_JOBS, JOB_TITLES, JOBS, READS_ONLY, Counts
from ledger import clock
from ledger.books.postings import utc_now
from ledger.errors import ValidationError, digits
from ledger.registry.roster import FIRST_YEAR, LAST_YEAR
from ledger.users import acting
from schema.db import UnitOfWork
from schema.job_store import JobRun

log = logging.getLogger("studio_ledger.jobs")

STALE_AFTER: Final = timedelta(hours=1)


@dataclass(frozen=True)
class RunOutcome:
    """What happened when a job was asked to run.

    Attributes:
      status: ``succeeded``, ``failed``, ``already`` (done or running elsewhere).
      run_id: this attempt's id, or the id of the run that holds the key.
    """

    job: str
    period: str
    status: str
    run_id: int
    counts: Counts
    message: str


def _structured(event: str, **fields: Any) -> str:
    return json.dumps({"event": event, **fields}, ensure_ascii=False, default=str)


def run(
    engine: Engine,
    job: str,
    period: str,
    trigger: str = "manual",
    stale_after: timedelta = STALE_AFTER,
) -> RunOutcome:
    """Run ``job`` for ``period`` once; see the module docstring."""
    check_period(job, period)
    claimed = _claim(engine, job, period, trigger, stale_after)
    if isinstance(claimed, JobRun):
        message = (
            f"{JOB_TITLES[job]}（{period}）此前已运行：运行 #{claimed.id} "
            f"{STATUS_LABELS.get(claimed.status, claimed.status)}"
            f"（开始于北京时间 {clock.local_time(claimed.started_at):%Y-%m-%d %H:%M:%S}）"
        )
        log.info(
            _structured(
                "job.already", job=job, period=period, run=claimed.id, status=claimed.status
            )
        )
        return RunOutcome(job, period, "already", claimed.id, claimed.counts, message)
    run_id = claimed
    log.info(_structured("job.started", job=job, period=period, run=run_id, trigger=trigger))
    try:
        with UnitOfWork(engine, write=job not in READS_ONLY) as uow:
            counts = JOBS[job](uow, period)
            uow.jobs.succeed(run_id, counts)
            uow.commit()
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        with UnitOfWork(engine) as uow:  # its words first (the 作业 page shows that line)
            uow.jobs.fail(run_id, f"{error or detail}\n" + traceback.format_exc(limit=5))
            uow.commit()
        log.exception(_structured("job.failed", job=job, period=period, run=run_id, error=detail))
        return RunOutcome(
            job,
            period,
            "failed",
            run_id,
            {},
            f"{JOB_TITLES[job]}（{period}）：运行 #{run_id} 失败，没有写入任何内容："
            f"{error or type(error).__name__}",
        )
    log.info(_structured("job.succeeded", job=job, period=period, run=run_id, counts=counts))
    return RunOutcome(
        job,
        period,
        "succeeded",
        run_id,
        counts,
        f"{JOB_TITLES[job]}（{period}）：运行 #{run_id} 已完成",
    )


STATUS_LABELS: Final = {"succeeded": "成功", "failed": "失败", "running": "运行中"}


def check_period(job: str, period: str) -> None:
    """A job runs for a year (``2024``), a daily job for a date (``2024-12-31``)."""
    if job not in JOBS:
        raise ValidationError("job", f"没有这个作业 {job!r}；作业有：{'、'.join(JOBS)}")
    if job in DAILY_JOBS:
        try:
            year = date.fromisoformat(period).year
        except ValueError:
            raise ValidationError(
                "period", f"{JOB_TITLES[job]}按日期运行，应写作 YYYY-MM-DD：{period!r}"
            ) from None
    elif digits(period) and len(period) == 4:
        year = int(period)
    else:
        raise ValidationError("period", f"{JOB_TITLES[job]}按年度运行，应写作 YYYY：{period!r}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            "period", f"{JOB_TITLES[job]}：期间应在{FIRST_YEAR}–{LAST_YEAR}年之间：{period!r}"
        )


def run_now(
    engine: Engine,
    job: str,
    period: str,
    by: str,
    request: str,
    settings: ScheduleSettings | None = None,
) -> RunOutcome:
    """Run a job now on a user's request (``job.run``), once it has fallen due by the
    schedule (:func:`jobs.timetable.check_due`), audit-logged with its outcome."""
    with UnitOfWork(engine, write=False) as uow:
        acting(uow, by, "job.run")
    check_period(job, period)
    check_due(job, period, settings or ScheduleSettings.from_env(), clock.now())
    outcome = run(engine, job, period)
    with UnitOfWork(engine) as uow:
        uow.audit.record(
            by,
            "job.run",
            f"job:{job}:{period}",
            request,
            {"status": outcome.status, "run": outcome.run_id},
        )
        uow.commit()
    return outcome


def _claim(
    engine: Engine, job: str, period: str, trigger: str, stale_after: timedelta
) -> int | JobRun:
    """This attempt's run id, or the run that already holds the key."""
    for _ in range(3):
        with UnitOfWork(engine) as uow:
            holder = uow.jobs.holder(job, period)
            if (
                holder is not None
                and holder.status == "running"
                and (utc_now() - holder.started_at > stale_after)
            ):
                uow.jobs.fail(
                    holder.id,
                    f"已放弃：运行超过 {stale_after} 仍未结束（进程可能已中止），"
                    "由新的一次运行接替",
                )
                holder = None
            if holder is not None:
                return holder
            try:
                run_id = uow.jobs.start(job, period, trigger)
                uow.commit()
            except IntegrityError:
                continue  # another process claimed it first: read who
            return run_id
    raise RuntimeError(f"could not claim {job} {period}")


def last_runs(uow: UnitOfWork) -> dict[str, JobRun]:
    """Each job's latest run, by job name."""
    return uow.jobs.last_runs()


def history(uow: UnitOfWork, job: str | None, limit: int, after: int = 0) -> list[JobRun]:
    """The runs of ``job`` (every job's when ``None``), at most ``limit`` after id ``after``."""
    return uow.jobs.runs(job, limit, after)
