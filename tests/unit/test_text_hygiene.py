"""Names, memos and codes that hide characters are refused with the field named;
every real script is welcome."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.postings import NewTransaction, Posting, validate
from ledger.errors import (
    HIDDEN_CATEGORIES,
    SCRIPT_FORMAT_CHARACTERS,
    digits,
    hidden_character_error,
)
from ledger.registry.roster import PersonInput, Studio, person_errors, studio_errors
from ledger.users import check_new_user

WELCOME = (
    "王芳",
    "ᠮᠥᠩᠬᠡᠪᠠᠶᠠᠷ",  # Mongolian (蒙古文)
    "ᠠ\u180eᠨᠠ",  # Mongolian with its vowel separator
    "བཀྲ་ཤིས་",  # Tibetan
    "ئەخمەت",  # Uyghur
    "Zhang Wei-Ming",
    "阿卜杜拉·买买提",
)
REFUSED = {
    "王\u200b芳": "U+200B",  # zero-width space
    "王\u200d芳": "U+200D",  # zero-width joiner
    "\u202e芳王": "U+202E",  # right-to-left override
    "王芳\u2066": "U+2066",  # left-to-right isolate
    "\ufeff王芳": "U+FEFF",  # byte-order mark
    "王\x07芳": "U+0007",  # bell
    "王\n芳": "U+000A",  # a newline inside a name
    "王\u2028芳": "U+2028",  # line separator
    "王\ue000芳": "U+E000",  # private use
}


@pytest.mark.parametrize("name", WELCOME)
def test_real_scripts_are_welcome(name: str) -> None:
    assert hidden_character_error("name", name) is None
    assert person_errors(PersonInput("11010519491231002X", name, "杭锦旗第一中学")) == []


@pytest.mark.parametrize(("name", "code_point"), REFUSED.items())
def test_hidden_characters_are_refused_naming_the_field_and_the_character(
    name: str, code_point: str
) -> None:
    errors = person_errors(PersonInput("11010519491231002X", name, "杭锦旗第一中学"))
    assert [e.field for e in errors] == ["name"]
    assert code_point in errors[0].message


def test_every_kind_of_text_is_checked() -> None:
    studio = Studio("HJ-S01", "语文\u200b工作室", "subject", "第一\u202e中学", 2024)
    assert [e.field for e in studio_errors(studio, today=date(2026, 12, 1))] == [
        "name",
        "host_unit",
    ]
    posting = Posting("source:finance", "studio:HJ-S01:fund:finance", 100, "拨\u200b款")
    memo = "拨款\u202e"
    errors = validate(NewTransaction("k", date(2024, 1, 2), memo, (posting,)))
    assert [e.field for e in errors] == ["memo", "postings[0].memo"]
    with pytest.raises(Exception, match="U\\+200B"):
        check_new_user("张\u200b会计", "clerk")


@pytest.mark.parametrize("code", ["HJ\u200b-S01", "HJ-S01\u202e", "王-S01", "-S01", "HJ S01", ""])
def test_a_studio_code_follows_one_pattern(code: str) -> None:
    studio = Studio(code, "语文工作室", "subject", "第一中学", 2024)
    assert [e.field for e in studio_errors(studio, today=date(2026, 12, 1))] == ["code"]


@given(st.text(alphabet=st.characters(), max_size=20))
def test_text_is_refused_exactly_when_a_character_is_hidden(text: str) -> None:
    """The check skips printable text whole (str.isprintable, in C): the answer must be
    the one the character-by-character rule gives."""
    hidden = any(
        unicodedata.category(c) in HIDDEN_CATEGORIES and c not in SCRIPT_FORMAT_CHARACTERS
        for c in text
    )
    assert (hidden_character_error("memo", text) is not None) == hidden


@pytest.mark.parametrize(
    ("text", "number"),
    [("2025", True), ("0", True), ("", False), ("²", False), ("２０２５", False), ("٢٠٢٥", False),
     ("-1", False), ("1.0", False), (" 1", False), ("1\x00", False)],
)  # fmt: skip
def test_a_number_typed_anywhere_is_ascii_digits(text: str, number: bool) -> None:
    assert digits(text) is number
