"""Personal data shown the least: one masking rule, and one table of who sees it whole."""

from __future__ import annotations

import pytest

from ledger.codes import UserRole
from ledger.permissions import IN_FULL, sees_in_full
from ledger.privacy import mask_account, mask_id_number, mask_phone


@pytest.mark.parametrize(
    ("whole", "masked"),
    [
        ("150102198001011234", "150102********1234"),
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),  # the old 15 digits
        ("1234567890", "**********"),  # too short to keep any of it hidden: all masked
        ("", ""),
    ],
)
def test_an_id_number_keeps_its_region_and_last_four(whole: str, masked: str) -> None:
    assert mask_id_number(whole) == masked


@pytest.mark.parametrize(
    ("whole", "masked"),
    [
        ("6228480012345678901", "***************8901"),
        ("62284800", "****4800"),  # an 8-digit account is masked too
        ("12345", "*2345"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_a_bank_account_keeps_its_last_four_whatever_its_length(whole: str, masked: str) -> None:
    assert mask_account(whole) == masked


def test_a_phone_number_keeps_its_last_four() -> None:
    assert mask_phone("13912345678") == "*******5678"
    assert mask_phone("0477-8123456") == "********3456"


def test_personal_data_is_whole_only_where_the_table_says_and_to_whom() -> None:
    """The approvers check whom they approve and the 出纳 whom the bank pays; the 出纳
    files the tax declaration. Nobody else, nowhere else: not the clerk who prepared the
    batch, not the auditor, not the admin."""
    assert dict(IN_FULL) == {
        "batch.payees": {UserRole.APPROVER, UserRole.CASHIER},
        "tax.declaration": {UserRole.CASHIER},
    }
    for role in (UserRole.CLERK, UserRole.AUDITOR, UserRole.ADMIN):
        assert not any(sees_in_full(role, place) for place in IN_FULL)
    assert sees_in_full(UserRole.APPROVER, "batch.payees")
    assert not sees_in_full(UserRole.APPROVER, "tax.declaration")
    assert not sees_in_full(UserRole.CASHIER, "registry.people")  # a place not named
