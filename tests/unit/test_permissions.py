"""The permission table: every action names real roles; a refusal says who may."""

from __future__ import annotations

import pytest

from jobs.schedule import describe_cron
from ledger import permissions, users
from ledger.codes import Grade, UserRole, describe, labels
from ledger.errors import PermissionDeniedError
from ledger.users import User
from tests.fakes import FakeStores


def test_every_action_is_allowed_to_someone_and_only_to_real_roles() -> None:
    for action, roles in permissions.PERMISSIONS.items():
        assert roles, action
        assert roles <= set(UserRole), action
        assert action.count(".") == 1, action


def test_an_action_the_table_does_not_name_is_refused_to_everyone() -> None:
    assert not any(permissions.allows(role, "batch.delete") for role in UserRole)
    with pytest.raises(PermissionDeniedError, match=r"batch\.delete：任何角色都不能执行此操作"):
        permissions.require("管理员", "admin", "batch.delete")


def test_a_refusal_names_the_action_and_who_may_do_it() -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        permissions.require("张会计", "clerk", "period.close")
    assert str(refused.value) == (
        "张会计 是经办人（clerk），无权执行 period.close：仅限审核人（approver）、管理员（admin）"
    )
    assert refused.value.action == "period.close"


def test_maker_and_checker_are_different_roles() -> None:
    assert permissions.roles_for("batch.create").isdisjoint(permissions.roles_for("batch.approve"))


def test_the_cashier_pays_and_approvers_approve() -> None:
    """审批与出纳分离: the money's way out and back — the bank file, the bank's answer,
    returns, the tax paid over — is the 出纳's alone, and no approver's."""
    paying = ("batch.bank_file", "batch.confirm", "batch.return", "tax.remit")
    for action in paying:
        assert permissions.roles_for(action) == {UserRole.CASHIER}, action
        assert permissions.roles_for(action).isdisjoint(permissions.roles_for("batch.approve"))
    # the 扣缴申报 with whole 身份证号 goes to the tax office from the cashier; the
    # auditor and the admin read it masked (IN_FULL)
    assert permissions.roles_for("statement.withholding") == {
        UserRole.CASHIER,
        UserRole.AUDITOR,
        UserRole.ADMIN,
    }


def test_codes_carry_their_chinese_labels() -> None:
    assert Grade("qualified") is Grade.QUALIFIED
    assert Grade.QUALIFIED == "qualified"
    assert labels(Grade) == {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
    assert describe(Grade) == "excellent 优秀, qualified 合格, unqualified 不合格"


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ({"month": 1, "day": 2, "hour": 9, "minute": 0}, "每年1月2日 09:00"),
        ({"day": 5, "hour": 8, "minute": 30}, "每月5日 08:30"),
        ({"hour": 2, "minute": 0}, "每天 02:00"),
        ({"day_of_week": "mon", "hour": 2}, "day_of_week=mon hour=2"),
    ],
)
def test_schedules_read_in_words(cron: dict[str, object], words: str) -> None:
    assert describe_cron(cron) == words


def test_a_read_names_its_reader_unless_every_role_may_read_it() -> None:
    stores = FakeStores()
    stores.users.add_user(User("张会计", "clerk"), "x")
    stores.users.add_user(User("审计员", "auditor"), "y")
    assert users.reader(stores, None, "ledger.read") is None  # open to every role
    assert users.reader(stores, None, "batch.roster") is None  # ID numbers masked for all
    with pytest.raises(PermissionDeniedError) as unnamed:
        users.reader(stores, None, "audit.read")
    assert str(unnamed.value) == (
        "读取需要署名：audit.read 仅限审计（auditor）、管理员（admin），请用 --as 指明用户"
    )
    with pytest.raises(PermissionDeniedError, match=r"张会计 是经办人（clerk），无权执行 audit"):
        users.reader(stores, "张会计", "audit.read")
    assert users.reader(stores, "审计员", "audit.read") == User("审计员", "auditor")
    for action in ("audit.read", "job.read", "user.read", "statement.export"):
        with pytest.raises(PermissionDeniedError):
            users.reader(stores, None, action)
