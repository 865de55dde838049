"""The rules the console shows: which batch buttons a user is offered, and how long a
name waits after failed sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.console import _beijing
from ledger import users
from ledger.batches.batch import Batch, BatchLine, BatchState, LineStatus
from ledger.batches.disbursement import offered
from ledger.users import User

NOW = datetime(2025, 12, 20, 9, 0)


def _batch(state: str, *, approved_by: tuple[str, ...] = (), failed: bool = False) -> Batch:
    line = BatchLine(
        id=1,
        number=1,
        year=2025,
        studio="HJ-S01",
        person="P1",
        role="member",
        months=tuple(range(1, 13)),
        grade="qualified",
        ratio=100,
        gross=500_000,
        split={"finance": 250_000, "edu_fund": 250_000},
        tax=80_000,
        net=420_000,
        explanation="",
        status=LineStatus.FAILED if failed else LineStatus.PENDING,
    )
    return Batch(
        id=1,
        year=2025,
        state=BatchState(state),
        policy_version="v",
        prepared_by="张会计",
        created_at=NOW,
        pay_month="2025-12",
        approvals_needed=2,
        gross=500_000,
        tax=80_000,
        lines=(line,),
        approved_by=approved_by,
    )


@pytest.mark.parametrize(
    ("state", "user", "approved_by", "failed", "expected"),
    [
        ("draft", User("张会计", "clerk"), (), False, ["cancel"]),  # the preparer
        ("draft", User("李科长", "approver"), (), False, ["approve", "reject"]),
        ("draft", User("李科长", "approver"), ("李科长",), False, ["reject"]),  # not twice
        ("draft", User("审计员", "auditor"), (), False, []),
        ("approved", User("李科长", "approver"), ("李科长", "王局长"), False, []),  # 出纳 pays
        ("approved", User("赵出纳", "cashier"), ("李科长", "王局长"), False, ["confirm"]),
        ("paid", User("李科长", "approver"), ("李科长", "王局长"), False, ["close"]),
        # a failed line must be reissued or returned before the batch closes
        ("partially_paid", User("李科长", "approver"), ("李科长",), True, []),
        ("partially_paid", User("赵出纳", "cashier"), ("李科长",), True, ["return"]),
        ("partially_paid", User("张会计", "clerk"), ("李科长",), True, ["reissue"]),
        ("closed", User("李科长", "approver"), ("李科长",), False, []),
        ("rejected", User("张会计", "clerk"), (), False, []),
    ],
)
def test_a_user_is_offered_what_their_role_and_the_batch_allow(
    state: str, user: User, approved_by: tuple[str, ...], failed: bool, expected: list[str]
) -> None:
    assert offered(_batch(state, approved_by=approved_by, failed=failed), user) == expected


def test_the_preparer_is_never_offered_the_approval_even_as_an_approver() -> None:
    batch = _batch("draft")
    assert "approve" not in offered(batch, User("张会计", "approver"))


def test_four_failures_cost_nothing_and_each_after_the_fifth_doubles_the_wait() -> None:
    """A growing delay from the last failure, never a lock: 30 s after the fifth, 1
    minute after the sixth, 2, 4, 8, then the window's 15 minutes at most."""
    failures = [NOW - timedelta(minutes=m) for m in (14, 13, 12, 11)]
    assert users.sign_in_wait(failures, NOW) is None
    last = NOW - timedelta(seconds=10)
    failures.append(last)
    assert users.sign_in_wait(failures, NOW) == timedelta(seconds=20)
    assert users.sign_in_wait(failures, last + timedelta(seconds=29)) == timedelta(seconds=1)
    assert users.sign_in_wait(failures, last + timedelta(seconds=30)) is None
    waits = []
    for _ in range(7):
        failures.append(NOW)
        waits.append(users.sign_in_wait(failures, NOW))
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 15, 15, 15)]
    # an address has twenty free tries under any names, then the same growing delay
    many = [NOW - timedelta(seconds=s) for s in range(60, 40, -1)]
    assert users.sign_in_wait(many[:19], NOW, users.FREE_ADDRESS_TRIES) is None
    assert users.sign_in_wait(many, NOW, users.FREE_ADDRESS_TRIES) is None  # 30 s after 41 s
    assert users.sign_in_wait([*many, NOW], NOW, users.FREE_ADDRESS_TRIES) == timedelta(minutes=1)


def test_a_flood_of_failures_waits_the_window_and_never_overflows() -> None:
    """Sixty failures at once (a burst the throttle let through in parallel) wait the
    window, not 30 s × 2**55: that timedelta would not exist."""
    assert users.sign_in_wait([NOW] * 60, NOW) == timedelta(minutes=15)
    assert users.sign_in_wait([NOW] * 500, NOW, users.FREE_ADDRESS_TRIES) == timedelta(minutes=15)


def test_a_wait_is_said_in_seconds_under_a_minute_and_whole_minutes_up_after() -> None:
    assert users.wait_words(timedelta(seconds=29, milliseconds=1)) == "30 秒"
    assert users.wait_words(timedelta(seconds=59)) == "59 秒"
    assert users.wait_words(timedelta(seconds=60)) == "1 分钟"
    assert users.wait_words(timedelta(seconds=61)) == "2 分钟"
    assert users.wait_words(timedelta(minutes=15)) == "15 分钟"


def test_failures_older_than_the_window_do_not_count() -> None:
    old = [NOW - timedelta(minutes=16 + m) for m in range(10)]
    assert users.sign_in_wait(old, NOW) is None


def test_a_time_is_shown_in_beijing_once_however_it_was_recorded() -> None:
    """A stored time is naive UTC, a shape's is aware UTC, the scheduler's next run is
    aware in Beijing: each is shown as the same Beijing time, never moved twice (a time
    already in Beijing converted again would be 8 hours off)."""
    stored = datetime(2024, 12, 31, 10, 0)  # naive UTC, as the tables keep it
    beijing = timezone(timedelta(hours=8))
    assert _beijing(stored) == "2024-12-31 18:00"
    assert _beijing(stored.replace(tzinfo=UTC)) == "2024-12-31 18:00"
    assert _beijing(datetime(2024, 12, 31, 18, 0, tzinfo=beijing)) == "2024-12-31 18:00"
    assert _beijing(None) == ""
