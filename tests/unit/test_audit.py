"""The audit log keeps which person, never their whole 身份证号."""

from __future__ import annotations

from types import SimpleNamespace

from ledger import audit
from ledger.audit import ACTION_LABELS, action_label
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.permissions import PERMISSIONS
from ledger.privacy import pseudonym, pseudonym_key


def test_every_id_number_in_an_entry_is_masked_wherever_it_stands() -> None:
    detail = {
        "command": "main users add",
        "params": {"id_number": "150102197203079023", "name": "钱科长"},
        "claimants": ["11010519491231002x", "110105491231002"],  # 18 with x; the old 15
        "note": "报销人身份证号150102197203079023已核对",
        "count": 3,
    }
    assert audit.scrubbed(detail) == {
        "command": "main users add",
        "params": {"id_number": "150102********9023", "name": "钱科长"},
        "claimants": ["110105********002X", "110105*****1002"],
        "note": "报销人身份证号150102********9023已核对",
        "count": 3,
    }


def test_numbers_that_are_not_id_numbers_stay_whole() -> None:
    kept = ["cli:0a1b2c3d4e5f", "2024-12-31", "6228480000000000011A", "12345678901234567890"]
    assert audit.scrubbed(kept) == kept


def test_nothing_typed_from_outside_can_drive_a_terminal_or_reorder_a_line() -> None:
    """A failed sign-in's name is kept as typed, but its hidden characters written out:
    ESC sequences, right-to-left overrides, zero-width spaces, NUL, CR LF."""
    typed = "张\x1b[2J\u202e三\u200b\x00\r\n"
    assert audit.scrubbed({"name": typed, "ids": [typed]}) == {
        "name": "张\\u001b[2J\\u202e三\\u200b\\u0000\\u000d\\u000a",
        "ids": ["张\\u001b[2J\\u202e三\\u200b\\u0000\\u000d\\u000a"],
    }
    # the Mongolian vowel separator is part of how a Mongolian name is written: kept
    assert audit.scrubbed("ᠠ\u180eᠡ") == "ᠠ\u180eᠡ"


class _Kept:
    """An audit store that keeps what it is given."""

    def __init__(self, key: bytes | None = None) -> None:
        self.kept: list[tuple[object, ...]] = []
        self.key = key

    def pseudonym_key(self) -> bytes | None:
        return self.key

    def record(self, *entry: object) -> None:
        self.kept.append(entry)


def test_an_entry_keeps_its_actor_target_and_request_id_inert() -> None:
    stores = SimpleNamespace(audit=_Kept())
    audit.record(stores, "\u202e管理员", "session.sign_in_failed", "user:\x1b]0;x\x07", "r\x00")  # type: ignore[arg-type]
    assert stores.audit.kept == [
        ("\\u202e管理员", "session.sign_in_failed", "user:\\u001b]0;x\\u0007", "r\\u0000", None)
    ]


KEY = pseudonym_key(KeyRing((ChainKey(1, bytes(range(32))),)))


def test_an_id_number_is_kept_masked_with_a_pseudonym_that_matches_entries_on_one_person() -> None:
    """钱科长 added, then named as a claimant with a lower-case x: one pseudonym. Another
    person sharing the region and the last four gets another one."""
    stores = SimpleNamespace(audit=_Kept(KEY))
    audit.record(stores, "管理员", "user.add", "user:钱科长", "r1", {"id": "11010519491231002X"})  # type: ignore[arg-type]
    audit.record(
        stores, "经办人", "expense.record", "studio:HJ-S01", "r2", {"by": "11010519491231002x"}
    )  # type: ignore[arg-type]
    audit.record(
        stores, "经办人", "expense.record", "studio:HJ-S01", "r3", {"by": "110105195001011002"}
    )  # type: ignore[arg-type]
    [(*_, first), (*_, again), (*_, other)] = stores.audit.kept
    known = pseudonym("11010519491231002X", KEY)
    assert first == {"id": f"110105********002X#{known}"}
    assert again == {"by": f"110105********002X#{known}"}
    assert other == {"by": f"110105********1002#{pseudonym('110105195001011002', KEY)}"}
    assert len(known) == 10
    assert known != pseudonym("110105195001011002", KEY)
    assert known != pseudonym(
        "11010519491231002X", pseudonym_key(KeyRing((ChainKey(1, bytes(32)),)))
    )


def test_every_action_the_log_keeps_has_its_words() -> None:
    """Each action a write is logged as (the permission table's, less reading) reads in
    Chinese on the 审计日志, and an action the log does not know stays its code."""
    unlogged = {"batch.payees", "attachment.read", "ledger.verify"}
    logged = {a for a in PERMISSIONS if not a.endswith(".read") and a not in unlogged}
    assert logged - ACTION_LABELS.keys() == set()
    assert action_label("batch.approve") == "审批通过"
    assert action_label("something.new") == "something.new"
