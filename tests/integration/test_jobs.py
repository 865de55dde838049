"""Scheduled jobs on a real database: exactly-once runs across processes, failures
that write nothing, retries, the integrity check, and the scheduler's catch-up."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text

from jobs import runner, schedule, timetable
from ledger.batches import disbursement
from schema.db import UnitOfWork
from schema.tables import BatchRow, JobRunRow
from tests.integration.test_batches import year as year  # noqa: PLC0414 (the fixture)

PROCESSES = 4


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _batches(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(BatchRow)) or 0)


@pytest.mark.slow
def test_four_processes_running_the_year_end_payout_make_one_batch(year: Engine) -> None:
    command = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "--db",
        _url(year),
        "jobs",
        "run",
        "year-end-payout",
        "--year",
        "2024",
        "--as",
        "admin",
        "--json",
    ]
    started = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    answers = []
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        answers.append(json.loads(out))
    statuses = sorted(a["status"] for a in answers)
    assert statuses == ["already"] * (PROCESSES - 1) + ["succeeded"]
    first = next(a for a in answers if a["status"] == "succeeded")
    assert {a["run"] for a in answers} == {first["run"]}  # the others name the first run
    assert first["counts"]["lines"] == 12
    assert _batches(year) == 1


def test_a_job_that_fails_midway_writes_nothing_and_its_retry_succeeds(
    year: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = disbursement.create

    def create_then_fail(*args: object, **kwargs: object) -> object:
        real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the database connection dropped")

    monkeypatch.setattr(disbursement, "create", create_then_fail)
    failed = runner.run(year, "year-end-payout", "2024")
    assert failed.status == "failed"
    assert failed.message == (
        f"年终劳务补贴发放（2024）：运行 #{failed.run_id} 失败，没有写入任何内容："
        "the database connection dropped"
    )
    assert _batches(year) == 0

    monkeypatch.setattr(disbursement, "create", real_create)
    retried = runner.run(year, "year-end-payout", "2024")
    assert (retried.status, retried.counts["lines"]) == ("succeeded", 12)
    assert runner.run(year, "year-end-payout", "2024").status == "already"
    with UnitOfWork(year, write=False) as uow:
        history = [(r.status, r.error is not None) for r in uow.jobs.runs("year-end-payout")]
    assert history == [("failed", True), ("succeeded", False)]
    assert _batches(year) == 1


def test_the_integrity_check_finds_a_balance_changed_behind_the_ledgers_back(
    year: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    assert runner.run(year, "integrity-check", "2025-01-01").status == "succeeded"
    with year.begin() as connection:
        connection.execute(
            text(
                "UPDATE accounts SET balance = balance + 1 "
                "WHERE address = 'studio:HJ-S01:fund:finance'"
            )
        )
    with caplog.at_level(logging.ERROR, logger="studio_ledger.jobs"):
        outcome = runner.run(year, "integrity-check", "2025-01-02")
    assert outcome.status == "failed"
    assert "studio:HJ-S01:fund:finance 记存余额 2500001 分，分录合计 2500000 分" in outcome.message
    assert any(
        r.levelno == logging.ERROR and "job.failed" in r.getMessage() for r in caplog.records
    )


def test_the_matching_check_lists_short_units(year: Engine) -> None:
    outcome = runner.run(year, "matching-check", "2024")
    assert outcome.counts["studios_short"] == 2  # neither unit paid its 2,000 元
    assert outcome.counts["shortfalls"][0]["shortfall_fen"] == 200_000


def test_a_run_abandoned_by_a_dead_process_is_taken_over(year: Engine) -> None:
    with UnitOfWork(year) as uow:
        stale = uow.jobs.start("appropriation", "2025", "scheduled")
        uow.commit()
    assert runner.run(year, "appropriation", "2025").status == "already"
    taken = runner.run(year, "appropriation", "2025", stale_after=timedelta(0))
    assert taken.status == "succeeded"
    with UnitOfWork(year, write=False) as uow:
        [abandoned, done] = uow.jobs.runs("appropriation")
    assert (abandoned.id, abandoned.status) == (stale, "failed")
    assert abandoned.error is not None
    assert abandoned.error.startswith("已放弃：运行超过 ")
    assert done.counts["studios_funded"] == 2


@pytest.mark.slow
def test_a_run_missed_while_the_scheduler_was_down_is_caught_up_once(year: Engine) -> None:
    zone = ZoneInfo(timetable.TIME_ZONE)
    fire = (datetime.now(zone) + timedelta(seconds=3)).replace(microsecond=0)
    cron = {"hour": fire.hour, "minute": fire.minute, "second": fire.second}
    settings = timetable.ScheduleSettings({"integrity-check": cron}, timedelta(minutes=5))
    first = schedule.start_scheduler(_url(year), settings)
    assert first.scheduler.get_job("integrity-check").next_run_time == fire
    first.stop()  # down before the fire time...
    while datetime.now(zone) < fire + timedelta(seconds=1):
        time.sleep(0.2)  # ...which passes while it is down
    second = schedule.start_scheduler(_url(year), settings)
    try:
        for _ in range(100):
            with UnitOfWork(year, write=False) as uow:
                runs = uow.jobs.runs("integrity-check")
            if runs and runs[-1].status != "running":
                break
            time.sleep(0.1)
    finally:
        second.stop()
    assert [(r.period, r.trigger, r.status) for r in runs] == [
        (fire.date().isoformat(), "catch-up", "succeeded")
    ]
    with UnitOfWork(year, write=False) as uow:
        count = uow.session.scalar(select(func.count()).select_from(JobRunRow))
    assert count == 1


@pytest.mark.slow
def test_schedulers_starting_together_on_a_fresh_database_all_start(engine: Engine) -> None:
    """Each creates APScheduler's job table if it is missing; the losers of that race
    used to crash (on PostgreSQL, a duplicate-type error from CREATE TABLE)."""
    at = str(time.time() + 4)  # all start at once, after their imports
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", STARTS_AND_STOPS, _url(engine), at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for process in starts:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    with engine.connect() as connection:
        jobs = connection.execute(text("SELECT id FROM scheduler_jobs ORDER BY id")).scalars()
        assert list(jobs) == sorted(timetable.DEFAULT_SCHEDULES)


STARTS_AND_STOPS = """
import sys, time
from jobs import schedule, timetable
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
running = schedule.start_scheduler(sys.argv[1], timetable.ScheduleSettings.from_env())
running.stop()
"""


def test_an_on_time_daily_run_serves_its_own_day() -> None:
    """With a three-day grace window, the 02:00 integrity check on 10 March serves
    10 March (it was labelled 8 March, the first day of the window)."""
    zone = ZoneInfo(timetable.TIME_ZONE)
    cron = timetable.DEFAULT_SCHEDULES["integrity-check"]
    for now in (
        datetime(2025, 3, 10, 2, 0, tzinfo=zone),
        datetime(2025, 3, 10, 2, 0, 40, tzinfo=zone),
    ):
        fire = schedule.served_fire_time(cron, timetable.TIME_ZONE, now, timedelta(days=3))
        assert fire == datetime(2025, 3, 10, 2, tzinfo=zone)
        assert schedule.period_of("integrity-check", fire) == "2025-03-10"
    # a scheduler down for two days catches up once, for the latest day it missed
    late = datetime(2025, 3, 12, 9, tzinfo=zone)
    fire = schedule.served_fire_time(cron, timetable.TIME_ZONE, late, timedelta(days=3))
    assert schedule.period_of("integrity-check", fire) == "2025-03-12"


def test_the_period_served_comes_from_the_fire_time_not_from_now() -> None:
    zone = ZoneInfo(timetable.TIME_ZONE)
    new_year = datetime(2025, 1, 2, 10, tzinfo=zone)
    fire = schedule.served_fire_time(
        timetable.DEFAULT_SCHEDULES["year-end-payout"],
        timetable.TIME_ZONE,
        new_year,
        timedelta(days=3),
    )
    assert fire == datetime(2024, 12, 31, 18, tzinfo=zone)
    assert schedule.period_of("year-end-payout", fire) == "2024"
    assert schedule.period_of("integrity-check", fire) == "2024-12-31"
    assert (
        schedule.served_fire_time(
            timetable.DEFAULT_SCHEDULES["year-end-payout"],
            timetable.TIME_ZONE,
            new_year,
            timedelta(hours=1),
        )
        is None
    )
