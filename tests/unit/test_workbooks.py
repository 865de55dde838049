"""The one place user text becomes a cell: never a formula, nothing lost; and the
generated-at stamp in 北京时间."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ledger.workbooks.sheets import FORMULA_TRIGGERS, fit_width, stamp, text_value


@given(st.text())
def test_text_never_starts_as_a_formula_and_keeps_every_character(text: str) -> None:
    shown = text_value(text)
    assert not shown.startswith(FORMULA_TRIGGERS)
    assert shown in (text, "'" + text)


def test_each_formula_trigger_is_neutralised_as_owasp_says() -> None:
    assert [text_value(t + "1") for t in ("=", "+", "-", "@", "\t", "\r")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@1",
        "'\t1",
        "'\r1",
    ]
    assert text_value("王芳") == "王芳"
    assert text_value("冲销 记-2024-03-0002") == "冲销 记-2024-03-0002"


def test_the_stamp_is_beijing_time_with_the_zone_named() -> None:
    # 01:30 UTC on 10 January is 09:30 in Beijing; a naive time is UTC, as stored
    for at in (datetime(2025, 1, 10, 1, 30, tzinfo=UTC), datetime(2025, 1, 10, 1, 30)):
        expected = "生成时间 2025-01-10 09:30（北京时间），导出人 审计员（审计）"
        assert stamp("审计员", "审计", at) == expected


def test_a_column_fits_chinese_text_at_two_widths_a_character() -> None:
    assert fit_width("HJ-S01") == 8
    assert fit_width("中国农业银行") == 14
    assert fit_width(None) == 0
