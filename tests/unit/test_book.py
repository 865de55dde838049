"""The book on the fake ledger: every refusal of :func:`book.post` in its words and
fields, and every field of what :func:`book.verify` finds in a ledger that was tampered
with — the lines an auditor reads, checked whole (mutation testing showed that checking
``report.ok`` alone lets a wrong finding through)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from ledger.books import book
from ledger.books.book import Anchor, BalanceMismatch, EarlyVoucher, NegativeDay, VerifyReport
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.books.daily_balances import Day, DayMismatch
from ledger.books.periods import Closing, Period
from ledger.books.postings import (
    GENESIS_HASH,
    BrokenLink,
    NewTransaction,
    Posting,
    Transaction,
    Voucher,
    canonical_content,
    chain_hash,
    sealed,
)
from ledger.errors import (
    ChainKeyError,
    ClosedPeriodError,
    FutureDateError,
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    OverdraftError,
    ReversalError,
    ValidationError,
)
from tests.fakes import TEST_KEYS, FakeLedger

FIN = "source:finance"
S01 = "studio:HJ-S01:fund:finance"
S02 = "studio:HJ-S02:fund:finance"
S03 = "studio:HJ-S03:fund:finance"
EXP = "expense:materials:studio:HJ-S01"
S01_LABEL = "271101 专项资金—财政拨款—HJ-S01"
NOW = datetime(2024, 6, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
OTHER_SECRET = bytes(range(1, 33))


def grant(key: str, on: date, amount: int, fund: str = S01) -> NewTransaction:
    return NewTransaction(key, on, "拨款", (Posting(FIN, fund, amount),))


def spend(key: str, on: date, amount: int, fund: str = S01) -> NewTransaction:
    return NewTransaction(key, on, "购买教研资料", (Posting(fund, EXP, amount),))


def posted(ledger: FakeLedger, *requests: NewTransaction) -> list[Transaction]:
    return book.post(ledger, list(requests), now=NOW)


def intact() -> tuple[FakeLedger, Transaction, Transaction]:
    ledger = FakeLedger()
    first, second = posted(
        ledger, grant("g1", date(2024, 6, 3), 50_000), spend("e1", date(2024, 6, 4), 20_000)
    )
    return ledger, first, second


# --- post: refusals, in their words and fields ---------------------------------------


def test_one_invalid_request_is_refused_naming_its_fields_and_of_several_each_by_position() -> None:
    ledger = FakeLedger()
    blank = NewTransaction("g1", date(2024, 6, 3), " ", (Posting(FIN, S01, 0),))
    with pytest.raises(InvalidInputError) as refused:
        posted(ledger, blank)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("memo", "摘要须为1至200个字符"),
        ("postings[0].amount", "金额须为正整数（以分计），实为 0"),
    ]
    with pytest.raises(InvalidInputError) as refused:
        posted(ledger, grant("g0", date(2024, 6, 3), 100), replace(blank, idempotency_key="g2"))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("transactions[1].memo", "摘要须为1至200个字符"),
        ("transactions[1].postings[0].amount", "金额须为正整数（以分计），实为 0"),
    ]
    assert ledger.transactions == []


def test_a_key_repeated_with_other_content_in_the_same_call_is_refused() -> None:
    ledger = FakeLedger()
    with pytest.raises(IdempotencyConflictError) as refused:
        posted(ledger, grant("g1", date(2024, 6, 3), 100), grant("g1", date(2024, 6, 3), 101))
    assert refused.value.key == "g1"
    assert ledger.transactions == []


def test_a_future_date_is_refused_naming_the_field_the_caller_knows_it_by() -> None:
    ledger = FakeLedger()
    future = grant("g2", date(2024, 7, 1), 100)
    with pytest.raises(FutureDateError) as refused:
        posted(ledger, future)
    assert refused.value.field == "effective_date"
    with pytest.raises(FutureDateError) as refused:
        posted(ledger, grant("g1", date(2024, 6, 3), 100), future)
    assert refused.value.field == "transactions[1].effective_date"
    with pytest.raises(FutureDateError) as refused:
        book.post(ledger, [future], now=NOW, date_field="on")
    assert refused.value.field == "on"
    assert ledger.transactions == []


def test_nothing_is_dated_in_a_closed_month() -> None:
    ledger = FakeLedger()
    ledger.add_closing(Closing(Period(2024, 5), "admin", datetime(2024, 6, 1, 1, 0)))
    with pytest.raises(ClosedPeriodError) as refused:
        posted(ledger, grant("g1", date(2024, 5, 31), 100))
    assert refused.value.field == "effective_date"
    assert posted(ledger, grant("g1", date(2024, 6, 1), 100))[0].voucher == Voucher(2024, 6, 1)


def test_an_overdraft_is_refused_in_full_words_under_the_callers_date_field() -> None:
    ledger = FakeLedger()
    posted(ledger, grant("g1", date(2024, 6, 3), 100))
    with pytest.raises(OverdraftError) as refused:
        posted(ledger, spend("e1", date(2024, 6, 4), 101))
    assert refused.value.field == "effective_date"
    assert refused.value.message == (
        f"余额不足：{S01_LABEL} 2024-06-04 日终余额将为 -0.01 元，短缺 0.01 元；没有写入任何内容"
    )
    with pytest.raises(OverdraftError) as refused:
        book.post(ledger, [spend("e1", date(2024, 6, 4), 101)], now=NOW, date_field="on")
    assert refused.value.field == "on"
    assert len(ledger.transactions) == 1


def test_a_balance_may_reach_the_books_limit_and_not_one_fen_beyond() -> None:
    """10**18 fen is the most a kept balance holds (a 64-bit column with room to spare):
    an account 100 fen short of it takes 100 fen, and refuses 101."""
    ledger = FakeLedger()
    ledger.balances[S01] = book.MAX_BALANCE - 100
    ledger.days[S01] = {date(2024, 6, 1): Day(book.MAX_BALANCE - 100, book.MAX_BALANCE - 100)}
    with pytest.raises(ValidationError) as refused:
        posted(ledger, grant("g1", date(2024, 6, 3), 101))
    assert (refused.value.field, refused.value.message) == (
        "amount",
        f"{S01_LABEL} 的余额将超出账簿能记的上限（1000000000000000000 分）",
    )
    posted(ledger, grant("g1", date(2024, 6, 3), 100))
    assert ledger.balances[S01] == book.MAX_BALANCE


def test_the_head_keeps_the_id_of_the_key_that_sealed_it() -> None:
    ledger, _, _ = intact()
    assert ledger.head_key == TEST_KEYS.current.id


# --- reversals ---------------------------------------------------------------------


def test_a_reversal_carries_its_memo_time_and_date_field() -> None:
    ledger, _, spent = intact()
    moment = datetime(2024, 6, 30, 3, 15, tzinfo=UTC)
    undone = book.reverse(
        ledger,
        spent.seq,
        idempotency_key="undo",
        effective_date=date(2024, 6, 5),
        memo="更正：重复报销",
        now=moment,
    )
    assert (undone.memo, undone.recorded_at) == ("更正：重复报销", datetime(2024, 6, 30, 3, 15))
    assert ledger.balances[S01] == 50_000
    with pytest.raises(FutureDateError) as refused:
        book.reverse(
            ledger,
            1,
            idempotency_key="undo-g1",
            effective_date=date(2024, 7, 1),
            now=NOW,
            date_field="on",
        )
    assert refused.value.field == "on"


def test_reversing_what_does_not_exist_names_the_sequence_number() -> None:
    ledger, _, _ = intact()
    with pytest.raises(NotFoundError, match=r"^第9笔交易不存在$"):
        book.reverse(ledger, 9, idempotency_key="undo", effective_date=date(2024, 6, 5))
    stray = NewTransaction(
        "undo", date(2024, 6, 5), "冲销", (Posting(EXP, S01, 1, reverses=0),), reverses=9
    )
    with pytest.raises(NotFoundError, match=r"^第9笔交易不存在$"):
        posted(ledger, stray)


def mirror(key: str, original: Transaction, *postings: Posting) -> NewTransaction:
    return NewTransaction(key, date(2024, 6, 5), "冲销", postings, reverses=original.seq)


def test_a_reversal_sends_back_exactly_a_posting_the_original_has_and_only_once() -> None:
    ledger, _, spent = intact()
    back = Posting(EXP, S01, 20_000, reverses=0)
    cases = [
        (mirror("u1", spent, replace(back, reverses=1)), "记-2024-06-0002 没有序号为 1 的分录"),
        (
            mirror("u1", spent, replace(back, amount=19_999)),
            f"冲销 记-2024-06-0002 须原样退回其序号为 0 的分录：从 {EXP} 转回 {S01}，20000 分",
        ),
    ]
    for request, words in cases:
        with pytest.raises(ReversalError) as refused:
            posted(ledger, request)
        assert str(refused.value) == words
    # checked after a request that reverses nothing, in the same call
    with pytest.raises(ReversalError):
        posted(ledger, grant("g2", date(2024, 6, 5), 1), cases[0][0])
    twice = "记-2024-06-0002（第2笔）序号为 0 的分录已冲销过，不能重复冲销"
    with pytest.raises(ReversalError, match=rf"^{re.escape(twice)}$"):
        posted(ledger, mirror("u1", spent, back), mirror("u2", spent, back))
    [undone] = posted(ledger, mirror("u1", spent, back))
    with pytest.raises(ReversalError, match=rf"^{re.escape(twice)}$"):
        posted(ledger, mirror("u2", spent, back))
    with pytest.raises(ReversalError) as refused:
        book.reverse(ledger, undone.seq, idempotency_key="u3", effective_date=date(2024, 6, 5))
    assert str(refused.value) == (
        "记-2024-06-0003 本身是冲销凭证，不能再冲销；如需恢复原业务，请重新登记一笔"
    )
    assert len(ledger.transactions) == 3


# --- the chain key ------------------------------------------------------------------


def test_a_ring_starting_beyond_the_next_transaction_refuses_to_seal_in_full_words() -> None:
    """A ledger ending at 2 may be sealed by a key from 3 (rotated at the head), not from 4:
    then transaction 3 is missing."""
    ledger, _, _ = intact()
    ledger.keys = KeyRing((*TEST_KEYS.keys, ChainKey(4, OTHER_SECRET)))
    with pytest.raises(ChainKeyError) as refused:
        posted(ledger, grant("g2", date(2024, 6, 5), 1))
    assert str(refused.value) == (
        "账链密钥自第4笔起启用，而账链止于第2笔：账簿比密钥登记时短，已被截断或从旧副本恢复"
        "；没有写入任何内容"
    )
    ledger.keys = KeyRing((*TEST_KEYS.keys, ChainKey(3, OTHER_SECRET)))
    assert posted(ledger, grant("g2", date(2024, 6, 5), 1))[0].seq == 3


ANOTHER_KEY = (
    "账链密钥与账簿不符：第2笔（记-2024-06-0002）的封印在 the fake's ring 的密钥下不成立"
    "（可能是另一账簿的密钥，或密钥文件已被改动），没有写入任何内容"
)


def test_another_ledgers_key_is_refused_by_the_id_the_head_keeps() -> None:
    ledger, _, _ = intact()
    ledger.keys = KeyRing((ChainKey(1, OTHER_SECRET),))
    with pytest.raises(ChainKeyError) as refused:
        posted(ledger, grant("g2", date(2024, 6, 5), 1))
    assert str(refused.value) == ANOTHER_KEY


def test_what_is_sealed_beside_the_chain_uses_the_key_the_chain_would() -> None:
    """An original (sealed beside the chain) gets the current key only when a post
    would: another ledger's key is refused in the same words."""
    ledger, _, _ = intact()
    assert book.sealing_key(ledger) == TEST_KEYS.current
    ledger.keys = KeyRing((ChainKey(1, OTHER_SECRET),))
    with pytest.raises(ChainKeyError) as refused:
        book.sealing_key(ledger)
    assert str(refused.value) == ANOTHER_KEY


def test_a_head_that_keeps_no_key_id_is_checked_by_reading_its_seal_back() -> None:
    ledger, _, _ = intact()
    ledger.head_key = None  # written before heads kept the key's id
    ledger.keys = KeyRing((ChainKey(1, OTHER_SECRET),))
    with pytest.raises(ChainKeyError) as refused:
        posted(ledger, grant("g2", date(2024, 6, 5), 1))
    assert str(refused.value) == ANOTHER_KEY
    ledger.keys = TEST_KEYS
    assert posted(ledger, grant("g2", date(2024, 6, 5), 1))[0].seq == 3


def test_a_plain_head_from_before_the_ring_is_read_back_as_plain_sha256() -> None:
    """A transaction sealed before the ledger had a key, then a ring keying from 2."""
    ledger = FakeLedger(keys=None)
    request = grant("g1", date(2024, 6, 3), 5)
    first = sealed(
        1, Voucher(2024, 6, 1), datetime(2024, 6, 3, 2, 0), request, GENESIS_HASH, key=None
    )
    ledger.append([first], {FIN: -5, S01: 5}, [], None)
    ledger.keys = KeyRing((ChainKey(2, OTHER_SECRET),))
    [second] = posted(ledger, grant("g2", date(2024, 6, 4), 1))
    assert second.seq == 2
    assert book.verify(ledger).broken_link is None


def test_a_rotation_is_saved_unless_asked_not_to() -> None:
    ledger, _, _ = intact()
    kept = book.rotate_chain_key(ledger, save=False)
    assert ledger.keys == TEST_KEYS
    ring = book.rotate_chain_key(ledger)
    assert ring != kept
    assert ledger.keys == ring
    assert [k.from_seq for k in ring.keys] == [1, 3]
    assert book.key_ring(ledger) == book.KeyRingView("the fake's ring", ring, 2)


# --- reading ------------------------------------------------------------------------


def test_a_balance_is_kept_or_as_of_a_day_and_an_unknown_account_has_none() -> None:
    ledger, _, _ = intact()
    assert book.balance(ledger, S01) == 30_000
    assert book.balance(ledger, S01, date(2024, 6, 3)) == 50_000
    assert book.balance(ledger, S01, date(2024, 6, 2)) == 0
    with pytest.raises(NotFoundError, match=rf"^科目 {S02} 没有任何分录$"):
        book.balance(ledger, S02)
    assert book.balance_or_zero(ledger, S01) == 30_000
    assert book.balance_or_zero(ledger, S01, date(2024, 6, 3)) == 50_000
    assert book.balance_or_zero(ledger, S02) == 0
    with pytest.raises(ValidationError):
        book.balance_or_zero(ledger, "studio:HJ-S01:fund:nothing")


def test_a_page_of_transactions_is_asked_of_the_store_with_every_filter() -> None:
    asked: list[dict[str, object]] = []

    class Paging(FakeLedger):
        def transactions_page(self, **filters: object) -> list[Transaction]:  # type: ignore[override]
            asked.append(filters)
            return []

    book.transactions(
        Paging(),
        after=3,
        limit=50,
        account=S01,
        studio="HJ-S01",
        from_date=date(2024, 1, 1),
        to_date=date(2024, 6, 30),
    )
    assert asked == [
        {
            "after": 3,
            "limit": 50,
            "account": S01,
            "studio": "HJ-S01",
            "from_date": date(2024, 1, 1),
            "to_date": date(2024, 6, 30),
        }
    ]


# --- anchors ------------------------------------------------------------------------


def test_an_anchor_is_read_as_printed_in_either_case_around_spaces() -> None:
    digest = "98cc" + "0" * 56 + "f36d"
    assert book.parse_anchor(f" 62:{digest.upper()} ") == Anchor(62, digest)
    assert book.parse_anchor(f"1:{digest}") == Anchor(1, digest)
    assert str(Anchor(62, digest)) == f"62:{digest}"
    for text in (f"0:{digest}", f"62:{digest[:-1]}", f"62-{digest}"):
        with pytest.raises(ValidationError) as refused:
            book.parse_anchor(text)
        assert (refused.value.field, refused.value.message) == (
            "anchor",
            f"应写作 SEQ:HASH（交易序号和 64 位十六进制哈希）：{text!r}",
        )


# --- verify -------------------------------------------------------------------------


def test_an_empty_ledger_verifies_with_nothing_to_anchor() -> None:
    report = book.verify(FakeLedger(), [Anchor(1, "a" * 64)])
    assert report == VerifyReport(
        0,
        "",
        None,
        (),
        (),
        None,
        anchor_failures=("锚点 1：账簿中已没有第1笔交易，账簿被截断或回滚到更早的副本",),
        keyed_from=1,
    )
    assert report.anchor is None


def test_an_intact_ledger_verifies_whole_and_anchors_at_its_last_transaction() -> None:
    ledger, first, second = intact()
    report = book.verify(ledger, [Anchor(1, first.hash), Anchor(2, second.hash)])
    assert report == VerifyReport(2, second.hash, None, (), (), keyed_from=1)
    assert (report.ok, report.problems(), report.anchor) == (True, [], Anchor(2, second.hash))


def test_verify_names_every_kept_balance_that_is_not_the_sum_of_its_postings() -> None:
    """S01 kept 1 fen short; S03 kept below zero with no postings at all; the source's
    kept balance gone; S02's gone too, but its postings (a grant and its reversal) sum to
    zero, as a missing row means."""
    ledger, _, _ = intact()
    [granted] = posted(ledger, grant("g2", date(2024, 6, 5), 100, S02))
    book.reverse(ledger, granted.seq, idempotency_key="u", effective_date=date(2024, 6, 5), now=NOW)
    ledger.balances[S01] -= 1
    ledger.balances[S03] = -1
    del ledger.balances[FIN], ledger.balances[S02]
    report = book.verify(ledger)
    assert report.mismatches == (
        BalanceMismatch(FIN, 0, -50_000),
        BalanceMismatch(S01, 29_999, 30_000),
        BalanceMismatch(S03, -1, 0),
    )
    assert report.guard_violations == (S03,)
    assert report.problems() == [
        f"MISMATCH: {FIN} 记存余额 0 分，分录合计 -50000 分",
        f"MISMATCH: {S01} 记存余额 29999 分，分录合计 30000 分",
        f"MISMATCH: {S03} 记存余额 -1 分，分录合计 0 分",
        f"NEG: 271101 专项资金—财政拨款—HJ-S03（{S03}）当前余额低于零",
    ]


def test_verify_names_the_first_day_each_guarded_account_closed_below_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Data written around the as-of guard (by a bug, or by hand in the database): S02,
    written first, closes 6 and 7 June below zero, S01 closes 6 June below zero. Each
    is named once, at its first such day, in address order; the source account, which
    lives below zero, is not named."""
    ledger = FakeLedger()
    posted(ledger, grant("g2", date(2024, 6, 3), 500, S02), grant("g1", date(2024, 6, 4), 300))
    monkeypatch.setattr(book, "_guard", lambda *_: None)
    posted(
        ledger,
        spend("e2", date(2024, 6, 6), 700, S02),
        spend("e1", date(2024, 6, 6), 301),
        spend("e3", date(2024, 6, 7), 100, S02),
    )
    report = book.verify(ledger)
    assert report.negative_days == (
        NegativeDay(S01, date(2024, 6, 6), -1),
        NegativeDay(S02, date(2024, 6, 6), -200),
    )
    assert report.guard_violations == (S01, S02)
    assert (report.mismatches, report.day_mismatches) == ((), ())
    assert report.problems() == [
        f"NEG: {S01_LABEL} 2024-06-06 日终余额为 -0.01 元，低于零",
        "NEG: 271101 专项资金—财政拨款—HJ-S02 2024-06-06 日终余额为 -2.00 元，低于零",
    ]


def test_verify_names_the_first_kept_day_that_its_postings_do_not_give() -> None:
    ledger, _, _ = intact()
    ledger.days[S01][date(2024, 6, 4)] = Day(-20_000, 30_001)
    report = book.verify(ledger)
    assert report.day_mismatches == (DayMismatch(S01, date(2024, 6, 4), 30_001, 30_000),)
    assert report.problems() == [
        f"DAY: {S01} 2024-06-04：记存日终余额 30001 分，按分录应为 30000 分"
    ]


def test_verify_of_a_forged_tail_names_everything_wrong_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A memo rewritten in transaction 2; a third transaction dated 1 July slipped in on
    5 June; the kept head left at 2; a ring that says a key seals from 5; the database's
    append-only trigger dropped. Anchors: 1 and 2 still hold, 3 has another hash, 4 is
    gone. Transaction 1, dated 3 June and recorded at 00:30 on 3 June in Beijing, is not
    early."""
    ledger = FakeLedger()
    [first] = book.post(
        ledger, [grant("g1", date(2024, 6, 3), 500)], now=datetime(2024, 6, 2, 16, 30, tzinfo=UTC)
    )
    [second] = posted(ledger, spend("e1", date(2024, 6, 4), 200))
    monkeypatch.setattr(book, "dating_error", lambda *_, **__: None)
    slipped_in = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)
    [third] = book.post(ledger, [grant("g2", date(2024, 7, 1), 1)], now=slipped_in)
    ledger.transactions[1] = replace(second, request=replace(second.request, memo="改过的摘要"))
    monkeypatch.setattr(ledger, "head_hash", lambda: (2, second.hash))
    monkeypatch.setattr(ledger, "missing_guards", lambda: ["trg_postings_append_only"])
    ledger.keys = KeyRing((*TEST_KEYS.keys, ChainKey(5, OTHER_SECRET)))
    anchors = [
        Anchor(1, first.hash),
        Anchor(2, second.hash),
        Anchor(3, "0" * 64),
        Anchor(4, "1" * 64),
    ]

    report = book.verify(ledger, anchors)

    key_problem = (
        "账链密钥自第5笔起启用，而账链止于第3笔：账簿比密钥登记时短，已被截断或从旧副本恢复"
    )
    head = f"链头记为第2笔 {second.hash[:12]}…，账链止于第3笔 {third.hash[:12]}…"
    anchor_failures = (
        "锚点 3：第3笔交易的哈希已不同，账簿被改写或回滚",
        "锚点 4：账簿中已没有第4笔交易，账簿被截断或回滚到更早的副本",
    )
    early = EarlyVoucher(3, Voucher(2024, 7, 1), date(2024, 7, 1), datetime(2024, 6, 5, 1, 0))
    assert report == VerifyReport(
        3,
        third.hash,
        BrokenLink(2, Voucher(2024, 6, 2), "存储的内容与其哈希不符"),
        (),
        (),
        head,
        anchor_failures,
        key_problem,
        1,
        early_vouchers=(early,),
        missing_guards=("trg_postings_append_only",),
    )
    assert report.problems() == [
        f"KEY: {key_problem}",
        f"HEAD: {head}",
        *(f"ANCHOR: {failure}" for failure in anchor_failures),
        "BROKEN: 账链自第2笔（记-2024-06-0002）起断开：存储的内容与其哈希不符",
        "DATE: 记-2024-07-0001（第3笔）日期 2024-07-01 晚于记账时间 2024-06-05 09:00（北京时间）",
        "GUARD: 数据库缺少或停用了 trg_postings_append_only，数据库本身不再守护这条规则",
    ]
    assert report.anchor == Anchor(3, third.hash)


def test_a_changed_original_fails_verify_and_is_named_last() -> None:
    ledger, _, second = intact()
    report = replace(
        book.verify(ledger),
        guard_violations=("studio:HJ-S01:fund:finance",),
        attachment_problems=("附件#1（记-2024-01-0001 发票.pdf）的内容已被改动",),
    )
    assert not replace(report, guard_violations=()).ok
    assert report.problems()[-1] == "ATT: 附件#1（记-2024-01-0001 发票.pdf）的内容已被改动"
    assert replace(report, guard_violations=(), attachment_problems=()).ok
    assert second.recorded_by is None


def test_a_transaction_is_sealed_with_who_recorded_it() -> None:
    ledger = FakeLedger()
    [granted] = book.post(
        ledger,
        [NewTransaction("g", date(2024, 1, 2), "拨款", (Posting(FIN, S01, 100),))],
        by="张会计",
    )
    undone = book.reverse(
        ledger, granted.seq, idempotency_key="r", effective_date=date(2024, 1, 3), by="李科长"
    )
    assert (granted.recorded_by, undone.recorded_by) == ("张会计", "李科长")
    assert '"recorded_by":"张会计"' in canonical_content(granted)
    unnamed = replace(granted, recorded_by=None)
    assert chain_hash(granted.prev_hash, unnamed, TEST_KEYS.current.secret) != granted.hash
    assert book.verify(ledger).ok
