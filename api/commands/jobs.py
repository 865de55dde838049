"""``studio-ledger jobs``: schedules with their next run, run history, and running one now."""

from __future__ import annotations

import json
import sys

import click

from api.commands.base import (
    AS_USER,
    JSON,
    READ_AS,
    RUN_ID,
    console,
    engine,
    nothing,
    parse_date,
    print_json,
    progress,
    reading,
    refusals_exit,
    table,
)
from api.commands.setup import LOG_JSON, setup_logging
from api.shapes import job_out, job_run_out, outcome_of_job
from jobs import runner, schedule, timetable
from jobs.work import DAILY_JOBS, JOBS, period_for
from ledger import clock, program
from ledger.clock import PROGRAM_TIME_ZONE


@click.group("jobs")
def jobs_group() -> None:
    """作业：运行计划、运行记录、立即运行 (scheduled jobs).

    Scheduled jobs: their schedule, their run history, and running one now."""


@jobs_group.command("list")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def jobs_list(ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """列出作业及其运行计划 (list jobs and schedules).

    Each job with its schedule (北京时间), next run and last run."""
    settings = timetable.ScheduleSettings.from_env()
    last = reading(ctx, "job.read", as_user, runner.last_runs)
    rows = [
        job_out(s, settings.time_zone, last.get(s.job))
        for s in schedule.schedules(settings, clock.now())
    ]
    if as_json:
        print_json(rows)
        return
    shown = table(
        "作业 jobs（北京时间）", "作业", "说明", "时间", "下次运行", "上次运行", keep=("作业",)
    )
    for row in rows:
        run = row.last_run
        shown.add_row(
            row.job,
            row.description,
            row.schedule,
            f"{row.next_run:%Y-%m-%d %H:%M}" if row.next_run else "-",
            f"#{run.id} {run.period} {run.status}" if run else "从未运行 never",
        )
    console.print(shown)


@jobs_group.command("history")
@click.option("--job", type=click.Choice(list(JOBS)))
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def jobs_history(ctx: click.Context, as_user: str | None, job: str | None, as_json: bool) -> None:
    """列出作业运行记录 (every run).

    Every run: job, period, trigger, start, end, status, counts, error."""
    runs = [
        job_run_out(r)
        for r in reading(ctx, "job.read", as_user, lambda uow: runner.history(uow, job, 100_000))
    ]
    if as_json:
        print_json(runs)
        return
    if not runs:
        nothing("no job runs yet" + (f" of {job}" if job else ""))
    for r in runs:
        start = r.started_at.astimezone(PROGRAM_TIME_ZONE)
        end = f"{r.finished_at.astimezone(PROGRAM_TIME_ZONE):%H:%M:%S}" if r.finished_at else "…"
        click.echo(
            f"#{r.id} {r.job} {r.period} {r.trigger} {r.status} "
            f"{start:%Y-%m-%d %H:%M:%S}-{end}（北京时间） "
            f"{json.dumps(r.counts, ensure_ascii=False)}"
            + (f" error: {r.error}" if r.error else "")
        )


@jobs_group.command("run")
@click.argument("job", type=click.Choice(list(JOBS)))
@click.option(
    "--year",
    type=int,
    help="The year to run for (yearly jobs; default this year, last year for cycle-close).",
)
@click.option("--date", "day", metavar="DATE", help="The day to run for (daily jobs).")
@AS_USER
@LOG_JSON
@JSON
@click.pass_context
@refusals_exit
def jobs_run(
    ctx: click.Context,
    job: str,
    year: int | None,
    day: str | None,
    as_user: str,
    log_json: bool,
    as_json: bool,
) -> None:
    """立即运行一项作业 (run a job now).

    Run JOB now for its period (admin), once: a second run reports the first one's id."""
    setup_logging(log_json)
    today = program.today()
    if job in DAILY_JOBS:
        period = (parse_date(day, "--date") or today).isoformat()
    else:
        period = str(year) if year else period_for(job, today)
    with progress(f"running {job} for {period}", disable=as_json):
        outcome = outcome_of_job(runner.run_now(engine(ctx), job, period, as_user, RUN_ID))
    if as_json:
        print_json(outcome)
    else:
        click.echo(outcome.message)
        for key, value in outcome.counts.items():
            click.echo(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    if outcome.status == "failed":
        sys.exit(1)
