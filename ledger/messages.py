"""The one catalogue of the words a refusal is read in (SPEC §7, issue 33).

A refusal names the field it is about by a stable code (``period``, ``receipts[0].amount``,
``--on``): the HTTP problem's ``errors[].field`` keeps the code for programs, and every
person — at the console, in the problem's ``detail``, at the command line — reads the
field by its name here (``会计期间``, ``收款第1项 金额``, ``--on 日期``). The message
beside it is the domain's own, in Chinese where it is raised.

A field already named in Chinese (``准备日期``, ``工作表 成员 第3行 身份证号``) is read
as it is; a code this catalogue does not know is shown as it is, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

FIELDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # dates and periods
        "on": "日期",
        "date": "日期",
        "day": "日期",
        "effective_date": "记账日期",
        "month": "月份",
        "period": "会计期间",
        "year": "年度",
        "joined_on": "加入日期",
        "left_on": "退出日期",
        "cancelled_on": "撤销日期",
        "cycle_start_year": "周期起始年度",
        # money
        "amount": "金额",
        "amount_fen": "金额",
        "percent": "比例",
        "source": "资金来源",
        "destination": "对方科目",
        "category": "类别",
        "memo": "摘要",
        "kind": "类型",
        "unit": "单位",
        "claimant_id": "报销人身份证号",
        "postings": "分录",
        "reverses": "冲销原分录",
        "idempotency_key": "幂等键",
        "anchor": "锚点",
        "withholding": "代扣个税规则",
        # registry
        "studio": "工作室",
        "code": "编号",
        "name": "用户名",  # a user's (a person's is 姓名 where the roster names it)
        "id_number": "身份证号",
        "bank_name": "开户银行",
        "bank_account": "银行账号",
        "phone": "电话",
        "role": "角色",
        "grade": "考核等次",
        "round": "轮次",
        "host_unit": "挂牌单位",
        "cancellation_cause": "撤销原因",
        "cancellation_reason": "撤销说明",
        # the policy
        "version": "政策版本",
        "source_shares": "资金来源比例",
        "funding_ratios": "拨款比例",
        "grade_ratios": "等次发放比例",
        "quotas": "名额",
        "proration_day": "按月折算日",
        "renewal_grades": "可续期等次",
        "travel_included": "差旅费是否含在补贴内",
        "host_forfeits_on_cancellation": "撤销时主持人补贴",
        "approval_threshold": "两人审批金额线",
        # batches and users
        "batch": "批次",
        "line": "行",
        "failed": "退回行",
        "reason": "理由",
        "password": "密码",
        "file": "文件",
        "--as": "办理人",
        "account": "科目",
        "job": "作业",
        "from_date": "起始日期",
        "to_date": "截止日期",
        "--on": "--on 日期",
        "--as-of": "--as-of 截至日期",
        "--out": "--out 输出文件夹",
        "--month": "--month 月份",
        "--amount": "--amount 金额",
        "--failed": "--failed 退回行",
    }
)
"""Field code → its name for a person."""

COLLECTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "receipts": "收款",
        "expenses": "支出",
        "grades": "考核结果",
        "studios": "工作室",
        "people": "人员",
        "memberships": "成员",
        "transactions": "凭证",
        "postings": "分录",
        "plans": "支出计划",
    }
)
"""A list's code → what one item of it is called (``receipts[0]`` → ``收款第1项``)."""

BY_LINE: Final[Mapping[str, str]] = MappingProxyType({"failed": "退回的第{}行"})
"""Lists keyed by a batch's line number, not by place (``failed[3]`` → ``退回的第3行``)."""

IN_CONTEXT: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        ("postings", "source"): "转出科目",
        ("postings", "destination"): "转入科目",
        ("studios", "name"): "名称",
        ("people", "name"): "姓名",
        ("studios", "kind"): "类型",
    }
)
"""A field whose name depends on the list it is in (a posting's source is an account)."""

_ITEM: Final = re.compile(r"([A-Za-z_]+)\[(\d+)\]")


def field_label(field: str) -> str:
    """``period`` → ``会计期间``; ``receipts[0].amount`` → ``收款第1项 金额``;
    ``transactions[2].postings[0].memo`` → ``凭证第3项 分录第1项 摘要``; anything else
    (Chinese already, or a code not known) as it is."""
    if field in FIELDS:
        return FIELDS[field]
    if not re.search(r"[A-Za-z]", field):
        return field  # named in Chinese where it was raised
    parts = []
    within = ""
    for part in field.split("."):
        if item := _ITEM.fullmatch(part):
            within, index = item.groups()
            if within in BY_LINE:
                parts.append(BY_LINE[within].format(int(index)))
            else:
                parts.append(f"{COLLECTIONS.get(within, within)}第{int(index) + 1}项")
        else:
            parts.append(IN_CONTEXT.get((within, part)) or FIELDS.get(part, part))
    return " ".join(p for p in parts if p)
