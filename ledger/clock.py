"""The program's one clock: what time it is, and so which day is today, in Beijing.

Invariant: **no write is dated after today.** "Today" is the day :func:`now` falls on in
Asia/Shanghai (:data:`PROGRAM_TIME_ZONE`), wherever the server runs. The rule is
:func:`future_date_error`, joined with the closed periods' in
:func:`ledger.periods.dating_error`: services apply it early to name their field or row,
and :func:`ledger.book.post` applies it to every voucher against the very moment it
records it, so a voucher is never dated after the day it was recorded (``verify`` reports any
that is as ``DATE:``).

Nothing else asks the operating system for the time of a write. Tests set the clock
with :func:`use` (the ``clock`` fixture in ``tests/conftest.py``); a production process
has no way to: there is no setting or environment variable for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from ledger.errors import FutureDateError, ValidationError

PROGRAM_TIME_ZONE: Final = ZoneInfo("Asia/Shanghai")

Source = Callable[[], datetime]
"""Where the time comes from: a function giving an aware moment."""


def _system() -> datetime:
    return datetime.now(UTC)


_source: Source = _system


def use(source: Source | None) -> None:
    """Take the time from ``source`` from now on (tests); ``None`` puts back the system's."""
    global _source  # noqa: PLW0603 (the one clock of the process, on purpose)
    _source = source or _system


def now() -> datetime:
    """This moment, aware, in UTC."""
    return _source().astimezone(UTC)


def today() -> date:
    """Today in Beijing: the latest date a write may carry."""
    return now().astimezone(PROGRAM_TIME_ZONE).date()


def local_time(recorded: datetime) -> datetime:
    """A recorded time (naive UTC, as stored; or aware) in Beijing, for people to read."""
    aware = recorded if recorded.tzinfo else recorded.replace(tzinfo=UTC)
    return aware.astimezone(PROGRAM_TIME_ZONE)


def local_date(recorded: datetime) -> date:
    """The day in Beijing a recorded time (naive UTC, as stored; or aware) falls on."""
    return local_time(recorded).date()


def day_start(day: date) -> datetime:
    """The start of ``day`` in Beijing as a recorded time (naive UTC)."""
    local = datetime.combine(day, datetime.min.time(), PROGRAM_TIME_ZONE)
    return local.astimezone(UTC).replace(tzinfo=None)


FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2100, 12, 31)
"""The days the books may speak of (the registry's years, 2000 to 2100): a date outside
them, written or asked for, is a slip of the keyboard, refused naming its field before
any date arithmetic overflows on ``0001-01-01`` or ``9999-12-31``."""
FIRST_YEAR: Final = FIRST_DAY.year
LAST_YEAR: Final = LAST_DAY.year
"""The years a program record may name: those of the books' days."""


def out_of_books_error(day: date, *, field: str) -> ValidationError | None:
    """The refusal of ``day`` when it is outside :data:`FIRST_DAY` … :data:`LAST_DAY`."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return ValidationError(
        field,
        f"日期超出账簿范围（{FIRST_DAY.isoformat()} 至 {LAST_DAY.isoformat()}）：{day.isoformat()}",
    )


def check_in_books(day: date, *, field: str) -> date:
    """``day``, or the refusal of a day outside the books (:func:`out_of_books_error`)."""
    if error := out_of_books_error(day, field=field):
        raise error
    return day


def recorded_between(
    first: date | None, last: date | None, *, fields: tuple[str, str] = ("from_date", "to_date")
) -> tuple[datetime | None, datetime | None]:
    """The recorded times [start, end) of the days ``first`` to ``last`` inclusive, in
    Beijing; an open end stays ``None``. A day outside the books is refused, naming its
    field (``fields``: the first's, the last's)."""
    return (
        day_start(check_in_books(first, field=fields[0])) if first else None,
        day_start(check_in_books(last, field=fields[1]) + timedelta(days=1)) if last else None,
    )


def future_date_error(day: date, *, field: str, today: date) -> FutureDateError | None:
    """The refusal of ``day`` when it is after ``today``, naming ``field`` and today."""
    if day <= today:
        return None
    return FutureDateError(
        field,
        f"不能晚于今天（{today.isoformat()}）：{day.isoformat()} 尚未到来",
    )


def check_not_future(day: date, *, field: str) -> None:
    """Refuse ``day`` when it is after today (see :func:`future_date_error`)."""
    if error := future_date_error(day, field=field, today=today()):
        raise error


def check_year_begun(year: int, *, on: date | None = None) -> None:
    """Refuse work for a year that has not begun (a budget, a payout), and work for a
    year dated before that year (``on``): 2025's budget is not posted in 2024."""
    day = today()
    if year > day.year:
        raise FutureDateError(
            "year", f"{year}年尚未开始（今天是{day.isoformat()}）：不能为未开始的年度办理"
        )
    if on is not None and on.year < year:
        raise ValidationError("on", f"{year}年度的事项不能记在{year}年以前：{on.isoformat()}")


def check_not_before(day: date, earliest: date, *, field: str, what: str) -> None:
    """Steps in order: refuse ``day`` when it is before the day of the step it follows
    (``what``: 审批 before the batch's month, 支付 before its approval, a renewal before
    the close, a reversal before its original)."""
    if day < earliest:
        raise ValidationError(field, f"{day.isoformat()} 不能早于{what}（{earliest.isoformat()}）")
