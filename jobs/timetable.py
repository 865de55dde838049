"""When each job falls due (SPEC §5): the schedule, read once from the environment, and
the rule that no run goes ahead of its due time.

A run serves a period: a year (``2026``) or, for a daily job, a date. It falls due at the
first time the job's schedule fires in that period (for ``cycle-close``, which serves
the year before, in the year after it), and a daily run on the first moment of its day.
The scheduler fires at those times by construction; a run asked for by a person
(``jobs run``, HTTP, the console) before then is refused, so a year-end payout is never
built in June and an appropriation never posted for a year that has not begun.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from jobs.work import DAILY_JOBS, LAST_YEAR_JOBS
from ledger.clock import PROGRAM_TIME_ZONE
from ledger.errors import FutureDateError

DEFAULT_SCHEDULES: Final[Mapping[str, Mapping[str, Any]]] = {
    "appropriation": {"month": 1, "day": 2, "hour": 9, "minute": 0},
    "year-end-payout": {"month": 12, "day": 31, "hour": 18, "minute": 0},
    "matching-check": {"month": 12, "day": 20, "hour": 9, "minute": 0},
    "integrity-check": {"hour": 2, "minute": 0},
    "cycle-close": {"month": 1, "day": 20, "hour": 9, "minute": 0},
    "backup": {"hour": 1, "minute": 30},
}
DEFAULT_GRACE: Final = timedelta(days=3)
TIME_ZONE: Final = PROGRAM_TIME_ZONE.key


@dataclass(frozen=True)
class ScheduleSettings:
    """The schedule, from the environment once: ``STUDIO_LEDGER_SCHEDULES`` (JSON of job →
    cron fields, merged over the defaults) and ``STUDIO_LEDGER_MISFIRE_GRACE`` (seconds)."""

    schedules: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: dict(DEFAULT_SCHEDULES)
    )
    grace: timedelta = DEFAULT_GRACE
    time_zone: str = TIME_ZONE

    @classmethod
    def from_env(cls) -> ScheduleSettings:
        schedules = dict(DEFAULT_SCHEDULES)
        schedules.update(json.loads(os.environ.get("STUDIO_LEDGER_SCHEDULES", "{}")))
        grace = os.environ.get("STUDIO_LEDGER_MISFIRE_GRACE")
        return cls(schedules, timedelta(seconds=int(grace)) if grace else DEFAULT_GRACE)


def due_at(job: str, period: str, settings: ScheduleSettings) -> datetime | None:
    """When a run of ``job`` for ``period`` (already checked: a year, or a date for a
    daily job) falls due, in the schedule's zone; ``None`` when its schedule never fires
    in that period."""
    zone = ZoneInfo(settings.time_zone)
    if job in DAILY_JOBS:
        return datetime.combine(date.fromisoformat(period), time(0), zone)
    year = int(period) + (1 if job in LAST_YEAR_JOBS else 0)
    cron = settings.schedules.get(job, DEFAULT_SCHEDULES[job])
    fire: datetime | None = CronTrigger(**cron, timezone=zone).get_next_fire_time(
        None, datetime(year, 1, 1, tzinfo=zone)
    )
    return fire if fire is not None and fire.year == year else None


def check_due(job: str, period: str, settings: ScheduleSettings, now: datetime) -> None:
    """Refuse a run asked for before it falls due (:func:`due_at`), naming when it does."""
    due = due_at(job, period, settings)
    if due is None:
        raise FutureDateError("period", f"{job}的作业计划在{period}不运行，无从补运行")
    if now < due:
        raise FutureDateError(
            "period",
            f"{job} {period} 于 {due:%Y-%m-%d %H:%M}（北京时间）到期，"
            f"现在是 {now.astimezone(due.tzinfo):%Y-%m-%d %H:%M}：作业不能提前运行",
        )
