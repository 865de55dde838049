"""The one catalogue: a field's code read by its name."""

from __future__ import annotations

from ledger.messages import BY_LINE, COLLECTIONS, FIELDS, IN_CONTEXT, field_label


def test_a_field_is_read_by_its_name_and_a_list_item_by_its_place() -> None:
    assert field_label("period") == "会计期间"
    assert field_label("receipts[0].amount") == "收款第1项 金额"
    assert field_label("transactions[2].postings[0].memo") == "凭证第3项 分录第1项 摘要"
    assert field_label("receipts[1].出资单位") == "收款第2项 出资单位"
    assert field_label("--on") == "--on 日期"
    assert field_label("failed[3]") == "退回的第3行"  # a line number, not a place
    assert field_label("postings[0].source") == "分录第1项 转出科目"
    assert field_label("expenses[0].source") == "支出第1项 资金来源"


def test_a_chinese_name_or_an_unknown_code_is_read_as_it_is() -> None:
    assert field_label("准备日期") == "准备日期"
    assert field_label("工作表 成员 第3行 身份证号") == "工作表 成员 第3行 身份证号"
    assert field_label("配套资金.金额") == "配套资金.金额"
    assert field_label("no_such_code") == "no_such_code"


def test_every_name_is_chinese() -> None:
    named = [*FIELDS.values(), *COLLECTIONS.values(), *BY_LINE.values(), *IN_CONTEXT.values()]
    assert all(not label.replace("--", "").split()[-1].isascii() for label in named)
