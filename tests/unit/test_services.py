"""The services' rules as worked examples on in-memory stores (tests/fakes.py): who may
do what, the first admin, tokens, appropriation, receipts. No database: these run in
milliseconds; the same services run on SQLite and PostgreSQL in tests/integration."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import users
from ledger.books import book
from ledger.errors import (
    InvalidInputError,
    PermissionDeniedError,
    UnknownUserError,
    ValidationError,
)
from ledger.funds import fund_services
from ledger.funds.expenses import Receipt
from ledger.registry import roster_services
from ledger.registry.roster import Studio
from tests.fakes import FakeStores, approver_id_number

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
S2 = Studio("HJ-S02", "数学名师工作室", "subject", "第二中学", 2024)


@pytest.fixture
def stores() -> FakeStores:
    made = FakeStores()
    users.add_user(made, "管理员", "admin", by=None)
    users.add_user(made, "副管理员", "admin", by=None)
    for n, (name, role) in enumerate(
        (("张会计", "clerk"), ("李科长", "approver"), ("审计员", "auditor"))
    ):
        users.add_user(made, name, role, by="管理员", id_number=approver_id_number(n))
    users.confirm_user(made, "李科长", by="副管理员")
    return made


def test_a_roster_is_saved_by_a_clerk_and_refused_to_an_approver(stores: FakeStores) -> None:
    with pytest.raises(PermissionDeniedError, match=r"roster\.save：仅限经办人（clerk）"):
        roster_services.save_roster(stores, [S1], [], [], by="李科长")
    assert stores.registry.studios() == []
    assert roster_services.save_roster(stores, [S1, S2], [], [], by="张会计").changed == 2


def test_two_studios_are_funded_25000_per_source_once(stores: FakeStores) -> None:
    roster_services.save_roster(stores, [S1, S2], [], [], by="张会计")
    report = fund_services.appropriate(stores, 2024, by="张会计")
    assert (len(report.posted), report.total) == (2, 2 * 5_000_000)
    assert stores.ledger.balances["studio:HJ-S01:fund:finance"] == 2_500_000
    assert stores.ledger.balances["studio:HJ-S02:fund:edu_fund"] == 2_500_000
    assert stores.ledger.balances["source:finance"] == -5_000_000
    again = fund_services.appropriate(stores, 2024, by="张会计")
    assert (again.posted, again.already) == ([], ["HJ-S01", "HJ-S02"])
    assert len(stores.ledger.transactions) == 2
    assert book.verify(stores.ledger).ok


def test_the_same_receipt_twice_is_posted_once(stores: FakeStores) -> None:
    roster_services.save_roster(stores, [S1], [], [], by="张会计")
    receipt = Receipt(date(2024, 3, 1), "HJ-S01", 200_000, "第一中学配套")
    fund_services.receive_matching(stores, [receipt], by="张会计")
    fund_services.receive_matching(stores, [receipt], by="张会计")
    assert stores.ledger.balances["studio:HJ-S01:fund:matching"] == 200_000
    assert fund_services.matching_received(stores, 2024) == {"HJ-S01": 200_000}


def test_only_the_first_two_admins_are_added_without_an_admin() -> None:
    fresh = FakeStores()
    users.add_user(fresh, "管理员", "admin", by=None)
    users.add_user(fresh, "副管理员", "admin", by=None)
    with pytest.raises(ValidationError, match="用户须由管理员添加"):
        users.add_user(fresh, "另一个", "admin", by=None)
    with pytest.raises(ValidationError, match="角色：须为以下之一：经办人（clerk）"):
        users.add_user(fresh, "某人", "boss", by="管理员")
    users.add_user(fresh, "张会计", "clerk", by="管理员")
    with pytest.raises(PermissionDeniedError, match=r"user\.add：仅限管理员（admin）"):
        users.add_user(fresh, "李四", "clerk", by="张会计")


def test_a_rotated_token_replaces_the_old_and_a_disabled_user_does_nothing(
    stores: FakeStores,
) -> None:
    [record] = [r for r in stores.users.records() if r.name == "张会计"]
    old = stores.users.by_name["张会计"][1]
    new = users.rotate_token(stores, "张会计", by="管理员")
    assert stores.users.token_holder(old) is None
    holder = stores.users.token_holder(users.token_hash(new))
    assert holder is not None
    assert holder.user == users.User("张会计", "clerk")
    assert users.disable_user(stores, "张会计", by="管理员").disabled is True
    assert users.disable_user(stores, "张会计", by="管理员").disabled is True  # no change twice
    with pytest.raises(UnknownUserError, match="没有名为 '张会计' 的在用用户"):
        roster_services.save_roster(stores, [S1], [], [], by="张会计")
    with pytest.raises(ValidationError, match="不能为停用的用户签发令牌"):
        users.rotate_token(stores, "张会计", by="管理员")
    with pytest.raises(ValidationError, match="管理员不能停用自己的账号"):
        users.disable_user(stores, "管理员", by="管理员")
    assert record.role == "clerk"


def test_a_password_is_kept_only_as_an_argon2_hash_and_checked(stores: FakeStores) -> None:
    users.set_password(stores, "张会计", "correct horse battery", by="管理员")
    stored = stores.users.passwords["张会计"]
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert users.check_password(stores, "张会计", "correct horse battery") == users.User(
        "张会计", "clerk"
    )
    assert users.check_password(stores, "张会计", "correct horse batterY") is None
    assert users.check_password(stores, "nobody", "correct horse battery") is None
    assert users.check_password(stores, "李科长", "correct horse battery") is None  # none set
    users.set_password(stores, "张会计", "a new one of my own", by="张会计")  # one's own
    assert users.check_password(stores, "张会计", "a new one of my own") is not None
    users.disable_user(stores, "张会计", by="管理员")
    assert users.check_password(stores, "张会计", "a new one of my own") is None


def test_a_weak_password_is_refused_naming_every_problem(stores: FakeStores) -> None:
    with pytest.raises(InvalidInputError) as refused:
        users.set_password(stores, "张会计", " short\t", by="管理员")
    assert [e.message for e in refused.value.errors] == [
        "至少12个字符",
        "首尾不能有空格，也不能含控制字符",
    ]
    with pytest.raises(PermissionDeniedError, match=r"user\.password：仅限管理员"):
        users.set_password(stores, "李科长", "someone else's", by="张会计")
    assert "张会计" not in stores.users.passwords


@pytest.mark.parametrize(
    "guessable",
    [
        "aaaaaaaaaaaa",  # twelve characters, one repeated
        "123456789012",
        "qwertyuiop12",  # a keyboard row
        "Password1234",
        "woaini5201314",  # 我爱你 and 520 1314: what a Chinese guesser tries first
        "hangjinqi2025",  # the place and a year
        "张会计张会计张会计张会计",  # the user's own name, over and over
    ],
)
def test_a_password_long_enough_but_commonly_chosen_is_refused(
    stores: FakeStores, guessable: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        users.set_password(stores, "张会计", guessable, by="管理员")
    [error] = refused.value.errors
    assert error.field == "password"
    assert error.message.startswith("过于常见或容易猜到")
    assert "张会计" not in stores.users.passwords


@pytest.mark.parametrize(
    "chosen",
    ["correct horse battery", "lkz2024studioledger", "李科长的密码很长很长很长的", "x7#mQ9v!Lp2s"],
)
def test_a_long_uncommon_phrase_is_accepted_whatever_its_characters(
    stores: FakeStores, chosen: str
) -> None:
    """No composition rules: no digit, capital or symbol is asked for (SP 800-63B)."""
    users.set_password(stores, "张会计", chosen, by="管理员")
    assert users.check_password(stores, "张会计", chosen) is not None


def test_eleven_characters_are_too_few_and_twelve_enough() -> None:
    assert [e.message for e in users.password_errors("张会计", "k9#Vq2!mZ7x")] == ["至少12个字符"]
    assert users.password_errors("张会计", "k9#Vq2!mZ7xR") == []


def test_an_approver_added_by_one_admin_waits_for_a_second(stores: FakeStores) -> None:
    """One admin alone cannot make approvers: they could prepare and approve a batch
    as three "distinct" people."""
    token = users.add_user(
        stores, "王局长", "approver", by="管理员", id_number=approver_id_number(9)
    )
    [record] = [r for r in stores.users.records() if r.name == "王局长"]
    assert (record.awaiting_confirmation, record.disabled, record.created_by) == (
        True,
        True,
        "管理员",
    )
    holder = stores.users.token_holder(users.token_hash(token))
    assert users.token_refusal(holder, record.created_at) == (
        "用户 王局长 尚待另一位管理员确认：`users confirm 王局长`"
    )
    with pytest.raises(UnknownUserError, match="没有名为 '王局长' 的在用用户"):
        users.acting(stores, "王局长", "batch.approve")
    with pytest.raises(ValidationError, match="王局长 由 管理员 添加，须由另一位管理员确认"):
        users.confirm_user(stores, "王局长", by="管理员")
    with pytest.raises(PermissionDeniedError, match=r"user\.confirm：仅限管理员（admin）"):
        users.confirm_user(stores, "王局长", by="李科长")
    confirmed = users.confirm_user(stores, "王局长", by="副管理员")
    assert (confirmed.disabled, confirmed.awaiting_confirmation, confirmed.confirmed_by) == (
        False,
        False,
        "副管理员",
    )
    assert users.acting(stores, "王局长", "batch.approve").name == "王局长"
    assert users.confirm_user(stores, "王局长", by="副管理员") == confirmed  # no change twice


def test_a_second_admin_waits_too_and_a_clerk_does_not(stores: FakeStores) -> None:
    users.add_user(stores, "第三管理员", "admin", by="管理员")
    users.add_user(stores, "赵会计", "clerk", by="管理员")
    waiting = {r.name: r.awaiting_confirmation for r in stores.users.records()}
    assert (waiting["第三管理员"], waiting["赵会计"]) == (True, False)
    # disabling a user who awaits confirmation ends the wait: nobody can confirm them now
    users.disable_user(stores, "第三管理员", by="副管理员")
    assert users.confirm_user(stores, "第三管理员", by="副管理员").disabled is True


def test_an_approver_says_who_they_are_and_one_person_has_one_active_user(
    stores: FakeStores,
) -> None:
    """The 身份证号 is what stops an approver approving their own pay: required, checked,
    and not shared by two active users (one person as two "distinct" approvers)."""
    before = len(stores.users.records())
    with pytest.raises(ValidationError) as refused:
        users.add_user(stores, "钱科长", "approver", by="管理员")
    assert refused.value.field == "id_number"
    assert "审核人须登记本人身份证号" in refused.value.message
    with pytest.raises(ValidationError, match="校验位"):
        users.add_user(stores, "钱科长", "approver", by="管理员", id_number="150627197001010010")
    taken = approver_id_number(1)  # 李科长's, from the fixture
    with pytest.raises(ValidationError, match="该身份证号已登记给用户 李科长"):
        users.add_user(stores, "钱科长", "approver", by="管理员", id_number=taken.lower())
    assert len(stores.users.records()) == before
    users.disable_user(stores, "李科长", by="管理员")  # gone: the person may be added anew
    users.add_user(stores, "钱科长", "approver", by="管理员", id_number=taken)
    [added] = [r for r in stores.users.records() if r.name == "钱科长"]
    assert added.id_number == taken
    assert added.awaiting_confirmation  # not active yet, but the number is taken already
    with pytest.raises(ValidationError, match="该身份证号已登记给用户 钱科长"):
        users.add_user(stores, "孙科长", "approver", by="管理员", id_number=taken)
