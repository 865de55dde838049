"""The audit log keeps which person, never their whole 身份证号."""

from __future__ import annotations

from ledger import audit


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
