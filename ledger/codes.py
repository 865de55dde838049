"""The program's coded vocabularies: each code with its Chinese label.

Code identifiers, stored values and the API speak the English code
(``qualified``); everything a person reads shows the label (合格). Each
vocabulary is defined here once; the tuples and label maps other modules
export (``GRADE_LABELS``, ``ROLES``…) are derived from these enums.

>>> Grade.QUALIFIED.label
'合格'
>>> Grade("qualified") is Grade.QUALIFIED
True
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Self, TypeVar

C = TypeVar("C", bound="Coded")


class Coded(StrEnum):
    """A code that is a ``str`` (so it stores and compares as one) with its label."""

    label: str

    # ``label`` has a default only so that a lookup by code, ``Grade("qualified")``,
    # type-checks: every member is defined with its label.
    def __new__(cls, code: str, label: str = "") -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        return member


def codes(vocabulary: type[Coded]) -> tuple[str, ...]:
    """Every member's code as a plain ``str``, in definition order."""
    return tuple(m.value for m in vocabulary)


def labels(vocabulary: type[Coded]) -> Mapping[str, str]:
    """``{code: label}`` for every member, in definition order."""
    return MappingProxyType({m.value: m.label for m in vocabulary})


def describe(vocabulary: type[Coded]) -> str:
    """``excellent 优秀, qualified 合格, …``: how the API documents a vocabulary."""
    return ", ".join(f"{m.value} {m.label}" for m in vocabulary)


def documented(vocabulary: type[C]) -> type[C]:
    """Let the docstring list the codes with their labels: the OpenAPI document shows it."""
    vocabulary.__doc__ = f"{vocabulary.__doc__} Codes: {describe(vocabulary)}."
    return vocabulary


@documented
class Grade(Coded):
    """考核等次 (the December assessment result)."""

    EXCELLENT = ("excellent", "优秀")
    QUALIFIED = ("qualified", "合格")
    UNQUALIFIED = ("unqualified", "不合格")


@documented
class StudioKind(Coded):
    """工作室类型."""

    PRINCIPAL = ("principal", "名校（园）长工作室")
    HOMEROOM = ("homeroom", "名班主任工作室")
    SUBJECT = ("subject", "名教师工作室")


@documented
class StudioStatus(Coded):
    """工作室状态."""

    ACTIVE = ("active", "正常")
    CANCELLED = ("cancelled", "撤销")


@documented
class MemberRole(Coded):
    """A person's role in a studio (角色); hosts and members are paid, trainees not."""

    HOST = ("host", "主持人")
    MEMBER = ("member", "成员")
    TRAINEE = ("trainee", "学员")


@documented
class UserRole(Coded):
    """A user's role in the service (SPEC §7); what each may do is :mod:`ledger.permissions`."""

    CLERK = ("clerk", "经办人")
    APPROVER = ("approver", "审核人")
    CASHIER = ("cashier", "出纳")
    AUDITOR = ("auditor", "审计")
    ADMIN = ("admin", "管理员")


@documented
class FundingSource(Coded):
    """Where a studio's money comes from (资金来源)."""

    FINANCE = ("finance", "旗财政")
    EDU_FUND = ("edu_fund", "立教教育基金")
    MATCHING = ("matching", "单位配套")
    SUPPORT = ("support", "成员单位支持")


@documented
class ReceiptKind(Coded):
    """Money a unit gives a studio: its host unit's matching (配套, which alone counts
    toward the policy's minimum) or a member's unit's support (成员所在单位经费支持)."""

    MATCHING = ("matching", "挂牌单位配套")
    SUPPORT = ("support", "成员单位支持")


@documented
class CancellationCause(Coded):
    """Why a studio was cancelled (撤销): the notice's causes, and a final assessment
    that does not rename it (不再命名和授牌)."""

    TRANSFERRED_OUT = ("transferred_out", "调离本旗")
    MAJOR_ACCIDENT = ("major_accident", "重大责任事故")
    DISCIPLINED = ("disciplined", "受到纪律处分")
    NOT_RENAMED = ("not_renamed", "考核不合格不再命名")


@documented
class CycleState(Coded):
    """Where a studio's 3-year cycle (工作周期) stands."""

    OPEN = ("open", "周期内")
    ENDED = ("ended", "期满待结算")
    CLOSED = ("closed", "已结算")


@documented
class ExpenseCategory(Coded):
    """An activity expense's category (支出类别)."""

    TRAINING = ("training", "培训费")
    MATERIALS = ("materials", "资料费")
    TRAVEL = ("travel", "差旅费")
    MEETINGS = ("meetings", "会议费")
    EXPERTS = ("experts", "专家咨询费")
    RESEARCH = ("research", "课题研究费")
    OTHER = ("other", "其他")
