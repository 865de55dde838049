"""Who may do what (SPEC §7): the one table naming a role for an action.

Every entry point asks this table and nothing else: the HTTP guard reads a
handler's declared action, the services check the acting user before they
change anything, the command line checks ``--as``, the console hides the
buttons a role may not press. An action missing from the table is refused to
everyone, so a new operation cannot be left open by accident.

Maker-checker (the preparer never approves their own batch) is a rule of the
batch, not of a role: :func:`ledger.batches.check_approver`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ledger.codes import UserRole, labels
from ledger.errors import PermissionDeniedError

Action = str
"""An action name, ``<resource>.<verb>``: ``batch.approve``."""

_EVERYONE: Final = frozenset(UserRole)
_CLERK: Final = frozenset({UserRole.CLERK})
_APPROVER: Final = frozenset({UserRole.APPROVER})
_CASHIER: Final = frozenset({UserRole.CASHIER})
_ADMIN: Final = frozenset({UserRole.ADMIN})
_AUDIT: Final = frozenset({UserRole.AUDITOR, UserRole.ADMIN})

PERMISSIONS: Final[Mapping[Action, frozenset[UserRole]]] = MappingProxyType(
    {
        # reading the registry, the books and the batches
        "registry.read": _EVERYONE,
        "ledger.read": _EVERYONE,
        "ledger.verify": _EVERYONE,
        "batch.read": _EVERYONE,
        "batch.roster": _EVERYONE,  # 发放表: the signing sheet, personal data masked
        "batch.bank_file": _CASHIER,  # 批量代发: whole ID numbers and bank accounts
        "statement.export": _AUDIT,
        # 扣缴申报: whole 身份证号 for the 出纳 who files it, masked for an auditor
        "statement.withholding": frozenset({UserRole.CASHIER, UserRole.AUDITOR, UserRole.ADMIN}),
        "audit.read": _AUDIT,
        "job.read": _AUDIT,
        "user.read": _ADMIN,
        # the registry and the money coming in
        "roster.save": _CLERK,
        "grades.save": _CLERK,
        "receipt.record": _CLERK,
        "expense.record": _CLERK,
        "appropriation.post": frozenset({UserRole.CLERK, UserRole.ADMIN}),
        # the cycle: its close returns money (the scheduled job acts as a clerk); renaming
        # a studio and restoring a held studio's funding record the 领导小组's decisions
        "cycle.close": frozenset({UserRole.CLERK, UserRole.APPROVER}),
        "cycle.renew": _ADMIN,
        "funding.decide": _ADMIN,
        # batches
        "batch.create": _CLERK,
        "batch.reissue": _CLERK,
        "batch.cancel": frozenset({UserRole.CLERK, UserRole.ADMIN}),
        "batch.approve": _APPROVER,
        "batch.reject": _APPROVER,
        # the 出纳 sends the bank file and records what the bank did: never an approver
        "batch.confirm": _CASHIER,
        "batch.return": _CASHIER,
        "tax.remit": _CASHIER,  # 缴纳: the month's declared tax paid over to the tax office
        "batch.close": _APPROVER,
        # the books and the service
        "period.close": frozenset({UserRole.APPROVER, UserRole.ADMIN}),
        "voucher.reverse": _APPROVER,  # 红字冲销: a correction, in an open month
        # 原始凭证: whoever keeps the books' papers attaches them; everyone may read them
        "attachment.add": frozenset({UserRole.CLERK, UserRole.CASHIER, UserRole.APPROVER}),
        # an original the bank sent or was sent holds whole 身份证号 and accounts: those
        # need ``batch.bank_file`` besides (ledger.books.attachments.original)
        "attachment.read": _EVERYONE,
        "policy.add": _ADMIN,
        "job.run": _ADMIN,
        "user.add": _ADMIN,
        "user.confirm": _ADMIN,  # a second admin activates an approver or admin
        "user.disable": _ADMIN,
        "user.token": _ADMIN,
        "user.password": _ADMIN,  # anyone's
        "password.own": _EVERYONE,  # one's own, with the current one (console: 修改密码)
    }
)


Place = str
"""Where personal data is shown: ``batch.payees``."""

IN_FULL: Final[Mapping[Place, frozenset[UserRole]]] = MappingProxyType(
    {
        # 身份证号 and bank accounts on the batch page: the approvers check whom they
        # approve, the 出纳 whom the bank pays (the 发放表 that goes round the studios to
        # be signed masks them for everyone)
        "batch.payees": frozenset({UserRole.APPROVER, UserRole.CASHIER}),
        # the 扣缴申报 the 出纳 files with the tax office
        "tax.declaration": _CASHIER,
    }
)
"""Who sees personal data whole, and where (个人信息保护法: the least, to the fewest).
The 批量代发 file is whole by nature and only the 出纳 may export it at all
(``batch.bank_file`` above). Everywhere else — registry pages and API, users, the audit
log, every other workbook — and to every other role, it is masked by the one rule of
:mod:`ledger.privacy`."""


def sees_in_full(role: str, place: Place) -> bool:
    """Whether ``role`` is shown personal data whole at ``place`` (nowhere unnamed)."""
    return role in IN_FULL.get(place, frozenset())


def roles_for(action: Action) -> frozenset[UserRole]:
    """The roles allowed ``action``; none for an action the table does not name."""
    return PERMISSIONS.get(action, frozenset())


def allows(role: str, action: Action) -> bool:
    return role in roles_for(action)


def who_may(action: Action) -> str:
    """The roles allowed ``action`` in words: 审批人（approver）、管理员（admin）."""
    allowed = sorted(roles_for(action), key=list(UserRole).index)
    return "、".join(f"{r.label}（{r.value}）" for r in allowed) or "无人"


def refusal(name: str, role: str, action: Action) -> PermissionDeniedError:
    """The refusal for ``name`` (``role``) attempting ``action``, naming who may."""
    label = labels(UserRole).get(role, role)
    allowed = f"仅限{who_may(action)}" if roles_for(action) else "任何角色都不能执行此操作"
    return PermissionDeniedError(
        f"{name} 是{label}（{role}），无权执行 {action}：{allowed}", action=action
    )


def unnamed_refusal(action: Action) -> PermissionDeniedError:
    """The refusal of a read of ``action`` that names no user, naming who may read it."""
    return PermissionDeniedError(
        f"读取需要署名：{action} 仅限{who_may(action)}，请用 --as 指明用户",
        action=action,
    )


def require(name: str, role: str, action: Action) -> None:
    """Refuse unless ``role`` may do ``action``."""
    if not allows(role, action):
        raise refusal(name, role, action)
