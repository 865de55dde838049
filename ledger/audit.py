"""The audit log (SPEC §7): who did what, to what, when and through which request —
and the answers the service keeps so that a repeated request is answered, not redone.

Every entry point writes its state changes here through :func:`record`, in the same
unit of work as the change itself, so a change and its entry commit or vanish
together. Reading the log is for the roles ``audit.read`` names; the entry points
check that before they call :func:`entries`. An entry names a person, never their
whole 身份证号: :func:`record` masks every one it is given and follows it with its
pseudonym (:func:`ledger.privacy.pseudonym`), so two entries about one person can be
matched without the log saying who.

The audit log is not the ledger: it is not in the hash chain (its entries are evidence
of who acted, not money), so masking an old entry, as a migration once did, changes no
transaction, no hash and no balance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from ledger.errors import inert
from ledger.privacy import mask_id_number, pseudonym


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    object: str
    request_id: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What a write with an ``Idempotency-Key`` answered the first time."""

    actor: str
    method: str
    path: str
    body_hash: str
    status: int
    response: Any


class AuditStore(Protocol):
    """What the audit log needs from storage; ``schema.audit_store`` implements it."""

    def record(
        self,
        actor: str,
        action: str,
        obj: str,
        request_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None: ...

    def entries(
        self,
        after: int,
        limit: int,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        newest_first: bool = False,
        before: int | None = None,
    ) -> list[AuditEntry]: ...

    def pseudonym_key(self) -> bytes | None:
        """The key of :func:`ledger.privacy.pseudonym`; None when the chain key cannot
        be read (the entry then keeps the masked number alone)."""
        ...

    def lock_key(self, key: str) -> None: ...
    def answer(self, key: str) -> StoredAnswer | None: ...
    def remember(self, key: str, answer: StoredAnswer) -> None: ...


class Stores(Protocol):
    @property
    def audit(self) -> AuditStore: ...


_ID_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
"""A 身份证号 (18 characters, or the old 15 digits) standing alone in a text."""


def scrubbed(value: Any, key: bytes | None = None) -> Any:
    """``value`` with every 身份证号 in its texts masked and, given a ``key``, followed by
    its pseudonym (``150102********9023#3f9a1c2e07``), and every hidden character written
    out (:func:`ledger.errors.inert`), through dicts and lists: an entry says which
    person, never their whole number, and nothing typed from outside (a failed sign-in's
    name, a request id) can drive a terminal or reorder a line."""
    if isinstance(value, str):
        return inert(_ID_NUMBER.sub(lambda m: _masked(m.group(0).upper(), key), value))
    if isinstance(value, dict):
        return {k: scrubbed(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(v, key) for v in value]
    return value


def _masked(id_number: str, key: bytes | None) -> str:
    masked = mask_id_number(id_number)
    return masked if key is None else f"{masked}#{pseudonym(id_number, key)}"


def record(
    stores: Stores,
    actor: str,
    action: str,
    target: str,
    request_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry: ``actor`` did ``action`` to ``target`` (``batch:7``); a 身份证号
    anywhere in its texts is kept masked with its pseudonym, a hidden character written out
    (:func:`scrubbed`)."""
    key = stores.audit.pseudonym_key()
    stores.audit.record(
        scrubbed(actor, key),
        action,
        scrubbed(target, key),
        scrubbed(request_id, key),
        scrubbed(detail, key),
    )


def entries(
    stores: Stores,
    after: int,
    limit: int,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    newest_first: bool = False,
    before: int | None = None,
) -> list[AuditEntry]:
    """Entries oldest first after id ``after`` (or the newest first): by actor, by action
    (``batch`` matches every ``batch.*``), by object (``batch:7``), recorded in
    [start, end). An actor or object asked for is scrubbed as :func:`record` scrubs what
    it keeps, so a name typed with a hidden character or a whole 身份证号 finds its
    entries."""
    key = stores.audit.pseudonym_key() if actor is not None or target is not None else None
    return stores.audit.entries(
        after,
        limit,
        actor=None if actor is None else scrubbed(actor, key),
        action=action,
        target=None if target is None else scrubbed(target, key),
        start=start,
        end=end,
        newest_first=newest_first,
        before=before,
    )


def replay(stores: Stores, key: str) -> StoredAnswer | None:
    """The answer a request with this ``Idempotency-Key`` got, if one did; requests with
    the same key wait for each other here, so only one of them does the work."""
    stores.audit.lock_key(key)
    return stores.audit.answer(key)


def keep_answer(stores: Stores, key: str, answer: StoredAnswer) -> None:
    """Keep the answer of a write for a repeat of the same request."""
    stores.audit.remember(key, answer)


ACTION_LABELS: Final[dict[str, str]] = {
    # the registry and the money coming in
    "roster.save": "保存名册",
    "grades.save": "保存考核结果",
    "receipt.record": "记录收款",
    "expense.record": "记录支出",
    "appropriation.post": "拨款记账",
    "import.roster": "导入名册",
    "import.grades": "导入考核结果",
    "import.receipts": "导入到账",
    "import.expenses": "导入支出与计划",
    "policy.add": "新增政策",
    "funding.decide": "恢复拨付",
    "cycle.close": "结算周期",
    "cycle.renew": "继续命名",
    # batches
    "batch.create": "准备批次",
    "batch.reissue": "重新发放",
    "batch.approve": "审批通过",
    "batch.reject": "驳回批次",
    "batch.cancel": "作废批次",
    "batch.confirm": "确认支付",
    "batch.results": "读入银行结果",
    "batch.return": "退回资金",
    "batch.close": "关闭批次",
    "batch.roster": "下载发放表",
    "batch.bank_file": "下载批量代发文件",
    # the books
    "voucher.reverse": "红字冲销",
    "period.close": "结账",
    "attachment.add": "附加原始凭证",
    "attachment.get": "下载原始凭证",
    "chain.key_rotated": "更换账链密钥",
    "ledger.backup": "备份账簿",
    "ledger.restore": "从备份恢复",
    "tax.remit": "缴纳个税",
    "statement.export": "导出报表",
    "voucher.print": "打印凭证",
    "statement.withholding": "导出扣缴申报表",
    "audit.export": "导出审计日志",
    # people and the service
    "user.add": "新增用户",
    "user.confirm": "确认用户",
    "user.disable": "停用用户",
    "user.token": "更换令牌",
    "user.password": "重设密码",
    "password.own": "修改本人密码",
    "session.sign_in": "登录",
    "session.sign_in_failed": "登录失败",
    "session.sign_in_throttled": "登录受限",
    "session.sign_out": "退出",
    "job.started": "作业开始",
    "job.succeeded": "作业完成",
    "job.failed": "作业失败",
    "job.already": "作业已运行过",
    "job.run": "立即运行作业",
}
"""Each action the log keeps, as the people reading it call it (the code stays beside
it: filters and exports name actions by code)."""


def action_label(action: str) -> str:
    """``action`` in words (``batch.approve`` → 审批通过), the code itself when new."""
    return ACTION_LABELS.get(action, action)
