"""Scheduled jobs over HTTP: schedules with their next run, run history, run now."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.http.base import (
    Cursor,
    Limit,
    Page,
    engine_of,
    page,
    read,
    reads,
    request_id,
    writes,
)
from api.shapes import JobOut, JobOutcomeOut, JobRunOut, job_out, job_run_out, outcome_of_job
from jobs import runner, schedule, timetable
from jobs.work import JOBS
from ledger import clock
from ledger.users import User

JobName = Annotated[str, PathParameter(pattern="^(" + "|".join(JOBS) + ")$", description="the job")]


class JobRunIn(msgspec.Struct, forbid_unknown_fields=True):
    period: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^\d{4}(-\d{2}-\d{2})?$",
            description="a year (YYYY); a date (YYYY-MM-DD) for daily jobs",
        ),
    ]


class JobController(Controller):
    path = "/jobs"
    tags = ("jobs",)

    @reads("/", "job.read")
    def list_jobs(self, request: Request[User, Any, Any]) -> list[JobOut]:
        """Each job with its schedule in words (Asia/Shanghai), next run and last run."""
        settings = timetable.ScheduleSettings.from_env()
        last = read(request, runner.last_runs)
        return [
            job_out(s, settings.time_zone, last.get(s.job))
            for s in schedule.schedules(settings, clock.now())
        ]

    @reads("/runs", "job.read")
    def job_runs(
        self,
        request: Request[User, Any, Any],
        job: Annotated[str | None, QueryParameter(max_length=40)] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[JobRunOut]:
        """Every run, oldest first: job, period, trigger, start, end, status, counts, error."""
        start = cursor or 0
        found = read(request, lambda uow: runner.history(uow, job, limit + 1, start))
        return page([job_run_out(r) for r in found], limit, lambda r: r.id)

    @writes("/{job:str}/run", "job.run")
    def run_job(
        self, request: Request[User, Any, Any], job: JobName, data: JSONBody[JobRunIn]
    ) -> JobOutcomeOut:
        """Run a job now for a period, exactly once: a second run answers with the first
        run's id (status ``already``). Audit-logged with its outcome."""
        outcome = runner.run_now(
            engine_of(request), job, data.period, request.user.name, request_id(request)
        )
        return outcome_of_job(outcome)
