"""When the jobs run (SPEC §5): one APScheduler 3.x process, jobs persisted in the database.

Default schedule, Asia/Shanghai:

=================  ==================  ======================================
job                when                period it serves
=================  ==================  ======================================
appropriation      2 January, 09:00    the year of the fire time
year-end-payout    31 December, 18:00  the year of the fire time
matching-check     20 December, 09:00  the year of the fire time
integrity-check    every day, 02:00    the date of the fire time
cycle-close        20 January, 09:00   the year before the fire time: cycles
                                       that ended then, their payout settled
=================  ==================  ======================================

Jobs live in APScheduler's ``SQLAlchemyJobStore`` in the ledger's database, so a
scheduler that was down catches a missed run up on restart, within the misfire
grace window, coalesced to one run. The period is computed from the fire time
the run serves (the latest in the window), never from "now", so a 31 December
payout caught up on 2 January still pays the old year and the 02:00 check serves
its own day.

APScheduler cannot share a job store between processes: run one scheduler.
Correctness does not depend on it: every run is claimed by its (job, period) key
in the database (:mod:`jobs.runner`), so a second scheduler or a manual
``jobs run`` at the same time produces one result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, text

from jobs import runner
from jobs.runner import RunOutcome
from jobs.timetable import ScheduleSettings
from jobs.work import period_for
from ledger import clock
from ledger.errors import digits
from schema.db import UnitOfWork, connect, is_sqlite

_process_started: datetime | None = None
"""When this process's scheduler started: runs for fire times before it are catch-ups."""


def period_of(job: str, fire_time: datetime) -> str:
    """The period a run serves: the fire time's date for daily jobs, the year before for
    cycle-close, else its year (:func:`jobs.work.period_for`)."""
    return period_for(job, fire_time.date())


@dataclass(frozen=True)
class JobSchedule:
    """A job as ``jobs list`` shows it: when it runs, in words, and its next fire time."""

    job: str
    cron: Mapping[str, Any]
    when: str
    next_run: datetime | None


def describe_cron(cron: Mapping[str, Any]) -> str:
    """A cron schedule in words: ``每年12月31日 18:00``, ``每天 02:00``."""
    fields = {k: str(v) for k, v in cron.items()}
    known = {"month", "day", "hour", "minute"}
    if set(fields) - known or not all(digits(v) for v in fields.values()):
        return " ".join(f"{k}={v}" for k, v in fields.items())  # an unusual cron, as given
    at = f"{int(fields.get('hour', 0)):02d}:{int(fields.get('minute', 0)):02d}"
    if "month" in fields:
        return f"每年{fields['month']}月{fields.get('day', '1')}日 {at}"
    if "day" in fields:
        return f"每月{fields['day']}日 {at}"
    return f"每天 {at}"


def schedules(settings: ScheduleSettings, now: datetime) -> list[JobSchedule]:
    """Every job's schedule and the next time it fires after ``now``."""
    zone = ZoneInfo(settings.time_zone)
    return [
        JobSchedule(
            job,
            cron,
            describe_cron(cron),
            CronTrigger(**cron, timezone=zone).get_next_fire_time(None, now.astimezone(zone)),
        )
        for job, cron in settings.schedules.items()
    ]


def served_fire_time(
    cron: Mapping[str, Any], time_zone: str, now: datetime, grace: timedelta
) -> datetime | None:
    """The latest fire time within the grace window, not after ``now``: the one a run
    serves. An on-time daily run at 02:00 serves today, not the first day of a three-day
    window; a coalesced catch-up serves the latest of the runs it stands for."""
    trigger = CronTrigger(**cron, timezone=ZoneInfo(time_zone))
    served = None
    fire = trigger.get_next_fire_time(None, now - grace)
    while fire is not None and fire <= now:
        served = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return served


def run_scheduled(
    job: str, database: str, cron: Mapping[str, Any], grace_seconds: int, time_zone: str
) -> RunOutcome:
    """What APScheduler calls (by reference, so the persisted job survives restarts)."""
    now = clock.now().astimezone(ZoneInfo(time_zone))
    fire = served_fire_time(cron, time_zone, now, timedelta(seconds=grace_seconds)) or now
    trigger = (
        "catch-up" if _process_started is not None and fire < _process_started else "scheduled"
    )
    engine = connect(database)
    try:
        return runner.run(engine, job, period_of(job, fire), trigger)
    finally:
        engine.dispose()


JOB_TABLE: Final = "scheduler_jobs"
JOB_TABLE_LOCK: Final = 0x5354_4A4F  # any fixed key; "STJO"


def create_job_table(engine: Engine, store: SQLAlchemyJobStore) -> None:
    """Create APScheduler's job table if missing, one process at a time.

    APScheduler checks for the table and then creates it on start; schedulers starting
    together on a fresh database raced there and the losers crashed (PostgreSQL: a
    duplicate pg_type row; SQLite: "database is locked" on the lock upgrade). Here the
    check and the create run under a lock (SQLite's write lock, taken up front by a
    write unit of work; a PostgreSQL transaction-scoped advisory lock), so the store's
    own check on start finds the table."""
    with UnitOfWork(engine) as uow:
        connection = uow.session.connection()
        if not is_sqlite(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": JOB_TABLE_LOCK})
        store.jobs_t.create(connection, checkfirst=True)
        uow.commit()


@dataclass
class RunningScheduler:
    """A started scheduler and the engine its job store uses."""

    scheduler: BackgroundScheduler
    engine: Engine

    def stop(self) -> None:
        """Stop, waiting for running jobs, then close the job store's connections.

        APScheduler disposes the engine before its loop thread has finished with it;
        disposing again after ``shutdown`` (which joins that thread) closes them all.
        """
        self.scheduler.shutdown()
        self.engine.dispose()


def start_scheduler(database: str, settings: ScheduleSettings) -> RunningScheduler:
    """Start the scheduler on the database's job store (see :class:`RunningScheduler`).

    A job already stored with the same definition keeps its next fire time, so a
    run missed while the scheduler was down is caught up; a changed definition
    replaces it.
    """
    global _process_started  # noqa: PLW0603 (one scheduler per process, see the docstring)
    zone = ZoneInfo(settings.time_zone)
    _process_started = clock.now().astimezone(zone)
    engine = connect(database)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
    create_job_table(engine, store)
    scheduler = BackgroundScheduler(
        timezone=zone,
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(settings.grace.total_seconds()),
        },
    )
    scheduler.start(paused=True)
    for job, cron in settings.schedules.items():
        args = [job, database, dict(cron), int(settings.grace.total_seconds()), settings.time_zone]
        stored = scheduler.get_job(job)
        if stored is None or list(stored.args) != args:
            scheduler.add_job(
                "jobs.schedule:run_scheduled",
                CronTrigger(**cron, timezone=zone),
                id=job,
                name=job,
                args=args,
                replace_existing=True,
            )
    scheduler.resume()
    return RunningScheduler(scheduler, engine)
